/**
 * The engine under `wrangler dev` on a free port with its own local state, for tests that need a real HTTP
 * server (a browser). Started once per test file; stopped by the returned function.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForHealth(base: string, child: ChildProcess, log: () => string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${log()}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the engine did not answer ${base}/health within ${timeoutMs / 1000} s:\n${log()}`);
}

export interface RunningEngine {
  base: string;
  stop(): Promise<void>;
}

export async function startEngine(): Promise<RunningEngine> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "engine-"));
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state];
  args.push("--show-interactive-dev-session=false", "--var", "PLATFORM_TOKEN:browser-test-token");
  const child = spawn(process.execPath, [wrangler, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    rmSync(state, { recursive: true, force: true });
  };
  try {
    await waitForHealth(base, child, () => output.slice(-3000));
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, stop };
}

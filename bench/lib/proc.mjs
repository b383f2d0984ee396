// @ts-check
// Child processes for the benchmark: wrangler commands and `wrangler dev` servers.
// Every child is started in its own process group so that it and everything it spawns (workerd)
// can be stopped together, and every child is stopped when the run ends, fails or is interrupted.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { errorCode } from "./http.mjs";

/** @import { ChildProcess } from "node:child_process" */

/** @type {Map<number, ChildProcess>} live children by pid */
const children = new Map();

/**
 * The Node binary to run wrangler with. Wrangler needs Node >= 22; the repository pins Node 22 as a
 * devDependency, so prefer it even when this script itself was started with an older Node.
 * @param {string} root
 */
export function nodeBinary(root) {
  const pinned = path.join(root, "node_modules", "node", "bin", "node");
  return fs.existsSync(pinned) ? pinned : process.execPath;
}

/**
 * The local wrangler CLI entry, run with `nodeBinary` (what `npx wrangler` resolves to).
 * @param {string} root
 * @param {string[]} args
 */
export function wranglerArgs(root, args) {
  return [path.join(root, "node_modules", "wrangler", "bin", "wrangler.js"), ...args];
}

/** A TCP port on 127.0.0.1 that was free a moment ago, never one handed out before in this run. */
const handedOut = new Set();
export async function freePort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    /** @type {number} */
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = /** @type {net.AddressInfo} */ (srv.address());
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("could not find a free port");
}

/**
 * @param {ChildProcess} child
 * @returns {ChildProcess & { pid: number }}
 */
function track(child) {
  const pid = /** @type {number} */ (child.pid);
  children.set(pid, child);
  child.once("exit", () => children.delete(pid));
  return /** @type {ChildProcess & { pid: number }} */ (child);
}

/**
 * @param {number} pid
 * @param {NodeJS.Signals} signal
 */
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Runs a wrangler command to completion, output appended to `logFile`.
 * Resolves { code, output } (output = what this command printed), rejects only on timeout.
 * @param {string} root
 * @param {string[]} args
 * @param {{ logFile: string, timeoutMs?: number, env?: Record<string, string> }} options
 * @returns {Promise<{ code: number | null, output: string }>}
 */
export function runWrangler(root, args, { logFile, timeoutMs = 120_000, env = {} }) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(nodeBinary(root), wranglerArgs(root, args), {
        cwd: root,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", ...env },
      }),
    );
    let output = "";
    /** @param {Buffer} d */
    const onData = (d) => {
      output += d;
      fs.appendFileSync(logFile, d);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    const timer = setTimeout(() => {
      killGroup(child.pid, "SIGKILL");
      reject(new Error(`wrangler ${args.join(" ")} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Starts `wrangler dev` in the background, output to `logFile`.
 * @param {string} root
 * @param {string[]} args
 * @param {{ logFile: string }} options
 * @returns {{ pid: number, exited: Promise<number | null>, hasExited: () => boolean }}
 */
export function startDev(root, args, { logFile }) {
  const fd = fs.openSync(logFile, "a");
  const child = track(
    spawn(nodeBinary(root), wranglerArgs(root, ["dev", ...args]), {
      cwd: root,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" },
    }),
  );
  fs.closeSync(fd);
  let done = false;
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) =>
    child.once("exit", (code) => {
      done = true;
      resolve(code);
    }),
  );
  return { pid: child.pid, exited, hasExited: () => done };
}

/**
 * Stops every child still running: SIGTERM to its process group, SIGKILL after `graceMs`.
 * @param {number} [graceMs]
 */
export async function stopAll(graceMs = 5000) {
  const live = [...children.entries()];
  await Promise.all(
    live.map(
      ([pid, child]) =>
        /** @type {Promise<void>} */ (
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              killGroup(pid, "SIGKILL");
              resolve();
            }, graceMs);
            child.once("exit", () => {
              clearTimeout(timer);
              // workerd may outlive wrangler by a moment: make sure the whole group is gone
              killGroup(pid, "SIGKILL");
              resolve();
            });
            killGroup(pid, "SIGTERM");
          })
        ),
    ),
  );
}

/** Last resort when the process is exiting: synchronous SIGKILL to every group still known. */
export function killAllNow() {
  for (const pid of children.keys()) killGroup(pid, "SIGKILL");
}

/**
 * Polls `url` until it answers 200 or the child exits or `timeoutMs` passes.
 * @param {string} url
 * @param {{ timeoutMs?: number, server?: { hasExited: () => boolean } }} [options]
 * @returns {Promise<{ ok: true, ms: number } | { ok: false, reason: string }>}
 */
export async function waitForHealth(url, { timeoutMs = 90_000, server } = {}) {
  const start = Date.now();
  let last = "";
  while (Date.now() - start < timeoutMs) {
    if (server?.hasExited()) return { ok: false, reason: "wrangler dev exited before answering" };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      if (res.status === 200) return { ok: true, ms: Date.now() - start };
      last = `${res.status} ${text.slice(0, 200)}`;
    } catch (err) {
      last = errorCode(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { ok: false, reason: `no 200 from ${new URL(url).pathname} within ${timeoutMs / 1000} s (last: ${last})` };
}

/**
 * Last `lines` lines of a log file, for error reports.
 * @param {string} file
 * @param {number} [lines]
 */
export function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) used so far by every process of a process group: a `wrangler dev` server
 * is one group (wrangler and its workerd processes). null where /proc cannot be read (not Linux).
 * @param {number} group the group leader's pid
 * @returns {number | null}
 */
export function groupCpuMs(group) {
  /** @type {string[]} */
  let entries;
  try {
    entries = fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  let ticks = 0;
  for (const pid of entries) {
    try {
      // Fields after the command name: state ppid pgrp ... utime (12th) stime (13th).
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      if (Number(fields[2]) === group) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU time (ms) used so far by each thread of a process group, keyed by pid/tid. A local server runs every
 * request of its worker (and the worker's D1) on one workerd thread: that thread's CPU per request, not the
 * group's, bounds its req/s. Empty where /proc cannot be read.
 * @param {number} group the group leader's pid
 * @returns {Map<string, number>}
 */
export function threadCpuMs(group) {
  /** @type {Map<string, number>} */
  const threads = new Map();
  let entries;
  try {
    entries = fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return threads;
  }
  for (const pid of entries) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      if (Number(fields[2]) !== group) continue;
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const t = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
        threads.set(`${pid}/${tid}`, ((Number(t[11]) + Number(t[12])) * 1000) / TICKS_PER_SECOND);
      }
    } catch {
      /* the process or thread ended meanwhile */
    }
  }
  return threads;
}

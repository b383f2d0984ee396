// @ts-check
// The two workers under test: where the engine's files come from (a snapshot of the working tree, a git
// revision, or the working tree itself), and bringing engine and baseline up under `wrangler dev`.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BENCH, PLATFORM_TOKEN, ROOT, rel } from "./config.mjs";
import { sleep } from "./http.mjs";
import { freePort, runWrangler, startDev, tail, waitForHealth } from "./proc.mjs";

/** @import { Run, Server, Servers } from "./types.js" */

const ENGINE_FILES = ["wrangler.toml", "src", "migrations", "tsconfig.json", "package.json"];

/**
 * Name of the first D1 binding in a wrangler.toml (the brief's "DB" if none is found).
 * @param {string} configFile
 */
function d1Binding(configFile) {
  const text = fs.readFileSync(configFile, "utf8");
  const block = text.split(/\[\[\s*d1_databases\s*\]\]/)[1];
  const m = block?.match(/^\s*binding\s*=\s*"([^"]+)"/m);
  return m?.[1] ?? "DB";
}

/**
 * Copies the engine's sources next to the run's state and returns the copy's wrangler.toml. `wrangler dev`
 * reloads the worker whenever a watched source file changes; measuring a copy keeps one build for the
 * whole run even while someone edits src/.
 * @param {string} configFile
 * @param {string} dest
 */
export function snapshotEngine(configFile, dest) {
  const from = path.dirname(configFile);
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(configFile, path.join(dest, "wrangler.toml"));
  for (const entry of [...ENGINE_FILES.slice(1), ".dev.vars"]) {
    if (fs.existsSync(path.join(from, entry))) fs.cpSync(path.join(from, entry), path.join(dest, entry), { recursive: true });
  }
  withDocsFiles(dest);
  return path.join(dest, "wrangler.toml");
}

/**
 * Extracts the engine's files as committed at `ref` into `dest`; returns the copy's wrangler.toml.
 * @param {string} ref
 * @param {string} dest
 */
export function checkoutEngine(ref, dest) {
  fs.mkdirSync(dest, { recursive: true });
  const tracked = execFileSync("git", ["ls-tree", "--name-only", ref, ...ENGINE_FILES], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  const archive = execFileSync("git", ["archive", "--format=tar", ref, ...tracked], { cwd: ROOT, maxBuffer: 256 * 2 ** 20 });
  execFileSync("tar", ["-x", "-C", dest], { input: archive });
  if (fs.existsSync(path.join(ROOT, ".dev.vars"))) fs.copyFileSync(path.join(ROOT, ".dev.vars"), path.join(dest, ".dev.vars"));
  withDocsFiles(dest);
  return path.join(dest, "wrangler.toml");
}

/**
 * The docs UI's files the Worker bundles (dist/docs-ui, made by `npm install`), next to the copied sources.
 * Revisions that still served them as static assets need their `[assets]` directory to exist (wrangler dev
 * refuses a missing one); the benchmark loads no docs page, so an empty one will do. @param {string} dest
 */
function withDocsFiles(dest) {
  fs.cpSync(path.join(ROOT, "dist", "docs-ui"), path.join(dest, "dist", "docs-ui"), { recursive: true });
  fs.mkdirSync(path.join(dest, "dist", "assets"), { recursive: true });
}

/**
 * Commit of the working tree (or of `ref`) and whether the engine's files differ from it.
 * @param {string | null} ref
 */
function engineRevision(ref) {
  try {
    /** @param {string[]} a */
    const git = (...a) => execFileSync("git", a, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (ref) return `${git("log", "-1", "--format=%h %s", ref)} (committed files of ${ref}; working-tree changes not included)`;
    const commit = git("log", "-1", "--format=%h %s");
    const dirty = git("status", "--porcelain", "--", "src", "migrations", "wrangler.toml");
    return `${commit}${dirty ? " (plus uncommitted changes in src/, migrations/ or wrangler.toml)" : ""}`;
  } catch {
    return "unknown (not a git checkout)";
  }
}

/**
 * Applies migrations and starts `wrangler dev` for one worker.
 * @param {Run} run
 * @param {{ name: string, config: string, persist: string, vars: string[], logFile: string, healthPath: string }} worker
 * @returns {Promise<Server>}
 */
export async function bringUp(run, { name, config, persist, vars, logFile, healthPath }) {
  const binding = d1Binding(config);
  const migrate = await runWrangler(
    ROOT,
    ["d1", "migrations", "apply", binding, "--local", "--persist-to", rel(persist), "-c", rel(config)],
    { logFile },
  );
  if (migrate.code !== 0) {
    return {
      ok: false,
      reason: `migrations failed (exit ${migrate.code}): ${migrate.output.trim().split("\n").slice(-5).join(" | ")}`,
    };
  }
  const port = await freePort();
  const inspectorPort = await freePort();
  // biome-ignore format: one flag and its value per line
  const args = [
    "-c", rel(config),
    "--port", String(port),
    "--ip", "127.0.0.1",
    "--persist-to", rel(persist),
    "--inspector-port", String(inspectorPort),
    "--show-interactive-dev-session=false",
    "--log-level", "warn", // per-request log lines cost the dev server CPU that the workers need
    ...vars.flatMap((v) => ["--var", v]),
  ];
  const server = startDev(ROOT, args, { logFile });
  const base = `http://127.0.0.1:${port}`;
  const health = await waitForHealth(base + healthPath, { server });
  if (!health.ok) {
    return { ok: false, reason: `${name} did not become healthy: ${health.reason}. Log tail:\n${tail(logFile, 15)}` };
  }
  run.log(`${name} ready on ${base} (${(health.ms / 1000).toFixed(1)} s after start)`);
  return { ok: true, base, args, pid: server.pid };
}

/**
 * Why the engine in the working tree cannot be measured, or null when it can.
 * @param {string} engineConfig
 */
function missingEngine(engineConfig) {
  const migrations = path.join(path.dirname(engineConfig), "migrations");
  if (!fs.existsSync(engineConfig)) return "no wrangler.toml at the repository root yet";
  if (!fs.existsSync(migrations) || !fs.readdirSync(migrations).some((f) => f.endsWith(".sql"))) {
    return `no migrations in ${rel(migrations)} yet`;
  }
  return null;
}

/**
 * Brings up the baseline and the engine (from a copy of its files unless --live) on fresh state in `tmp`.
 * Throws when the baseline cannot start; an engine that cannot start is noted and left out.
 * @param {Run} run
 * @param {string} tmp
 * @returns {Promise<{ servers: Servers, revision: string, logs: { baseline: string, engine: string } }>}
 */
export async function startServers(run, tmp) {
  const { opts, log } = run;
  // BENCH_ENGINE_CONFIG benchmarks another build of the engine (a wrangler.toml path, relative to the repo root)
  let engineConfig = path.resolve(ROOT, process.env.BENCH_ENGINE_CONFIG || "wrangler.toml");
  const logs = { baseline: path.join(tmp, "baseline.log"), engine: path.join(tmp, "engine.log") };
  const engineReason = opts.ref ? null : missingEngine(engineConfig);
  const revision = engineRevision(opts.ref);
  if (opts.ref) {
    engineConfig = checkoutEngine(opts.ref, path.join(tmp, "engine-src"));
    log(`engine files of ${opts.ref} extracted to ${rel(path.dirname(engineConfig))} (${revision})`);
  } else if (!engineReason && !opts.live) {
    engineConfig = snapshotEngine(engineConfig, path.join(tmp, "engine-src"));
    log(`engine sources copied to ${rel(path.dirname(engineConfig))} (${revision})`);
  }

  log("applying migrations and starting wrangler dev for baseline and engine");
  const [baseline, engine] = await Promise.all([
    bringUp(run, {
      name: "baseline",
      config: path.join(BENCH, "baseline", "wrangler.toml"),
      persist: path.join(tmp, "baseline-state"),
      vars: ["D1_STATS:on"],
      logFile: logs.baseline,
      healthPath: "/health",
    }),
    engineReason
      ? Promise.resolve(/** @type {Server} */ ({ ok: false, reason: engineReason }))
      : bringUp(run, {
          name: "engine",
          config: engineConfig,
          persist: path.join(tmp, "engine-state"),
          // One key far past the per-key rate limit: the limits would measure themselves.
          vars: [`PLATFORM_TOKEN:${PLATFORM_TOKEN}`, "D1_STATS:on", "RATE_LIMITS:off"],
          logFile: logs.engine,
          healthPath: "/health",
        }),
  ]);
  if (!baseline.ok) throw new Error(`baseline worker: ${baseline.reason}`);
  if (!engine.ok) {
    run.notes.push(`Engine not measured: ${engine.reason.split("\n")[0]}`);
    log(`engine unavailable: ${engine.reason}`);
  }
  const servers = { baseline, engine };
  // A dev server reloads its worker once when the other one registers; let that happen before seeding.
  await sleep(1500);
  for (const [name, srv] of Object.entries(servers)) {
    if (srv.ok && !(await waitForHealth(`${srv.base}/health`, { timeoutMs: 30_000 })).ok)
      throw new Error(`${name} stopped answering`);
  }
  return { servers, revision, logs };
}

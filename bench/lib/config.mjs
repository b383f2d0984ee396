// @ts-check
// Paths, command-line switches and sizes of one benchmark run, and the run context every phase shares.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** @import { Config, Options, Run } from "./types.js" */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH = path.join(ROOT, "bench");
/** @param {string} p a path, shown relative to the repository root */
export const rel = (p) => path.relative(ROOT, p) || ".";

export const PLATFORM_TOKEN = "bench-platform-token";

/** Sections that `--only <name>` runs alone (each starts its own server, or none: rules is a pure function). */
export const ONLY_SECTIONS = ["rebates", "jobs", "rules", "tiers"];

/**
 * Reads the switches; prints the usage comment at the top of `usageFile` for --help.
 * @param {string[]} argv
 * @param {string} usageFile
 * @returns {Options}
 */
export function parseOptions(argv, usageFile) {
  if (argv.includes("--help") || argv.includes("-h")) {
    const head = fs.readFileSync(usageFile, "utf8").split("\nimport")[0] ?? "";
    console.log(
      head
        .split("\n")
        .filter((line) => line !== "// @ts-check")
        .join("\n"),
    );
    process.exit(0);
  }
  const ref = argv.includes("--ref") ? argv[argv.indexOf("--ref") + 1] : null;
  if (argv.includes("--ref") && (!ref || ref.startsWith("--"))) {
    console.error("--ref needs a git revision, e.g. --ref HEAD");
    process.exit(2);
  }
  const only = argv.includes("--only") ? (argv[argv.indexOf("--only") + 1] ?? null) : null;
  if (argv.includes("--only") && (!only || !ONLY_SECTIONS.includes(only))) {
    console.error(`--only needs a section: ${ONLY_SECTIONS.join(", ")}`);
    process.exit(2);
  }
  return {
    quick: argv.includes("--quick"),
    keep: argv.includes("--keep"),
    write: !argv.includes("--no-write"),
    live: argv.includes("--live"),
    skipJobs: argv.includes("--skip-jobs"),
    ref: ref ?? null,
    only,
    argv,
  };
}

/**
 * @param {boolean} quick
 * @returns {Config}
 */
export function configFor(quick) {
  return {
    mode: quick ? "quick" : "full",
    duration: quick ? 3 : 20, // seconds of measured load per operation and connection count
    rounds: quick ? 3 : 10, // ... split into this many rounds, alternating baseline and engine operations
    warmup: quick ? 0.5 : 2, // seconds of unrecorded load per operation before the first round
    lead: quick ? 0.25 : 0.5, // seconds of unrecorded load at the start of every round, before its window opens
    connections: [10, 50],
    members: 1000,
    seedConcurrency: 24,
    historySmall: 10,
    // Built over HTTP (real orders through the engine), so its length is bounded by the engine's order
    // rate: quick mode keeps the whole run under 2 minutes with a shorter long history.
    historyBig: quick ? 2_000 : 10_000,
    historyConcurrency: 20,
    contentionOrders: quick ? 100 : 200, // orders of one member posted 20 at a time, all rules on
    historyBudgetMs: quick ? 30_000 : 240_000, // stop building the long history after this, report what was built
    // The long history is cut short so the run ends in time; it comes before the expiry-job section, which
    // is skipped when less than `jobsReserveMs` of the time limit is left.
    totalBudgetMs: quick ? 100_000 : 480_000,
    jobsReserveMs: quick ? 25_000 : 120_000,
    costRepeats: 3,
  };
}

/**
 * @param {Config} cfg
 * @param {Options} opts
 * @returns {Run}
 */
export function createRun(cfg, opts) {
  const t0 = Date.now();
  /** @param {string} msg */
  const log = (msg) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
  return { cfg, opts, t0, log, problems: [], notes: [] };
}

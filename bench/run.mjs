#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --keep]`
//
// Starts the engine and a baseline worker (bench/baseline: one upsert, one select) side by side under
// `wrangler dev` on fresh local D1 state, seeds the engine over its HTTP API, load-tests both with
// autocannon, measures D1 rows read/written per operation at short and long member histories, and
// writes bench/RESULTS.md. Engine routes that do not exist yet (404) are reported as n/a.
//
//   --quick   3 s per load run (whole run well under 2 minutes); default is 10 s per run
//   --keep    keep the temporary state and server logs under bench/.tmp/ for inspection
//   --no-write  print the report but leave bench/RESULTS.md alone
//   --live    run the engine from the working tree instead of a snapshot of it (see bench/lib/engine.mjs)
//   --ref <rev>  benchmark the engine as committed at a git revision (e.g. HEAD) instead of the working tree
//   --skip-jobs  leave out the expiry-job and tier benchmarks (bench/sections/jobs.mjs, tiers.mjs), which otherwise run after the rest
//   --only <section>  run one self-contained section alone and print it (rebates, jobs, rules, tiers); RESULTS.md is left alone
// @ts-check
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH, configFor, createRun, parseOptions, rel } from "./lib/config.mjs";
import { startServers } from "./lib/engine.mjs";
import { killAllNow, stopAll } from "./lib/proc.mjs";
import { renderReport } from "./lib/report.mjs";
import { seedAll } from "./lib/seed.mjs";
import { measureContention } from "./sections/contention.mjs";
import { collectEnvironment, noteMachineLoad } from "./sections/environment.mjs";
import { jobsSection, renderJobsSection, runJobsBench } from "./sections/jobs.mjs";
import { measureLoad } from "./sections/load.mjs";
import { engineLogErrors } from "./sections/problems.mjs";
import { rebatesSection, renderRebatesSection, runRebatesBench } from "./sections/rebates.mjs";
import { measureBaselineCost, measureRows } from "./sections/rows.mjs";
import { renderRulesSection, rulesSection, runRulesBench } from "./sections/rules.mjs";
import { renderTiersSection, runTiersBench, tiersSection } from "./sections/tiers.mjs";

const opts = parseOptions(process.argv.slice(2), fileURLToPath(import.meta.url));
const run = createRun(configFor(opts.quick), opts);
const { log } = run;

// Cleanup: the servers must never outlive this process.
/** @type {string | null} */
let tmpDir = null;
process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, async () => {
    console.error(`\n[bench] ${sig}: stopping servers`);
    await stopAll();
    if (tmpDir && !opts.keep) fs.rmSync(tmpDir, { recursive: true, force: true });
    process.exit(130);
  });
}

/**
 * `--only <section>`: that section alone, printed; the full report is not rewritten.
 * @param {string} section
 */
async function only(section) {
  const quick = opts.quick ? " --quick" : "";
  const command = `npm run bench -- --only ${section}${quick}`;
  log(`only the ${section} section`);
  if (section === "rebates") console.log(`\n${renderRebatesSection(await runRebatesBench({ quick: opts.quick }), command)}`);
  else if (section === "tiers") console.log(`\n${renderTiersSection(await runTiersBench({ quick: opts.quick }), command)}`);
  else if (section === "rules") console.log(`\n${renderRulesSection(await runRulesBench({ quick: opts.quick }), command)}`);
  else console.log(`\n${renderJobsSection(await runJobsBench({ quick: opts.quick }), command)}`);
  await stopAll();
}

async function main() {
  if (opts.only) return only(opts.only);
  const started = new Date();
  const loadAtStart = os.loadavg()[0] ?? 0;
  fs.mkdirSync(path.join(BENCH, ".tmp"), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(BENCH, ".tmp", "run-"));
  tmpDir = tmp;
  log(`mode ${run.cfg.mode}; state and logs in ${rel(tmp)}`);
  noteMachineLoad(run, loadAtStart);

  const { servers, revision, logs } = await startServers(run, tmp);
  const { baselineSeed, seed } = await seedAll(run, servers);
  const load = await measureLoad(run, servers, seed);
  log("cost per operation");
  const baselineCost = await measureBaselineCost(servers);
  const contention = await measureContention(run, servers, seed);
  const rows = await measureRows(run, servers, seed);
  const logErrors = servers.engine.ok ? engineLogErrors(logs.engine) : [];
  await stopAll();
  log("servers stopped");

  // Sections that start their own server, or none, once the servers above are gone.
  const jobs = await jobsSection(run);
  const tiers = await tiersSection(run);
  const rebates = await rebatesSection(run);
  const env = collectEnvironment(run, { started, loadAtStart, revision, servers });
  const rules = await rulesSection(run);
  const { cfg, problems, notes } = run;
  const report = renderReport({
    ...{ cfg, env, load, rows, baselineCost, contention, seed, baselineSeed, problems, notes, logErrors },
    extraSections: [jobs, tiers, rebates, rules],
  });
  console.log(`\n${report}`);
  if (opts.write) {
    fs.writeFileSync(path.join(BENCH, "RESULTS.md"), report);
    log(`wrote ${rel(path.join(BENCH, "RESULTS.md"))}`);
  }
  if (opts.keep) log(`kept ${rel(tmp)}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`[bench] failed: ${err?.stack ?? err}`);
    await stopAll();
    if (tmpDir) console.error(`[bench] state and server logs kept in ${rel(tmpDir)}`);
    process.exit(1);
  },
);

#!/usr/bin/env node
// @ts-check
// `node bench/sections/jobs.mjs [--quick]` (also run by `npm run bench`): cost of the expiry job.
//
// For ledgers of 10,000 and 100,000 entries (one lot each, spread over 1,000 members), of which 1,000 lots
// are past their expiry date, seeds a fresh local D1 directly with SQL, starts the engine with D1_STATS=on,
// and runs the expiry job through POST /v1/jobs/expiry/runs. Reports lots expired, D1 rows read and
// written (response headers) and wall time. The rows read must follow the 1,000 due lots, not the ledger.
//   --quick   10,000 and 30,000 entries instead of 10,000 and 100,000
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { BENCH, ROOT } from "../lib/config.mjs";
import { firstLine } from "../lib/format.mjs";
import { call, d1Stats } from "../lib/http.mjs";
import { freePort, killAllNow, runWrangler, startDev, stopAll, tail, waitForHealth } from "../lib/proc.mjs";

/** @import { Run } from "../lib/types.js" */

/**
 * @typedef {object} JobsRow one ledger size
 * @property {number} entries
 * @property {number} expired
 * @property {number} chunks
 * @property {number | undefined} rowsRead
 * @property {number | undefined} rowsWritten
 * @property {number | undefined} queries
 * @property {number} ms
 * @property {number} jobMs
 * @property {number | undefined} repeatExpired
 * @property {number | undefined} repeatRowsRead
 */

const TMP = path.join(BENCH, ".tmp");
const MEMBERS = 1000;
const DUE = 1000;
const DAY = 86_400_000;
const SECRET = "lk_admin_benchjobs0000000000000000000000";

/**
 * SQL that seeds one merchant, 1,000 members and `entries` earn entries with their lots.
 * @param {number} entries
 * @param {number} now
 */
export function seedSql(entries, now) {
  const perMember = entries / MEMBERS;
  const hash = createHash("sha256").update(SECRET).digest("hex");
  return `
INSERT INTO merchants (id, name, currency, timezone, created_at) VALUES ('mer_bench', 'Bench', 'CNY', 'UTC', ${now});
INSERT INTO api_keys (id, merchant_id, scope, name, secret_hash, hint, created_at) VALUES ('key_bench', 'mer_bench', 'admin', 'bench', '${hash}', '0000', ${now});
INSERT INTO programs (merchant_id, point_value_points, point_value_amount, pending_days, expiry_policy, expiry_days, auto_enroll, updated_at)
  VALUES ('mer_bench', 100, 100, 0, 'after_earn', 365, 1, ${now});
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${MEMBERS - 1})
INSERT INTO members (merchant_id, id, enrolled_at, updated_at, balance, lifetime_earned, order_count, entry_seq)
  SELECT 'mer_bench', 'm' || i, ${now - 400 * DAY}, ${now}, ${perMember * 100}, ${perMember * 100}, ${perMember}, ${perMember} FROM n;
WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < ${entries - 1})
INSERT INTO point_lots (id, merchant_id, member_id, entry_id, points, remaining, is_pending, created_at, available_at, expires_at, expire_key)
  SELECT 'le_b' || j, 'mer_bench', 'm' || (j % ${MEMBERS}), 'le_b' || j, 100, 100, 0, ${now - 300 * DAY}, ${now - 300 * DAY},
    CASE WHEN j < ${DUE} THEN ${now - DAY} ELSE ${now + 300 * DAY} END,
    CASE WHEN j < ${DUE} THEN ${now - DAY} ELSE ${now + 300 * DAY} END
  FROM n;
INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at, lot_id, available_at, expires_at)
  SELECT id, merchant_id, member_id, CAST(substr(id, 5) AS INTEGER) / ${MEMBERS} + 1, 'earn', 100,
    (CAST(substr(id, 5) AS INTEGER) / ${MEMBERS} + 1) * 100, created_at, id, available_at, expires_at
  FROM point_lots WHERE merchant_id = 'mer_bench';
`;
}

/**
 * Fresh local D1 with the migrations and `entries` seeded entries, and the engine serving it.
 * @param {number} entries
 * @param {string} dir
 * @returns {Promise<string>} the engine's base URL
 */
async function seededEngine(entries, dir) {
  const log = path.join(dir, "wrangler.log");
  const persist = path.join(dir, "state");
  const migrate = await runWrangler(ROOT, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    logFile: log,
  });
  if (migrate.code !== 0) throw new Error(`migrations failed:\n${tail(log)}`);
  const sqlFile = path.join(dir, "seed.sql");
  fs.writeFileSync(sqlFile, seedSql(entries, Date.now()));
  const seeded = await runWrangler(ROOT, ["d1", "execute", "DB", "--local", "--persist-to", persist, "--file", sqlFile], {
    logFile: log,
    timeoutMs: 600_000,
  });
  if (seeded.code !== 0) throw new Error(`seeding failed:\n${tail(log)}`);
  const port = await freePort();
  const server = startDev(
    ROOT,
    [
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persist,
      "--var",
      "D1_STATS:on",
      "--var",
      "RATE_LIMITS:off",
      "--show-interactive-dev-session=false",
    ],
    { logFile: log },
  );
  const base = `http://127.0.0.1:${port}`;
  const health = await waitForHealth(`${base}/health`, { server });
  if (!health.ok) throw new Error(`engine did not start: ${health.reason}\n${tail(log)}`);
  return base;
}

/**
 * One ledger size: a run of the expiry job, then a repeat run that must find nothing to do.
 * @param {number} entries
 * @returns {Promise<JobsRow>}
 */
async function measureOnce(entries) {
  const dir = path.join(TMP, `jobs-${entries}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  const base = await seededEngine(entries, dir);
  // Warm the isolate so the timing is the job's, not the first request's.
  await call(base, "GET", "/v1/jobs/runs", { token: SECRET });
  const res = await call(base, "POST", "/v1/jobs/expiry/runs", { token: SECRET, timeoutMs: 120_000 });
  if (res.status !== 200) throw new Error(`job run: ${res.status} ${res.text}`);
  const again = await call(base, "POST", "/v1/jobs/expiry/runs", { token: SECRET });
  const stats = d1Stats(res);
  const repeat = d1Stats(again);
  await stopAll();
  if (!process.argv.includes("--keep")) fs.rmSync(dir, { recursive: true, force: true });
  return {
    entries,
    expired: res.json.processed,
    chunks: res.json.chunks,
    rowsRead: stats?.read,
    rowsWritten: stats?.written,
    queries: stats?.queries,
    ms: Math.round(res.ms),
    jobMs: Date.parse(res.json.finishedAt) - Date.parse(res.json.startedAt),
    repeatExpired: again.json?.processed,
    repeatRowsRead: repeat?.read,
  };
}

/**
 * @param {{ quick?: boolean }} [options]
 * @returns {Promise<JobsRow[]>}
 */
export async function runJobsBench({ quick = false } = {}) {
  const sizes = quick ? [10_000, 30_000] : [10_000, 100_000];
  const rows = [];
  for (const entries of sizes) rows.push(await measureOnce(entries));
  return rows;
}

/**
 * @param {JobsRow[]} rows
 * @param {string} command what produced the figures
 */
export function renderJobsSection(rows, command) {
  const lines = [
    "## Expiry job: cost follows the lots due, not the ledger",
    "",
    `Command: \`${command}\`. Ledger of N earn entries (one lot each) over ${MEMBERS.toLocaleString("en-US")} members, ` +
      `${DUE.toLocaleString("en-US")} lots past their date; one run of POST /v1/jobs/expiry/runs (chunks of 200), then a repeat run.`,
    "",
    "| ledger entries | lots expired | chunks | D1 rows read | D1 rows written | queries | run time (ms, client) | job time (ms, server) | repeat run: expired / rows read |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.entries.toLocaleString("en-US")} | ${r.expired} | ${r.chunks} | ${r.rowsRead ?? "n/a"} | ${r.rowsWritten ?? "n/a"} | ${r.queries ?? "n/a"} | ${r.ms} | ${r.jobMs} | ${r.repeatExpired} / ${r.repeatRowsRead ?? "n/a"} |`,
    ),
    "",
  ];
  const [small, large] = rows;
  if (small && large && small.rowsRead && large.rowsRead) {
    const ratio = large.rowsRead / small.rowsRead;
    lines.push(
      `Reading: the ledger grew ${(large.entries / small.entries).toFixed(0)}x while rows read changed ${ratio.toFixed(2)}x ` +
        `(${small.rowsRead} -> ${large.rowsRead}); time ${small.jobMs} -> ${large.jobMs} ms. ` +
        "The job reads the expiring-lots index range and the members it touches; a repeat run finds nothing to do.",
      "",
    );
  }
  return lines.join("\n");
}

/**
 * The section within `npm run bench`: it seeds its own databases and starts its own server, so it runs
 * once the other servers are gone, and only when the run's time limit leaves room for it.
 * @param {Run} run
 * @returns {Promise<string[]>} lines, ending with a blank one; none when skipped or failed
 */
export async function jobsSection(run) {
  const { cfg, opts, notes, log } = run;
  if (opts.skipJobs) return [];
  const hardLimitMs = opts.quick ? 118_000 : 600_000;
  if (Date.now() - run.t0 + cfg.jobsReserveMs > hardLimitMs) {
    notes.push(
      `The expiry-job section (bench/sections/jobs.mjs) was skipped to keep the run under ${hardLimitMs / 60_000 < 2.5 ? "2" : "10"} minutes; ` +
        `\`node bench/sections/jobs.mjs${opts.quick ? " --quick" : ""}\` runs it alone.`,
    );
    return [];
  }
  log(`expiry job benchmark (bench/sections/jobs.mjs${opts.quick ? " --quick" : ""})`);
  /** @type {string[]} */
  let section = [];
  try {
    const rows = await runJobsBench({ quick: opts.quick });
    section = [
      renderJobsSection(rows, `npm run bench${opts.quick ? " -- --quick" : ""} (bench/sections/jobs.mjs)`).trimEnd(),
      "",
    ];
    if (opts.ref || !opts.live) {
      notes.push(
        "The expiry-job section runs the engine from the working tree (bench/sections/jobs.mjs), not from the copy the other sections measured.",
      );
    }
  } catch (err) {
    await stopAll();
    notes.push(`The expiry-job benchmark (bench/sections/jobs.mjs) failed: ${firstLine(err)}`);
  }
  log("expiry job benchmark done");
  return section;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.on("SIGINT", () => {
    killAllNow();
    process.exit(130);
  });
  try {
    const rows = await runJobsBench({ quick: process.argv.includes("--quick") });
    console.log(renderJobsSection(rows, `node bench/sections/jobs.mjs${process.argv.includes("--quick") ? " --quick" : ""}`));
  } catch (error) {
    console.error(String(/** @type {Error} */ (error)?.stack ?? error));
    await stopAll();
    process.exit(1);
  }
}

#!/usr/bin/env node
// @ts-check
// `node bench/sections/tiers.mjs [--quick]` (also run by `npm run bench`): tier work over many members.
//
// For programs of 10,000 and 100,000 members, each with one day of activity on a 4-tier spend ladder
// (rolling 365 days), seeds a fresh local D1 directly with SQL, starts the engine with D1_STATS=on, and:
// - review: every member's status lapsed yesterday; runs of POST /v1/jobs/tier-review/runs until nothing is
//   left (each run at most 25 chunks of 200 members);
// - ladder change: PUT /v1/tiers with new thresholds, then runs of the same job until every member is
//   re-placed.
// Reports runs, chunks, members processed and moved, D1 rows read and written per member, total time and
// the longest chunk (each chunk is one batch that must fit the Workers CPU limit).
//   --quick   10,000 and 30,000 members instead of 10,000 and 100,000
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { BENCH } from "../lib/config.mjs";
import { firstLine } from "../lib/format.mjs";
import { call, d1Stats } from "../lib/http.mjs";
import { killAllNow, stopAll } from "../lib/proc.mjs";
import { seededEngine } from "../lib/seeded-engine.mjs";

/** @import { Run } from "../lib/types.js" */

/**
 * @typedef {object} TierWork one kind of work at one size
 * @property {number} runs
 * @property {number} chunks
 * @property {number} processed
 * @property {number} changed
 * @property {number} rowsRead
 * @property {number} rowsWritten
 * @property {number} ms wall time of all runs (client)
 * @property {number} longestRunMs
 * @property {number} longestChunkMs the longest run's time divided by its chunks
 */

/** @typedef {{ members: number, review: TierWork, ladder: TierWork }} TiersRow */

const TMP = path.join(BENCH, ".tmp");
const DAY = 86_400_000;
const SECRET = "lk_admin_benchtiers000000000000000000000";

const TIERS = [
  { id: "bronze", name: "Bronze", threshold: 0 },
  { id: "silver", name: "Silver", threshold: 200_000 },
  { id: "gold", name: "Gold", threshold: 1_000_000 },
  { id: "platinum", name: "Platinum", threshold: 5_000_000 },
];
const LADDER = {
  metric: "spend",
  window: { kind: "rolling_days", days: 365 },
  tiers: TIERS,
  downgrade: { graceDays: 0, steps: 1 },
};

/** YYYY-MM-DD of an instant in UTC (the bench merchant's timezone). */
const day = (/** @type {number} */ at) => new Date(at).toISOString().slice(0, 10);

/**
 * SQL: one merchant with the ladder, `members` members spread over the tiers, each with one day of spend
 * 30 days ago, and a status that lapsed yesterday.
 * @param {number} members
 * @param {number} now
 */
export function seedSql(members, now) {
  const hash = createHash("sha256").update(SECRET).digest("hex");
  const spendDay = `d${day(now - 30 * DAY)}`;
  const spendMonth = `m${day(now - 30 * DAY).slice(0, 7)}`;
  const start = `d${day(now - 364 * DAY)}`;
  const tiers = TIERS.map((t, i) => `('mer_tiers', '${t.id}', '${t.name}', ${t.threshold}, 10000, ${i})`).join(", ");
  return `
INSERT INTO merchants (id, name, currency, timezone, created_at) VALUES ('mer_tiers', 'Bench', 'CNY', 'UTC', ${now - 400 * DAY});
INSERT INTO api_keys (id, merchant_id, scope, name, secret_hash, hint, created_at) VALUES ('key_tiers', 'mer_tiers', 'admin', 'bench', '${hash}', '0000', ${now});
INSERT INTO tier_ladders (merchant_id, metric, window_kind, window_days, grace_days, downgrade_steps, upgrade_applies, version, updated_at)
  VALUES ('mer_tiers', 'spend', 'rolling_days', 365, 0, 1, 0, 1, ${now - 400 * DAY});
INSERT INTO tiers (merchant_id, id, name, threshold, earn_multiplier_bps, position) VALUES ${tiers};
INSERT INTO tier_ladder_versions (merchant_id, version, metric, thresholds, created_at)
  VALUES ('mer_tiers', 1, 'spend', '${JSON.stringify(Object.fromEntries(TIERS.map((t) => [t.id, t.threshold])))}', ${now - 400 * DAY});
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${members - 1})
INSERT INTO members (merchant_id, id, enrolled_at, updated_at, order_count, tier_id, tier_qualified_until, tier_version,
    tier_window_start, tier_spend, tier_orders)
  SELECT 'mer_tiers', 'm' || i, ${now - 400 * DAY}, ${now}, 1,
    CASE i % 4 WHEN 0 THEN 'bronze' WHEN 1 THEN 'silver' WHEN 2 THEN 'gold' ELSE 'platinum' END,
    CASE i % 4 WHEN 0 THEN NULL ELSE ${now - DAY} END, 1, '${start}', (i % 7) * 150000, 1 FROM n;
INSERT INTO member_periods (merchant_id, member_id, period, spend, points, orders)
  SELECT merchant_id, id, '${spendDay}', tier_spend, 0, 1 FROM members WHERE merchant_id = 'mer_tiers';
INSERT INTO member_periods (merchant_id, member_id, period, spend, points, orders)
  SELECT merchant_id, id, '${spendMonth}', tier_spend, 0, 1 FROM members WHERE merchant_id = 'mer_tiers';
`;
}

/**
 * Runs the tier-review job until it reports nothing more to do.
 * @param {string} base
 * @returns {Promise<TierWork>}
 */
async function runUntilDone(base) {
  /** @type {TierWork} */
  const work = {
    runs: 0,
    chunks: 0,
    processed: 0,
    changed: 0,
    rowsRead: 0,
    rowsWritten: 0,
    ms: 0,
    longestRunMs: 0,
    longestChunkMs: 0,
  };
  for (let i = 0; i < 200; i++) {
    const res = await call(base, "POST", "/v1/jobs/tier-review/runs", { token: SECRET, timeoutMs: 300_000 });
    if (res.status !== 200 || res.json.status !== "succeeded") throw new Error(`tier-review run: ${res.status} ${res.text}`);
    const stats = d1Stats(res);
    const jobMs = Date.parse(res.json.finishedAt) - Date.parse(res.json.startedAt);
    work.runs += 1;
    work.chunks += res.json.chunks;
    work.processed += res.json.processed;
    work.changed += res.json.changed;
    work.rowsRead += stats?.read ?? 0;
    work.rowsWritten += stats?.written ?? 0;
    work.ms += res.ms;
    work.longestRunMs = Math.max(work.longestRunMs, jobMs);
    work.longestChunkMs = Math.max(work.longestChunkMs, Math.round(jobMs / Math.max(1, res.json.chunks)));
    if (!res.json.more) break;
  }
  work.ms = Math.round(work.ms);
  return work;
}

/**
 * @param {number} members
 * @returns {Promise<TiersRow>}
 */
async function measureOnce(members) {
  const dir = path.join(TMP, `tiers-${members}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  const base = await seededEngine(seedSql(members, Date.now()), dir);
  await call(base, "GET", "/v1/tiers", { token: SECRET });
  const review = await runUntilDone(base);
  const raised = { ...LADDER, tiers: TIERS.map((t) => (t.threshold ? { ...t, threshold: t.threshold + 100_000 } : t)) };
  const put = await call(base, "PUT", "/v1/tiers", { token: SECRET, body: raised, timeoutMs: 120_000 });
  if (put.status !== 200) throw new Error(`PUT /v1/tiers: ${put.status} ${put.text}`);
  const ladder = await runUntilDone(base);
  ladder.processed += put.json.placement.placed;
  await stopAll();
  if (!process.argv.includes("--keep")) fs.rmSync(dir, { recursive: true, force: true });
  return { members, review, ladder };
}

/**
 * @param {{ quick?: boolean }} [options]
 * @returns {Promise<TiersRow[]>}
 */
export async function runTiersBench({ quick = false } = {}) {
  const sizes = quick ? [10_000, 30_000] : [10_000, 100_000];
  const rows = [];
  for (const members of sizes) rows.push(await measureOnce(members));
  return rows;
}

const perMember = (/** @type {number} */ rows, /** @type {number} */ members) => (rows / members).toFixed(1);

/**
 * @param {TiersRow[]} rows
 * @param {string} command what produced the figures
 */
export function renderTiersSection(rows, command) {
  /** @param {string} label @param {number} members @param {TierWork} w */
  const line = (label, members, w) =>
    `| ${members.toLocaleString("en-US")} | ${label} | ${w.runs} | ${w.chunks} | ${w.processed.toLocaleString("en-US")} | ` +
    `${w.changed.toLocaleString("en-US")} | ${perMember(w.rowsRead, members)} | ${perMember(w.rowsWritten, members)} | ` +
    `${(w.ms / 1000).toFixed(1)} | ${w.longestRunMs} | ${w.longestChunkMs} |`;
  return [
    "## Tier review and ladder change over many members",
    "",
    `Command: \`${command}\`. A 4-tier spend ladder (rolling 365 days); every member has one day of activity and ` +
      "three in four hold a status that lapsed yesterday. Review: runs of POST /v1/jobs/tier-review/runs until done " +
      "(each run at most 25 chunks of 200 members). Ladder change: PUT /v1/tiers with every threshold raised, then runs " +
      "of the same job until every member is re-placed.",
    "",
    "| members | work | runs | chunks | processed | moved | rows read / member | rows written / member | total time (s) | longest run (ms) | longest chunk (ms) |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.flatMap((r) => [line("review", r.members, r.review), line("ladder change", r.members, r.ladder)]),
    "",
    "Reading: rows per member stay flat from the small to the large program, and every chunk is one short batch, " +
      "far inside the Workers CPU limit; a larger program takes more runs (the cron runs the job every minute).",
    "",
  ].join("\n");
}

/**
 * The section within `npm run bench`; like the expiry-job section it seeds its own database.
 * @param {Run} run
 * @returns {Promise<string[]>}
 */
export async function tiersSection(run) {
  const { opts, notes, log } = run;
  if (opts.skipJobs) return [];
  log(`tier work benchmark (bench/sections/tiers.mjs${opts.quick ? " --quick" : ""})`);
  try {
    const rows = await runTiersBench({ quick: opts.quick });
    return [renderTiersSection(rows, `npm run bench${opts.quick ? " -- --quick" : ""} (bench/sections/tiers.mjs)`).trimEnd(), ""];
  } catch (err) {
    await stopAll();
    notes.push(`The tier benchmark (bench/sections/tiers.mjs) failed: ${firstLine(err)}`);
    return [];
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.on("SIGINT", () => {
    killAllNow();
    process.exit(130);
  });
  try {
    const rows = await runTiersBench({ quick: process.argv.includes("--quick") });
    console.log(renderTiersSection(rows, `node bench/sections/tiers.mjs${process.argv.includes("--quick") ? " --quick" : ""}`));
  } catch (error) {
    console.error(String(/** @type {Error} */ (error)?.stack ?? error));
    await stopAll();
    process.exit(1);
  }
}

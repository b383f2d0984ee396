#!/usr/bin/env node
// @ts-check
// `node bench/sections/rebates.mjs [--quick]`, or `npm run bench -- --only rebates`: cost of a rebate close.
//
// For 10,000 and 100,000 members with one order each in July 2026, seeds a fresh local D1 directly with SQL
// (members, orders, member_periods rows), starts the engine with D1_STATS=on, creates a month program
// paying points, then times POST .../periods/2026-07/preview and POST .../close, and waits (polling the
// period report) until the queue consumer has paid everyone. D1 rows read and written come from the
// response headers (preview, the close request) and from the consumer's per-message log lines.
//   --quick   2,000 and 10,000 members instead of 10,000 and 100,000
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { BENCH } from "../lib/config.mjs";
import { call, d1Stats, sleep } from "../lib/http.mjs";
import { killAllNow, stopAll } from "../lib/proc.mjs";
import { seededEngine } from "../lib/seeded-engine.mjs";

/**
 * @typedef {object} RebateRow one program size
 * @property {number} members
 * @property {number} previewMs
 * @property {number | undefined} previewRead
 * @property {number} closeRequestMs
 * @property {number} closeStatus
 * @property {number} closeTotalMs until the report says closed
 * @property {number} readTotal
 * @property {number} writtenTotal
 * @property {number} queries
 * @property {number} messages queue messages the consumer worked
 * @property {number} paid
 * @property {number} pool
 */

const TMP = path.join(BENCH, ".tmp");
const SECRET = "lk_admin_benchrebates00000000000000000000";
const JULY_10 = Date.parse("2026-07-10T02:00:00.000Z");
const NET_PROFIT = 1_000_000_000;

/**
 * One merchant (UTC), its admin key and program settings, and `members` members with one order each.
 * @param {number} members
 * @param {number} now
 */
export function seedSql(members, now) {
  const hash = createHash("sha256").update(SECRET).digest("hex");
  const amount = "(1000 + (i * 7919) % 100000)";
  const ids = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${members - 1})`;
  return `
INSERT INTO merchants (id, name, currency, timezone, created_at) VALUES ('mer_bench', 'Bench', 'CNY', 'UTC', ${now});
INSERT INTO api_keys (id, merchant_id, scope, name, secret_hash, hint, created_at) VALUES ('key_bench', 'mer_bench', 'admin', 'bench', '${hash}', '0000', ${now});
INSERT INTO programs (merchant_id, point_value_points, point_value_amount, pending_days, expiry_policy, expiry_days, auto_enroll, updated_at)
  VALUES ('mer_bench', 100, 100, 0, 'none', NULL, 1, ${now});
${ids} INSERT INTO members (merchant_id, id, enrolled_at, updated_at, order_count, last_order_at)
  SELECT 'mer_bench', printf('m%06d', i), ${JULY_10}, ${now}, 1, ${JULY_10} FROM n;
${ids} INSERT INTO orders (merchant_id, id, member_id, amount, currency, occurred_at, points_earned, awards, created_at)
  SELECT 'mer_bench', printf('o%06d', i), printf('m%06d', i), ${amount}, 'CNY', ${JULY_10}, 0, '[]', ${JULY_10} FROM n;
${ids} INSERT INTO member_periods (merchant_id, member_id, period, spend, points, orders)
  SELECT 'mer_bench', printf('m%06d', i), p.period, ${amount}, 0, 1 FROM n, (SELECT 'd2026-07-10' AS period UNION ALL SELECT 'm2026-07') p;
`;
}

/**
 * Fresh local D1 with the migrations and the seed, and the engine (with its queue consumer) serving it;
 * the server log is where the consumer reports its D1 rows.
 * @param {number} members
 * @param {string} dir
 */
async function engineFor(members, dir) {
  const base = await seededEngine(seedSql(members, Date.now()), dir);
  return { base, log: path.join(dir, "wrangler.log") };
}

/**
 * Sums the consumer's `rebate-close-stats {...}` log lines.
 * @param {string} logFile
 */
function consumerStats(logFile) {
  const totals = { rowsRead: 0, rowsWritten: 0, queries: 0, messages: 0 };
  for (const match of fs.readFileSync(logFile, "utf8").matchAll(/rebate-close-stats (\{[^}]*\})/g)) {
    const s = JSON.parse(match[1] ?? "{}");
    totals.rowsRead += s.rowsRead;
    totals.rowsWritten += s.rowsWritten;
    totals.queries += s.queries;
    totals.messages += 1;
  }
  return totals;
}

/**
 * @param {number} members
 * @returns {Promise<RebateRow>}
 */
async function measureOnce(members) {
  const dir = path.join(TMP, `rebates-${members}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  const { base, log } = await engineFor(members, dir);
  const program = { name: "Bench share", period: "month", shareBps: 1000, payout: "points" };
  const put = await call(base, "PUT", "/v1/rebate-programs/bench", { token: SECRET, body: program });
  if (put.status !== 201) throw new Error(`program: ${put.status} ${put.text}`);
  const periods = "/v1/rebate-programs/bench/periods/2026-07";
  const preview = await call(base, "POST", `${periods}/preview`, {
    token: SECRET,
    body: { netProfit: NET_PROFIT },
    timeoutMs: 300_000,
  });
  if (preview.status !== 200) throw new Error(`preview: ${preview.status} ${preview.text}`);
  const started = performance.now();
  const close = await call(base, "POST", `${periods}/close`, {
    token: SECRET,
    key: "bench-close",
    body: { netProfit: NET_PROFIT },
    timeoutMs: 300_000,
  });
  if (close.status !== 200 && close.status !== 202) throw new Error(`close: ${close.status} ${close.text}`);
  let report = close;
  while (report.json?.status !== "closed") {
    if (performance.now() - started > 1_800_000) throw new Error(`close did not finish: ${report.text}`);
    await sleep(500);
    report = await call(base, "GET", periods, { token: SECRET });
  }
  const closeTotalMs = performance.now() - started;
  await sleep(1500); // the last message's log line
  await stopAll();
  const request = d1Stats(close);
  const consumer = consumerStats(log);
  if (!process.argv.includes("--keep")) fs.rmSync(dir, { recursive: true, force: true });
  return {
    members,
    previewMs: Math.round(preview.ms),
    previewRead: d1Stats(preview)?.read,
    closeRequestMs: Math.round(close.ms),
    closeStatus: close.status,
    closeTotalMs: Math.round(closeTotalMs),
    readTotal: (request?.read ?? 0) + consumer.rowsRead,
    writtenTotal: (request?.written ?? 0) + consumer.rowsWritten,
    queries: (request?.queries ?? 0) + consumer.queries,
    messages: consumer.messages,
    paid: report.json.paid,
    pool: report.json.pool,
  };
}

/**
 * @param {{ quick?: boolean }} [options]
 * @returns {Promise<RebateRow[]>}
 */
export async function runRebatesBench({ quick = false } = {}) {
  const sizes = quick ? [2_000, 10_000] : [10_000, 100_000];
  const rows = [];
  for (const members of sizes) rows.push(await measureOnce(members));
  return rows;
}

/**
 * @param {RebateRow[]} rows
 * @param {string} command what produced the figures
 */
export function renderRebatesSection(rows, command) {
  const per = (/** @type {number} */ total, /** @type {number} */ members) => (total / members).toFixed(1);
  return [
    "## Rebate close: preview and close of a month program",
    "",
    `Command: \`${command}\`. N members with one order each in July 2026 (seeded with SQL), a month program paying 10% of ` +
      `a net profit of ${NET_PROFIT.toLocaleString("en-US")} as points. Preview reads every eligible member's net spend in one ` +
      "request; the close freezes the allocation in its first batch, works a few chunks in the request (202) and the queue " +
      "consumer pays the rest in chunks of 200 members. Rows are D1 rows of the close request plus every consumer message.",
    "",
    "| members | preview (ms) | preview rows read | close request (ms, status) | close until paid (ms) | queue messages | rows read / member | rows written / member | paid = pool |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.members.toLocaleString("en-US")} | ${r.previewMs} | ${r.previewRead ?? "n/a"} | ${r.closeRequestMs} (${r.closeStatus}) | ` +
        `${r.closeTotalMs} | ${r.messages} | ${per(r.readTotal, r.members)} | ${per(r.writtenTotal, r.members)} | ${r.paid === r.pool ? "yes" : `no (${r.paid} of ${r.pool})`} |`,
    ),
    "",
  ].join("\n");
}

/**
 * The section within `npm run bench`; like the expiry-job section it seeds its own database.
 * @param {import("../lib/types.js").Run} run
 * @returns {Promise<string[]>}
 */
export async function rebatesSection(run) {
  const { opts, notes, log } = run;
  if (opts.skipJobs) return [];
  log(`rebate close benchmark (bench/sections/rebates.mjs${opts.quick ? " --quick" : ""})`);
  try {
    const rows = await runRebatesBench({ quick: opts.quick });
    const command = `npm run bench${opts.quick ? " -- --quick" : ""} (bench/sections/rebates.mjs)`;
    return [renderRebatesSection(rows, command).trimEnd(), ""];
  } catch (err) {
    await stopAll();
    notes.push(`The rebate benchmark (bench/sections/rebates.mjs) failed: ${String(err).split("\n")[0]}`);
    return [];
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.on("SIGINT", () => {
    killAllNow();
    process.exit(130);
  });
  try {
    const quick = process.argv.includes("--quick");
    const rows = await runRebatesBench({ quick });
    console.log(renderRebatesSection(rows, `node bench/sections/rebates.mjs${quick ? " --quick" : ""}`));
  } catch (error) {
    console.error(String(/** @type {Error} */ (error)?.stack ?? error));
    await stopAll();
    process.exit(1);
  }
}

/**
 * Expiry: lots past their date (after_earn policy), and every lot of members past their inactivity
 * deadline (inactivity policy). Reads follow the lots and members due, never the size of the ledger.
 */
import { expireStatements, LAST_ACTIVITY_SQL } from "../ledger/lifecycle";
import { DAY_MS } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
import { expiryFromColumns, inactivityDeadline } from "../program/settings";
import { dueLots, runLotChunk } from "./lot-chunk";
import type { Job } from "./types";

export const expiryJob: Job = {
  name: "expiry",
  description: "Lots past their expiry date expire for exactly their unspent remainder.",
  runChunk(db, at, scope, limit) {
    const due = dueLots(
      sql`remaining > 0 AND expires_at IS NOT NULL AND expire_key <= ${at}`,
      sql.raw("expire_key"),
      scope,
      limit,
    );
    return runLotChunk(db, expireStatements(db, due, at), limit);
  },
};

interface ProgramRow {
  merchant_id: string;
  timezone: string;
  expiry_days: number;
  expiry_since: number | null;
}

/** More than any timezone's clocks move at once (daylight saving shifts are at most 2 h). */
const CLOCK_SHIFT_MARGIN_MS = 3 * 60 * 60_000;

export const inactivityExpiryJob: Job = {
  name: "inactivity-expiry",
  description: "Under the inactivity policy, all points of members inactive past the deadline expire.",
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? sql`AND p.merchant_id = ${scope.merchantId}` : sql``;
    const { results: programRows } = await prepare(
      db,
      sql`SELECT p.merchant_id, m.timezone, p.expiry_days, p.expiry_since FROM programs p JOIN merchants m ON m.id = p.merchant_id
         WHERE p.expiry_policy = 'inactivity' ${merchantFilter}`,
    ).all<ProgramRow>();
    let processed = 0;
    let more = false;
    for (const program of programRows) {
      const expiry = expiryFromColumns("inactivity", program.expiry_days, program.expiry_since);
      // Coarse cut-off in SQL, exact check below. The deadline is N local days after the last activity (or
      // after the policy took effect), and local days around a clock change are shorter than 24 h: the margin
      // covers the largest shifts.
      const coarse = at - program.expiry_days * DAY_MS + CLOCK_SHIFT_MARGIN_MS;
      if ((program.expiry_since ?? 0) > coarse) continue;
      const settings = { expiry };
      const { results: candidates } = await prepare(
        db,
        sql`SELECT id, ${LAST_ACTIVITY_SQL} AS last FROM members
           WHERE merchant_id = ${program.merchant_id} AND ${LAST_ACTIVITY_SQL} <= ${coarse} AND (balance > 0 OR pending > 0)
           ORDER BY ${LAST_ACTIVITY_SQL} LIMIT ${limit}`,
      ).all<{ id: string; last: number }>();
      // Oldest activity first: once one candidate is not yet due, none after it is.
      const due = candidates.filter((m) => (inactivityDeadline(settings, m.last, program.timezone) ?? Infinity) <= at);
      if (due.length === limit) more = true;
      if (due.length === 0) continue;
      // A member active since the read keeps the points: the last activity must be unchanged.
      const members = sql`json_each(${JSON.stringify(due)}) AS j
                JOIN members m ON m.merchant_id = ${program.merchant_id} AND m.id = json_extract(j.value, '$.id')
                  AND COALESCE(m.last_activity_at, m.enrolled_at) = json_extract(j.value, '$.last')`;
      const lots = sql`SELECT l.id FROM ${members}
                JOIN point_lots l ON l.merchant_id = m.merchant_id AND l.member_id = m.id AND l.remaining > 0 AND l.is_pending = 0
                UNION ALL
                SELECT l.id FROM ${members}
                JOIN point_lots l ON l.merchant_id = m.merchant_id AND l.member_id = m.id AND l.is_pending = 1 AND l.remaining > 0`;
      const statements = expireStatements(db, lots, at, "inactivity");
      const [picked] = await db.batch(statements);
      processed += picked?.meta.changes ?? 0;
    }
    return { processed, more };
  },
};

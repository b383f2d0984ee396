/**
 * Expiry: lots past their date (after_earn policy), and every lot of members past their inactivity
 * deadline (inactivity policy). Reads follow the lots and members due, never the size of the ledger.
 */
import { expireStatements } from "../ledger/lifecycle";
import { inactivityDeadline, programFromRow } from "../program/settings";
import { dueLots, runLotChunk } from "./lot-chunk";
import type { Job } from "./types";

export const expiryJob: Job = {
  name: "expiry",
  description: "Lots past their expiry date expire for exactly their unspent remainder.",
  runChunk(db, at, scope, limit) {
    const due = dueLots("remaining > 0 AND expires_at IS NOT NULL AND expire_key <= ?2", "expire_key", at, scope, limit);
    return runLotChunk(db, expireStatements(db, due, at), limit);
  },
};

interface ProgramRow {
  merchant_id: string;
  timezone: string;
  expiry_days: number;
}

export const inactivityExpiryJob: Job = {
  name: "inactivity-expiry",
  description: "Under the inactivity policy, all points of members inactive past the deadline expire.",
  async runChunk(db, at, scope, limit) {
    const { results: programRows } = await db
      .prepare(
        `SELECT p.merchant_id, m.timezone, p.expiry_days FROM programs p JOIN merchants m ON m.id = p.merchant_id
         WHERE p.expiry_policy = 'inactivity' ${scope.merchantId ? "AND p.merchant_id = ?1" : ""}`,
      )
      .bind(...(scope.merchantId ? [scope.merchantId] : []))
      .all<ProgramRow>();
    let processed = 0;
    let more = false;
    for (const program of programRows) {
      const settings = programFromRow({
        merchantId: program.merchant_id,
        pointValuePoints: 1,
        pointValueAmount: 1,
        pendingDays: 0,
        expiryPolicy: "inactivity",
        expiryDays: program.expiry_days,
        autoEnroll: true,
        updatedAt: 0,
      });
      // Coarse cut-off in SQL (the deadline is at least N days after the last activity), exact check below.
      const coarse = at - program.expiry_days * 86_400_000;
      const { results: candidates } = await db
        .prepare(
          `SELECT id, COALESCE(last_order_at, enrolled_at) AS last FROM members
           WHERE merchant_id = ?1 AND COALESCE(last_order_at, enrolled_at) <= ?2 AND (balance > 0 OR pending > 0)
           ORDER BY COALESCE(last_order_at, enrolled_at) LIMIT ?3`,
        )
        .bind(program.merchant_id, coarse, limit)
        .all<{ id: string; last: number }>();
      // Oldest activity first: once one candidate is not yet due, none after it is.
      const due = candidates.filter((m) => (inactivityDeadline(settings, m.last, program.timezone) ?? Infinity) <= at);
      if (due.length === limit) more = true;
      if (due.length === 0) continue;
      const statements = expireStatements(
        db,
        {
          // A member who ordered since the read keeps the points: the last activity must be unchanged.
          sql: `SELECT l.id FROM json_each(?3) AS j
                JOIN members m ON m.merchant_id = ?2 AND m.id = json_extract(j.value, '$.id')
                  AND COALESCE(m.last_order_at, m.enrolled_at) = json_extract(j.value, '$.last')
                JOIN point_lots l ON l.merchant_id = m.merchant_id AND l.member_id = m.id AND l.remaining > 0 AND l.is_pending = 0
                UNION ALL
                SELECT l.id FROM json_each(?3) AS j
                JOIN members m ON m.merchant_id = ?2 AND m.id = json_extract(j.value, '$.id')
                  AND COALESCE(m.last_order_at, m.enrolled_at) = json_extract(j.value, '$.last')
                JOIN point_lots l ON l.merchant_id = m.merchant_id AND l.member_id = m.id AND l.is_pending = 1 AND l.remaining > 0`,
          binds: [program.merchant_id, JSON.stringify(due)],
        },
        at,
        "inactivity",
      );
      const [picked] = await db.batch(statements);
      processed += picked?.meta.changes ?? 0;
    }
    return { processed, more };
  },
};

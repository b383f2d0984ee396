/**
 * perk-lapse: records, without waiting for a read, that perks held unlocked have lapsed because the member
 * placed no order for the perk's lapseAfterInactiveDays. Chosen by state (unlocked and past the lapse),
 * each write conditional on the state read, so repeated or overlapping runs record each lapse once.
 */

import { transitionSql } from "../perks/statements";
import { lapsesAt } from "../perks/unlock";
import { DAY_MS } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
import type { Job } from "./types";

interface Candidate {
  merchantId: string;
  timezone: string;
  memberId: string;
  perkId: string;
  lapseDays: number;
  since: number;
  lapsedAt: number | null;
}

export const perkLapseJob: Job = {
  name: "perk-lapse",
  description: "Perks held unlocked lock again after their lapseAfterInactiveDays without an order; the lapse is recorded.",
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? sql`AND s.merchant_id = ${scope.merchantId}` : sql``;
    // Coarse cut-off in SQL (at least N days since the last order), the exact local-day check below.
    const { results } = await prepare(
      db,
      sql`SELECT s.merchant_id AS merchantId, x.timezone, s.member_id AS memberId, s.perk_id AS perkId,
          p.lapse_after_days AS lapseDays, COALESCE(m.last_order_at, m.enrolled_at) AS since, s.lapsed_at AS lapsedAt
        FROM member_perks s
        JOIN perks p ON p.merchant_id = s.merchant_id AND p.id = s.perk_id AND p.lapse_after_days IS NOT NULL
        JOIN members m ON m.merchant_id = s.merchant_id AND m.id = s.member_id
        JOIN merchants x ON x.id = s.merchant_id
        WHERE s.unlocked = 1 ${merchantFilter}
          AND COALESCE(m.last_order_at, m.enrolled_at) <= ${at} - p.lapse_after_days * ${DAY_MS}
        ORDER BY since LIMIT ${limit}`,
    ).all<Candidate>();
    const due = results.flatMap((c) => {
      const lapseAt = lapsesAt(c.lapseDays, c.since, c.timezone);
      return lapseAt !== null && lapseAt <= at ? [{ c, lapseAt }] : [];
    });
    if (due.length === 0) return { processed: 0, more: false };
    const statements = due.flatMap(({ c, lapseAt }) =>
      transitionSql(
        c.merchantId,
        c.memberId,
        c.perkId,
        { unlocked: true, lapsedAt: c.lapsedAt },
        {
          kind: "lapsed",
          at: lapseAt,
          reason: `no order for ${c.lapseDays} days`,
        },
      ),
    );
    const written = await db.batch(statements.map((s) => prepare(db, s)));
    const processed = written.filter((_, i) => i % 2 === 0).reduce((sum, r) => sum + r.meta.changes, 0);
    // Oldest first: once a candidate is not due yet, none after it is.
    return { processed, more: results.length === limit && due.length === results.length };
  },
};

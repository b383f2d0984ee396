/**
 * perk-lapse: records, without waiting for a read, that perks held unlocked have lapsed because the member
 * placed no order that stands (not refunded whole) for the perk's lapseAfterInactiveDays. Chosen by state
 * (unlocked and past the lapse), each write conditional on the state read, so repeated or overlapping runs
 * record each lapse once.
 */

import { DAY_KEYS_END, dateOfDayKey } from "../activity/periods";
import { transitionSql } from "../perks/statements";
import { lapsesAt } from "../perks/unlock";
import { DAY_MS } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
import { localDate } from "../platform/timezone";
import type { Job } from "./types";

interface Candidate {
  merchantId: string;
  timezone: string;
  memberId: string;
  perkId: string;
  lapseDays: number;
  enrolledAt: number;
  /** The member's last day with an order that stands (a day key), or null. */
  lastDay: string | null;
  lapsedAt: number | null;
}

/** The last active day's UTC midnight (ms), or the enrolment instant. */
const COARSE_SINCE = sql.raw(
  "COALESCE(CAST(ROUND((julianday(substr(lastDay, 2)) - 2440587.5) * 86400000) AS INTEGER), enrolledAt)",
);

export const perkLapseJob: Job = {
  name: "perk-lapse",
  description: "Perks held unlocked lock again after their lapseAfterInactiveDays without an order; the lapse is recorded.",
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? sql`AND s.merchant_id = ${scope.merchantId}` : sql``;
    // The last active day is the latest day row with an order left after refunds (member_periods). Coarse cut-off
    // in SQL, the exact local-day check below: a day's UTC midnight is at most 14 hours after its local start,
    // so `coarse` (N days after it) is always before the lapse.
    const { results } = await prepare(
      db,
      sql`SELECT * FROM (
          SELECT s.merchant_id AS merchantId, x.timezone, s.member_id AS memberId, s.perk_id AS perkId,
            p.lapse_after_days AS lapseDays, m.enrolled_at AS enrolledAt, s.lapsed_at AS lapsedAt,
            (SELECT a.period FROM member_periods a WHERE a.merchant_id = s.merchant_id AND a.member_id = s.member_id
              AND a.period > 'd' AND a.period < ${DAY_KEYS_END} AND a.orders > 0 ORDER BY a.period DESC LIMIT 1) AS lastDay
          FROM member_perks s
          JOIN perks p ON p.merchant_id = s.merchant_id AND p.id = s.perk_id AND p.lapse_after_days IS NOT NULL
          JOIN members m ON m.merchant_id = s.merchant_id AND m.id = s.member_id
          JOIN merchants x ON x.id = s.merchant_id
          WHERE s.unlocked = 1 ${merchantFilter})
        WHERE ${COARSE_SINCE} + lapseDays * ${DAY_MS} <= ${at}
        ORDER BY ${COARSE_SINCE} + lapseDays * ${DAY_MS} LIMIT ${limit}`,
    ).all<Candidate>();
    const due = results.flatMap((c) => {
      const since = c.lastDay === null ? localDate(c.enrolledAt, c.timezone) : dateOfDayKey(c.lastDay);
      const lapseAt = lapsesAt(c.lapseDays, since, c.timezone);
      return lapseAt <= at ? [{ c, lapseAt }] : [];
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
    // Soonest lapse first: once a candidate is not due yet, none after it is.
    return { processed, more: results.length === limit && due.length === results.length };
  },
};

/**
 * perk-lapse: records, without waiting for a read, that perks held unlocked have lapsed because the member
 * placed no order that stands (not refunded whole) for the perk's lapseAfterInactiveDays. Chosen by state
 * (unlocked and past the lapse), each write conditional on the state read, so repeated or overlapping runs
 * record each lapse once.
 *
 * Due is decided exactly in SQL, per merchant in its time zone: a perk of N days lapses at the start of the
 * (N+1)-th local day after the member's last active day (or enrolment day), so on local day D it has lapsed
 * when that day is D - (N+1) or earlier. Every row selected is due, and no merchant waits behind another's
 * members whose lapse is still hours away.
 */

import { DAY_KEYS_END, dateOfDayKey, dayKey } from "../activity/periods";
import { transitionSql } from "../perks/statements";
import { lapsesAt } from "../perks/unlock";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { addDays, localDate, startOfLocalDate } from "../platform/timezone";
import type { Job } from "./types";

interface Candidate {
  merchantId: string;
  memberId: string;
  perkId: string;
  lapseDays: number;
  enrolledAt: number;
  /** The member's last day with an order that stands (a day key), or null. */
  lastDay: string | null;
  lapsedAt: number | null;
}

interface LapsingPerk {
  merchantId: string;
  timezone: string;
  perkId: string;
  lapseDays: number;
}

/**
 * Per perk, on the merchant's local day `today`: the latest last active day that has lapsed, and the instant
 * before which a member without an order must have enrolled (the start of local day today - N).
 */
function cutoffs(perks: readonly LapsingPerk[], at: number): string {
  const timezone = perks[0]?.timezone ?? "UTC";
  const today = localDate(at, timezone);
  return JSON.stringify(
    perks.map((p) => ({
      perkId: p.perkId,
      lastDay: dayKey(addDays(today, -(p.lapseDays + 1))),
      enrolledBefore: startOfLocalDate(addDays(today, -p.lapseDays), timezone),
    })),
  );
}

/** One merchant's perks held unlocked past their lapse, at most `limit`. */
function dueLapsesSql(perks: readonly LapsingPerk[], at: number, limit: number): Sql {
  const merchantId = perks[0]?.merchantId ?? "";
  // The last active day is the latest day row with an order left after refunds (member_periods).
  return sql`SELECT * FROM (
      SELECT s.merchant_id AS merchantId, s.member_id AS memberId, s.perk_id AS perkId, p.lapse_after_days AS lapseDays,
        m.enrolled_at AS enrolledAt, s.lapsed_at AS lapsedAt, json_extract(c.value, '$.lastDay') AS cutoffDay,
        json_extract(c.value, '$.enrolledBefore') AS enrolledBefore,
        (SELECT a.period FROM member_periods a WHERE a.merchant_id = s.merchant_id AND a.member_id = s.member_id
          AND a.period > 'd' AND a.period < ${DAY_KEYS_END} AND a.orders > 0 ORDER BY a.period DESC LIMIT 1) AS lastDay
      FROM json_each(${cutoffs(perks, at)}) AS c
      JOIN member_perks s ON s.merchant_id = ${merchantId} AND s.perk_id = json_extract(c.value, '$.perkId') AND s.unlocked = 1
      JOIN perks p ON p.merchant_id = s.merchant_id AND p.id = s.perk_id AND p.lapse_after_days IS NOT NULL
      JOIN members m ON m.merchant_id = s.merchant_id AND m.id = s.member_id)
    WHERE CASE WHEN lastDay IS NULL THEN enrolledAt < enrolledBefore ELSE lastDay <= cutoffDay END
    LIMIT ${limit}`;
}

/** The lapse a due candidate records: at its instant, in its merchant's time zone. */
function lapseOf(c: Candidate, timezone: string): Sql[] {
  const since = c.lastDay === null ? localDate(c.enrolledAt, timezone) : dateOfDayKey(c.lastDay);
  const lapse = {
    kind: "lapsed" as const,
    at: lapsesAt(c.lapseDays, since, timezone),
    reason: `no order for ${c.lapseDays} days`,
  };
  return transitionSql(c.merchantId, c.memberId, c.perkId, { unlocked: true, lapsedAt: c.lapsedAt }, lapse);
}

export const perkLapseJob: Job = {
  name: "perk-lapse",
  description: "Perks held unlocked lock again after their lapseAfterInactiveDays without an order; the lapse is recorded.",
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? sql`AND p.merchant_id = ${scope.merchantId}` : sql``;
    const { results: perks } = await prepare(
      db,
      sql`SELECT p.merchant_id AS merchantId, x.timezone, p.id AS perkId, p.lapse_after_days AS lapseDays
         FROM perks p JOIN merchants x ON x.id = p.merchant_id
         WHERE p.lapse_after_days IS NOT NULL ${merchantFilter} ORDER BY p.merchant_id`,
    ).all<LapsingPerk>();
    const merchants = [...Map.groupBy(perks, (p) => p.merchantId).values()];
    if (merchants.length === 0) return { processed: 0, more: false };
    // Every merchant's due lapses in one round trip; the chunk takes the first `limit` of them.
    const reads = await db.batch(merchants.map((own) => prepare(db, dueLapsesSql(own, at, limit))));
    const due = merchants.flatMap((own, i) =>
      ((reads[i]?.results ?? []) as Candidate[]).map((c) => ({ c, timezone: own[0]?.timezone ?? "UTC" })),
    );
    const taken = due.slice(0, limit);
    if (taken.length === 0) return { processed: 0, more: false };
    const written = await db.batch(taken.flatMap(({ c, timezone }) => lapseOf(c, timezone)).map((s) => prepare(db, s)));
    const processed = written.filter((_, i) => i % 2 === 0).reduce((sum, r) => sum + r.meta.changes, 0);
    const more = due.length > limit || reads.some((r) => r.results.length === limit);
    return { processed, more };
  },
};

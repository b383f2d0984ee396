/**
 * Who shares in a period, as SQL over member_periods month rows: net spend (orders minus refunds, a refund
 * counting in its order's period) at least `minSpend` and above zero, and, when the program names tiers,
 * a current tier among them (no tier yet: the ladder's lowest).
 */
import { type Sql, sql } from "../platform/d1/sql";
import type { PeriodRange } from "./periods";

export interface Eligibility {
  minSpend: number;
  tiers: readonly string[] | null;
}

/** Rows `(memberId, spend)` of every eligible member, by member id. */
export function eligibleSpendSql(merchantId: string, rule: Eligibility, range: PeriodRange): Sql {
  const tierJoin = rule.tiers
    ? sql`JOIN members m ON m.merchant_id = mp.merchant_id AND m.id = mp.member_id
        AND COALESCE(m.tier_id, (SELECT id FROM tiers WHERE merchant_id = ${merchantId} ORDER BY threshold, position LIMIT 1))
          IN (SELECT value FROM json_each(${JSON.stringify(rule.tiers)}))`
    : sql``;
  // 'm2026-01'..'m2026-12' picks month rows only: day rows ('d...') sort before every month row.
  return sql`SELECT mp.member_id AS memberId, SUM(mp.spend) AS spend FROM member_periods mp ${tierJoin}
    WHERE mp.merchant_id = ${merchantId} AND mp.period BETWEEN ${range.firstMonth} AND ${range.lastMonth}
    GROUP BY mp.member_id HAVING SUM(mp.spend) >= ${Math.max(1, rule.minSpend)}`;
}

/**
 * What an order (or a refund) writes for tiers, inside its own batch:
 * - before the order's activity is added, the member's cached metric moves to today's window (slide);
 * - after it, the order's share is added to the cache and the member moves up at once, as far as the
 *   metric reaches, with a history row naming the order; the status is (re)qualified when the metric
 *   reaches the tier the member ends up holding. Never down: that is the review's job.
 * The tier the order earned at is re-checked by a guard, so an order raced by another that moved the
 * member's tier is planned again rather than paid at a stale rate; the same guard refuses an order planned
 * under a ladder version that has since been replaced. (A verified order needs neither: its speculation
 * checks the merchant's configuration version, which every ladder change bumps.)
 */
import type { ActivityDelta } from "../activity/periods";
import { GUARD, guardSql } from "../platform/d1/guard";
import { type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import { type Ladder, METRIC_COLUMNS, metricOf, statusValidUntil, tierAt } from "./ladder";
import { rankForValueSql, rankOfTierSql, slideSetSql, tierIdAtSql } from "./metric-sql";

export interface TierOrder {
  ladder: Ladder;
  merchantId: string;
  memberId: string;
  orderId: string;
  at: number;
  timezone: string;
  /** Today's window start and the order's own day (day keys). */
  startKey: string;
  orderDay: string;
  delta: ActivityDelta;
  /** The rank the order's points were computed at (before or after its own upgrade, per the ladder). */
  earningRank: number;
  /** The plan found an upgrade within reach; false also promises none (see the guard below). */
  upgradeExpected: boolean;
  /** The rank the member held as read, and the rank the window's metric reaches with this order. */
  currentRank: number;
  reachedRank: number;
  /**
   * The order's insert checked first that the member's row is exactly as the plan read it (a speculative
   * checkout, earning/member-snapshot.ts), and nothing before these statements moves its tier columns: the
   * rank and metric the plan used hold inside the transaction, so no guard here checks them again.
   */
  verified?: boolean;
}

const owner = (t: { merchantId: string; memberId: string }) => sql`merchant_id = ${t.merchantId} AND id = ${t.memberId}`;

/** Runs before the order's activity upsert: the cache then covers exactly today's window. */
export function slideSql(t: Pick<TierOrder, "merchantId" | "memberId" | "startKey">): Sql {
  return sql`UPDATE members SET ${slideSetSql(t.startKey)}
    WHERE ${owner(t)} AND (tier_window_start IS NULL OR tier_window_start <> ${t.startKey})`;
}

/** Runs after the order's activity upsert: add its share, move up, requalify, check the earning rank. */
export function upgradeSql(t: TierOrder): Sql[] {
  const { ladder } = t;
  const counted = t.orderDay >= t.startKey;
  const share = (metric: keyof ActivityDelta) => (counted ? metricOf(metric, t.delta) : 0);
  const cache = sql.raw(METRIC_COLUMNS[ladder.metric].member);
  const value = sql`(${cache} + ${share(ladder.metric)})`;
  const current = rankOfTierSql(ladder, sql.raw("tier_id"));
  const reached = rankForValueSql(ladder, value);
  // The plan's ranks, tier ids and thresholds are the ladder's as read: a ladder changed since (PUT /v1/tiers,
  // which may already have re-placed this member under its new version) would be overwritten with the old
  // ladder's tier, never placed again. Such an order is refused, and planned again under the ladder that stands.
  const ladderMoved = sql`(SELECT version FROM tier_ladders WHERE merchant_id = ${t.merchantId}) IS NOT ${ladder.version}`;
  const earningGuard = guardSql(
    GUARD.conflict,
    sql`COALESCE((SELECT ${current} FROM members WHERE ${owner(t)}), 0) <> ${t.earningRank} OR ${ladderMoved}`,
  );
  const update = sql`UPDATE members SET tier_spend = tier_spend + ${share("spend")}, tier_points = tier_points + ${share("points")},
        tier_orders = tier_orders + ${share("orders")},
        tier_id = ${tierIdAtSql(ladder, sql`MAX(${current}, ${reached})`)},
        tier_manual = CASE WHEN ${reached} > ${current} THEN 0 ELSE tier_manual END,
        tier_manual_until = CASE WHEN ${reached} > ${current} THEN NULL ELSE tier_manual_until END,
        tier_qualified_until = CASE WHEN ${reached} >= ${current} AND ${reached} > 0
          THEN MAX(COALESCE(tier_qualified_until, 0), ${statusValidUntil(ladder, t.at, t.timezone)})
          ELSE tier_qualified_until END
      WHERE ${owner(t)}`;
  // Most orders move no one: one guard (the earning rank holds, and no upgrade came within reach since the
  // read) stands in for the history insert.
  if (!t.upgradeExpected && !ladder.upgradeAppliesToQualifyingOrder) {
    if (t.verified) return [update];
    const unchanged = guardSql(
      GUARD.conflict,
      sql`EXISTS (SELECT 1 FROM members WHERE ${owner(t)} AND (${current} <> ${t.earningRank} OR ${reached} > ${current}))
        OR ${ladderMoved}`,
    );
    return [unchanged, update];
  }
  const detail = sql`${`order ${t.orderId} took ${ladder.metric} in the window to `} || ${value}`;
  const statements = [
    sql`INSERT INTO tier_history (id, merchant_id, member_id, from_tier, to_tier, reason, detail, at)
      SELECT ${newId("th", t.at)}, merchant_id, id, ${tierIdAtSql(ladder, current)}, ${tierIdAtSql(ladder, reached)},
        'upgrade', ${detail}, ${t.at}
      FROM members WHERE ${owner(t)} AND ${reached} > ${current}`,
    update,
  ];
  if (t.verified) return statements;
  // The points were computed at the rank before the upgrade, or (upgradeAppliesToQualifyingOrder) after it.
  return ladder.upgradeAppliesToQualifyingOrder ? [...statements, earningGuard] : [earningGuard, ...statements];
}

/**
 * A verified order that moves no one (the plan found no upgrade within reach, and the speculation's check found
 * the member row as read, so the rank held and the metric are the plan's): every CASE of upgradeSql is then
 * known, and what is left is a plain SET list the ledger's member update carries, one statement fewer. Null
 * for any other order, which goes through upgradeSql.
 */
export function knownTierSetSql(t: TierOrder): Sql | null {
  if (!t.verified || t.upgradeExpected || t.ladder.upgradeAppliesToQualifyingOrder) return null;
  const counted = t.orderDay >= t.startKey;
  const share = (metric: keyof ActivityDelta) => (counted ? metricOf(metric, t.delta) : 0);
  // As upgradeSql: the tier stays (an id that left the ladder becomes the lowest tier's), and the status is
  // requalified when the metric reaches the tier held.
  const requalified = t.reachedRank >= t.currentRank && t.reachedRank > 0;
  return sql`tier_spend = tier_spend + ${share("spend")}, tier_points = tier_points + ${share("points")},
    tier_orders = tier_orders + ${share("orders")}, tier_id = ${tierAt(t.ladder, t.currentRank).id}${
      requalified
        ? sql`, tier_qualified_until = MAX(COALESCE(tier_qualified_until, 0), ${statusValidUntil(t.ladder, t.at, t.timezone)})`
        : sql``
    }`;
}

/** A refund's share leaves the cache when its order's day is inside the cached range. Never moves down. */
export function refundCacheSql(t: { merchantId: string; memberId: string; orderDay: string; delta: ActivityDelta }): Sql {
  return sql`UPDATE members SET tier_spend = tier_spend + ${t.delta.spend}, tier_points = tier_points + ${t.delta.points},
      tier_orders = tier_orders + ${t.delta.orders}
    WHERE ${owner(t)} AND tier_window_start IS NOT NULL AND tier_window_start <= ${t.orderDay}`;
}

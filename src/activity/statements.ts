/**
 * The writes that keep member_periods: one upsert per period key, in the batch of the order or refund that
 * causes them, so the sums move in the same transaction as the order itself.
 */
import { type Sql, sql } from "../platform/d1/sql";
import { type ActivityDelta, activityKeys, LIFETIME_KEY } from "./periods";

/**
 * Adds an order's (or a refund's, negated) activity to the day and month it occurred in, and to the
 * member's lifetime row.
 *
 * @example
 * activitySql(merchantId, "alice", Date.parse(order.occurredAt), "Asia/Shanghai", { spend: 12800, points: 128, orders: 1 })
 */
export function activitySql(
  merchantId: string,
  memberId: string,
  occurredAt: number,
  timezone: string,
  delta: ActivityDelta,
): Sql[] {
  const keys = activityKeys(occurredAt, timezone);
  const rows = [keys.day, keys.month, LIFETIME_KEY].map(
    (period) => sql`(${merchantId}, ${memberId}, ${period}, ${delta.spend}, ${delta.points}, ${delta.orders})`,
  );
  // One statement for the three rows: a query fewer per order than three upserts.
  return [
    sql`INSERT INTO member_periods (merchant_id, member_id, period, spend, points, orders) VALUES ${sql.join(rows, sql`, `)}
      ON CONFLICT (merchant_id, member_id, period) DO UPDATE SET spend = spend + excluded.spend,
        points = points + excluded.points, orders = orders + excluded.orders`,
  ];
}

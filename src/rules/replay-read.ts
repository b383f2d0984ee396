/**
 * The replay's reads of stored orders: SQL builders and the rows they return as replay entries (replay.ts).
 * Members are taken as they are now; each order's count of earlier orders is counted from the stored orders.
 */
import { tierFacts } from "../earning/checkout-context";
import type { OrderItem } from "../earning/types";
import { type Sql, sql } from "../platform/d1/sql";
import type { Ladder } from "../tiers/ladder";
import type { ReplayOrder, ReplayPosition } from "./replay";
import { REPLAY_CHUNK } from "./schemas";

export interface ReplayRow {
  id: string;
  memberId: string;
  amount: number;
  currency: string;
  occurredAt: number;
  channel: string | null;
  items: string | null;
  awards: string;
  tierId: string | null;
  attributes: string | null;
  birthday: string | null;
  enrolledAt: number | null;
  previousOrders: number;
}

/**
 * The orders of `picked` (a query of order columns with `nth`, the order's place among the member's orders
 * there) with each member's row and count of earlier orders: counted once per member before its first order
 * there (`counted` says which orders count as earlier) and carried forward by `nth`, so a member with a long
 * history costs one index range per read, not one per order.
 */
function withMembers(merchantId: string, picked: Sql, counted: (p: Sql) => Sql): Sql {
  // Materialized, so each CTE runs once (inlined, the count ran again for every row).
  return sql`WITH chunk AS MATERIALIZED (${picked}), earlier AS MATERIALIZED (
      SELECT c.member_id, (SELECT COUNT(*) FROM orders p WHERE p.merchant_id = ${merchantId} AND p.member_id = c.member_id
        AND ${counted(sql.raw("c"))}) AS n
      FROM chunk c WHERE c.nth = 0
    )
    SELECT c.id, c.member_id AS memberId, c.amount, c.currency, c.occurred_at AS occurredAt, c.channel, c.items, c.awards,
      m.tier_id AS tierId, m.attributes, m.birthday, m.enrolled_at AS enrolledAt, e.n + c.nth AS previousOrders
    FROM chunk c JOIN earlier e ON e.member_id = c.member_id
      LEFT JOIN members m ON m.merchant_id = ${merchantId} AND m.id = c.member_id
    ORDER BY c.occurred_at, c.id`;
}

const NTH = sql.raw("ROW_NUMBER() OVER (PARTITION BY c.member_id ORDER BY c.occurred_at, c.id) - 1 AS nth");

/** One chunk of the range's orders after `after`, in replay order (occurredAt, then id). */
export function replayChunkSql(merchantId: string, from: number, to: number, after: ReplayPosition | undefined): Sql {
  const resume = after ? sql`AND (o.occurred_at, o.id) > (${after[0]}, ${after[1]})` : sql``;
  const picked = sql`SELECT c.*, ${NTH}
    FROM (SELECT o.id, o.member_id, o.amount, o.currency, o.occurred_at, o.channel, o.items, o.awards FROM orders o
      WHERE o.merchant_id = ${merchantId} AND o.occurred_at >= ${from} AND o.occurred_at < ${to} ${resume}
      ORDER BY o.occurred_at, o.id LIMIT ${REPLAY_CHUNK}) c`;
  return withMembers(
    merchantId,
    picked,
    (c) => sql`(p.occurred_at < ${c}.occurred_at OR (p.occurred_at = ${c}.occurred_at AND p.id < ${c}.id))`,
  );
}

/**
 * The orders of `memberIds` from `from` up to the position `until` (the last order earlier calls replayed,
 * included), in replay order: to rebuild these members' per-member usage (replay.ts, rebuildMemberUsage).
 */
export function replayHistorySql(merchantId: string, memberIds: readonly string[], from: number, until: ReplayPosition): Sql {
  const picked = sql`SELECT c.*, ${NTH}
    FROM (SELECT o.id, o.member_id, o.amount, o.currency, o.occurred_at, o.channel, o.items, '[]' AS awards FROM orders o
      WHERE o.merchant_id = ${merchantId} AND o.member_id IN (SELECT value FROM json_each(${JSON.stringify(memberIds)}))
        AND o.occurred_at >= ${from} AND (o.occurred_at, o.id) <= (${until[0]}, ${until[1]})) c`;
  return withMembers(merchantId, picked, () => sql`p.occurred_at < ${from}`);
}

export function replayEntry(row: ReplayRow, ladder: Ladder | null): ReplayOrder {
  return {
    orderId: row.id,
    memberId: row.memberId,
    order: {
      amount: row.amount,
      currency: row.currency,
      occurredAt: row.occurredAt,
      ...(row.channel !== null && { channel: row.channel }),
      items: row.items ? (JSON.parse(row.items) as OrderItem[]) : [],
    },
    member: {
      ...tierFacts(ladder, row.tierId),
      previousOrders: row.previousOrders,
      attributes: row.attributes ? (JSON.parse(row.attributes) as Record<string, unknown>) : {},
      birthday: row.birthday,
      ...(row.enrolledAt !== null && { enrolledAt: row.enrolledAt }),
    },
    earned: JSON.parse(row.awards) as { ruleId: string; points: number }[],
  };
}

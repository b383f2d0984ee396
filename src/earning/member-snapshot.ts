/**
 * Speculative checkout. The reply statement of an order's (or redemption's, refund's) write batch also
 * returns the member side of the checkout after the batch (member row and stamps, rendered as the checkout
 * read renders them) and this isolate keeps that text (platform/member-state.ts). The member's next
 * order through this isolate skips the read round trip: it is planned from the snapshot and the cached
 * configuration, and its order insert first renders the same member side, the configuration version and
 * what points paid of the order again, and aborts (orders.guard) unless they are exactly what the plan used.
 * An aborted speculation is planned again from a fresh read, so a stale snapshot costs a round trip, never a
 * wrong award.
 *
 * Only configurations without limited rules speculate: rule usage depends on the order's own periods.
 */
import { type Sql, sql } from "../platform/d1/sql";
import { keepMemberState, takeMemberState } from "../platform/member-state";
import { holdPendingSql, memberSideSql, paidSql } from "./checkout-read";

/** The member side as text, exactly as SQL rendered it. */
export interface MemberSnapshot {
  member: string;
  stamps: string;
}

/** A checkout planned from a snapshot: what its batch must find unchanged. */
export interface Speculation {
  version: number;
  snapshot: MemberSnapshot;
}

/**
 * The member's snapshot, removed from the isolate: a concurrent order of the same member reads afresh instead
 * of speculating on a snapshot this order is about to make stale. The order's batch keeps the next one.
 */
export function takeSnapshot(merchantId: string, memberId: string): MemberSnapshot | undefined {
  return takeMemberState<MemberSnapshot>(merchantId, memberId);
}

function rememberSnapshot(merchantId: string, memberId: string, snapshot: MemberSnapshot): void {
  keepMemberState(merchantId, memberId, snapshot);
}

/**
 * What of the member side an order depends on. `stamps: false` when the configuration has no active stamp
 * card: the plan uses no stamps, so the snapshot keeps none ('[]', as the checkout read gives) and the guard
 * compares none; activating a card moves the configuration version, which the guard does compare.
 */
export interface SideOptions {
  stamps: boolean;
}

/** A batch's reply row with the snapshot columns (null member when the member was not there). */
type SnapshotRow = { member?: string | null; stamps?: string };

/**
 * The columns a write batch's reply statement adds (IdempotentWrite.finishSql's `also`) to return the member
 * side after its writes, and the commitWrite `onCommitted` that keeps it for the member's next order. Used by
 * the writes of a checkout (orders, redemptions, refunds), so "redeem, then post the order" still speculates.
 */
export function snapshotAfter(merchantId: string, memberId: string, options: SideOptions = { stamps: true }) {
  const side = memberSideSql(sql`${merchantId}`, memberId);
  return {
    columns: sql`, ${side.member} AS member, ${options.stamps ? side.stamps : sql`'[]'`} AS stamps`,
    keep(results: D1Result[]): void {
      const row = results.at(-1)?.results[0] as SnapshotRow | undefined;
      if (row?.member && row.stamps !== undefined)
        rememberSnapshot(merchantId, memberId, { member: row.member, stamps: row.stamps });
    },
  };
}

/**
 * Holds when a speculative order's snapshot is stale: the configuration version or the member side moved
 * since, or redemptions linked to the order paid part of it or hold points for it. Its order insert checks it
 * first (GUARD.stale).
 */
export function speculationStaleSql(
  merchantId: string,
  memberId: string,
  orderId: string,
  speculation: Speculation,
  at: number,
  options: SideOptions = { stamps: true },
): Sql {
  const m = sql`${merchantId}`;
  const side = memberSideSql(m, memberId);
  const { version, snapshot } = speculation;
  const stamps = options.stamps ? sql` OR ${side.stamps} IS NOT ${snapshot.stamps}` : sql``;
  return sql`(SELECT config_version FROM merchants WHERE id = ${merchantId}) IS NOT ${version}
      OR ${side.member} IS NOT ${snapshot.member}${stamps} OR ${paidSql(m, memberId, orderId)} <> 0 OR ${holdPendingSql(m, memberId, orderId, at)}`;
}

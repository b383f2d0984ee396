/**
 * Refunds: points come back in proportion to the amount refunded (see refund-math.ts), and stamps the order
 * no longer earns go back to their cards (earning/stamp-take-back.ts). Read, plan, write:
 * one round trip reads the order and the member's clock, a pure plan fixes the amount and the points the
 * refund reverses, and one batch writes it.
 *
 * How much of the reversal is taken from the member, and how much is excused because the order's own
 * points already expired, is decided inside the write transaction, after settling what is due: a cancel,
 * a hold release or an expiry committed a moment earlier (or a release that repaid debt from the order's
 * own lot in this very batch) changes what is left of the lot, so no value read before the batch may
 * decide it. The order's refunded total, items and stamp records are advanced with a compare-and-set, so two
 * refunds racing on one order (a refund of units paid nothing moves no total) cannot both start from one state.
 */
import { and, sql as drizzleSql, eq } from "drizzle-orm";
import { activityKeys } from "../activity/periods";
import { activitySql } from "../activity/statements";
import { orders, referrals, refunds } from "../db/schema";
import { snapshotAfter } from "../earning/member-snapshot";
import { parseStampRecords, planStampTakeBack, type StampTakeBack, serializeStampRecords } from "../earning/stamp-take-back";
import type { OrderItem } from "../earning/types";
import { MEMBER_JSON_SQL } from "../ledger/member-json";
import { LedgerWriter, type SettleInput } from "../ledger/statements";
import { memberClockQuery, programQuery } from "../members/account-context";
import { now } from "../platform/clock";
import { guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { ApiError, notFound } from "../platform/errors";
import { IdempotentWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import type { RequestScope } from "../platform/scope";
import { commitWrite, RaceError, retryOnRace } from "../platform/write";
import { dueFor, programFromRow } from "../program/settings";
import { referralRefundStatements } from "../referrals/clawback";
import { type ReferralRow, referralOfOrderQuery } from "../referrals/reads";
import { refundCacheSql } from "../tiers/order-statements";
import { giveBackStatements, parseLimitUses } from "./limit-statements";
import {
  earningShare,
  limitGiveBack,
  parseRefundedItems,
  planRefund,
  pointsToReverse,
  serializeRefundedItems,
} from "./refund-math";
import type { RefundInput } from "./schemas";
import { takeBackSql } from "./stamp-statements";

const RACE = "The order was refunded concurrently; retry with the same Idempotency-Key.";

type OrderRow = typeof orders.$inferSelect;

/** What the pure plan decided: the amount, the refunded items after it, the points it reverses in all, and stamps. */
interface PlannedRefund {
  amount: number;
  refundedItems: ReadonlyMap<string, number> | null;
  reversed: number;
  /** The order's stamp records after the refund (null: the order gave no stamps). */
  stampRecords: string | null;
  stampsTakenBack: StampTakeBack[];
}

export function postRefund(scope: RequestScope, orderId: string, input: RefundInput): Promise<Response> {
  // Another refund of the same order committed between our read and write: read again, at a new instant.
  let attempt = scope;
  return retryOnRace(
    () => attemptRefund(attempt, orderId, input),
    () => {
      attempt = { ...attempt, at: now() };
    },
  );
}

async function attemptRefund(scope: RequestScope, orderId: string, input: RefundInput): Promise<Response> {
  const { merchant, at } = scope;
  const { order, refundExists, member, program, referral, referrer } = await readRefund(scope, orderId, input.refundId);
  const write = new IdempotentWrite(scope.db, scope.idempotency, at);
  if (refundExists) {
    // Made by a twin request with this very key (replay it), or under another key (409).
    const twin = await write.recordAfterFailure();
    if (twin) return twin;
    throw new ApiError("conflict", `Refund ${input.refundId} of order ${orderId} already exists.`);
  }
  const plan = planRefund(
    {
      ...order,
      items: order.items ? (JSON.parse(order.items) as OrderItem[]) : [],
      refundedItems: order.refundedItems ? parseRefundedItems(order.refundedItems) : null,
    },
    input,
  );
  if (!plan.ok) throw new ApiError(plan.code, plan.detail, plan.errors);
  const share = earningShare(order.amount, order.pointsPaid, order.refundedAmount, plan.amount);
  const reversed = pointsToReverse(order.pointsEarned, share.amount, share.before, share.now);
  // Stamps the order no longer earns go back to their cards (debt where a card already paid out).
  const stamps = planStampTakeBack(
    parseStampRecords(order.stamps),
    { amount: order.amount, refundedAmount: order.refundedAmount + plan.amount, refundedItems: plan.refundedItems },
    input.items ? 0 : plan.amount,
  );
  // Budgets and per-member limits get back the points this refund reverses of the limited awards (what it
  // takes back: not the part of the order's points that had expired).
  const uses = parseLimitUses(order.ruleUsage);
  const backs = limitGiveBack(uses, share.amount, share.before, share.now);
  const due = dueFor(member, program, merchant.timezone, at, true);
  // The refund counts in its order's period: net spend, net points, and the order itself once refunded in full.
  const fully = order.refundedAmount + plan.amount === order.amount;
  const activity = { spend: -plan.amount, points: -reversed, orders: fully ? -1 : 0 };
  const periods = [
    ...activitySql(order.merchantId, order.memberId, order.occurredAt, merchant.timezone, activity),
    // Lowers the tier metric (never the tier: only a review moves a member down).
    refundCacheSql({ ...order, orderDay: activityKeys(order.occurredAt, merchant.timezone).day, delta: activity }),
    ...giveBackStatements(order.merchantId, order.memberId, uses, backs, { taken: takenSql(order), reversed }),
    ...stamps.takeBack.map((back) => takeBackSql({ ...order, at }, back)),
  ];
  const planned = { ...plan, reversed, stampRecords: serializeStampRecords(stamps.records), stampsTakenBack: stamps.takeBack };
  // The referee's first order refunded below the referral's minimum: void or claw back (checked against the status read).
  const netAfter = order.amount - order.refundedAmount - plan.amount;
  const referrerDue = referrer ? dueFor(referrer, program, merchant.timezone, at, true) : undefined;
  const referralStatements = referralRefundStatements(scope.db, referral, netAfter, {
    orderId,
    refundId: input.refundId,
    at,
    referrerDue,
  });
  // The member side after the refund, kept for the member's next order (earning/member-snapshot.ts).
  const snapshot = snapshotAfter(order.merchantId, order.memberId);
  const statements = refundStatements(scope.db, write, { order, input, plan: planned, due, at, periods, also: snapshot.columns });
  statements.splice(-1, 0, ...referralStatements);
  return commitWrite(
    scope.db,
    write,
    statements,
    201,
    (failure) => {
      if (failure.kind === "guard" && failure.reason === "conflict") throw new RaceError(RACE);
      if (failure.kind === "unique" && failure.table === "refunds")
        throw new ApiError("conflict", `Refund ${input.refundId} of order ${orderId} already exists.`);
    },
    snapshot.keep,
  );
}

/** The points a refund took from the member, read back from the order row after its compare-and-set (refundStatements). */
const takenSql = (order: OrderRow): Sql =>
  sql`(SELECT points_reversed - ${order.pointsReversed} FROM orders WHERE merchant_id = ${order.merchantId} AND id = ${order.id})`;

/** The order, whether the refund exists, the member's clock, the program and the order's referral, in one round trip. */
async function readRefund(scope: RequestScope, orderId: string, refundId: string) {
  const { orm, at } = scope;
  const merchantId = scope.merchant.id;
  // The member is found through the order, so all reads share one round trip.
  const memberOfOrder = drizzleSql`(SELECT ${orders.memberId} FROM ${orders} WHERE ${orders.merchantId} = ${merchantId} AND ${orders.id} = ${orderId})`;
  // The referrer of a referral this order qualified: a clawback settles that member too.
  const referrerOfOrder = drizzleSql`(SELECT ${referrals.referrerId} FROM ${referrals}
    WHERE ${referrals.merchantId} = ${merchantId} AND ${referrals.firstOrderId} = ${orderId})`;
  const [orderRows, refundRows, programRows, memberRows, referralRows, referrerRows] = await orm.batch([
    orm
      .select()
      .from(orders)
      .where(and(eq(orders.merchantId, merchantId), eq(orders.id, orderId))),
    orm
      .select({ id: refunds.id })
      .from(refunds)
      .where(and(eq(refunds.merchantId, merchantId), eq(refunds.orderId, orderId), eq(refunds.id, refundId))),
    programQuery(orm, merchantId),
    memberClockQuery(orm, merchantId, memberOfOrder, at),
    referralOfOrderQuery(orm, merchantId, orderId),
    memberClockQuery(orm, merchantId, referrerOfOrder, at),
  ]);
  const order = orderRows[0];
  const member = memberRows[0];
  if (!order || !member) throw notFound(`Order ${orderId}`);
  const referral: ReferralRow | undefined = referralRows[0];
  const program = programFromRow(programRows[0]);
  return { order, refundExists: refundRows.length > 0, member, program, referral, referrer: referrerRows[0] };
}

/**
 * The write batch: settle, advance the order (deciding the split from the own lot's state at that moment),
 * record the refund, reverse, and store the reply. Statements after the order update read what this refund
 * took and excused back from the order row, as differences from the values the compare-and-set pinned.
 */
function refundStatements(
  db: D1Database,
  write: IdempotentWrite,
  refund: {
    order: OrderRow;
    input: RefundInput;
    plan: PlannedRefund;
    due: SettleInput;
    at: number;
    periods: Sql[];
    also: Sql;
  },
): D1PreparedStatement[] {
  const { order, input, plan, at } = refund;
  const ledger = () => new LedgerWriter(db, order.merchantId, order.memberId, at);
  const key = sql`merchant_id = ${order.merchantId} AND id = ${order.id}`;
  const lot = (column: Sql) => sql`COALESCE((SELECT ${column} FROM point_lots WHERE id = ${order.lotId}), 0)`;
  const fromOwnLot = sql`MIN(${plan.reversed}, ${lot(sql.raw("remaining"))})`;
  // Evaluated in the UPDATE, where expired_excused is still the value before it.
  const excused = sql`MAX(0, MIN(${plan.reversed} - ${fromOwnLot}, ${lot(sql.raw("expired"))} - expired_excused))`;
  const taken = takenSql(order);
  const excusedNow = sql`(SELECT expired_excused - ${order.expiredExcused} FROM orders WHERE ${key})`;
  const reversal = ledger().reverse({
    entryId: newId("le", at),
    points: taken,
    orderId: order.id,
    ownLotId: order.lotId,
    refundId: input.refundId,
  });
  return [
    ...ledger().settle(refund.due).statements,
    prepare(
      db,
      sql`UPDATE orders SET refunded_amount = refunded_amount + ${plan.amount},
         points_reversed = points_reversed + ${plan.reversed} - ${excused}, expired_excused = expired_excused + ${excused},
         refunded_items = ${plan.refundedItems ? serializeRefundedItems(plan.refundedItems) : null},
         stamps = ${plan.stampRecords}
       WHERE ${key} AND refunded_amount = ${order.refundedAmount}
         AND refunded_items IS ${order.refundedItems} AND stamps IS ${order.stamps}
         AND (${order.amount} <> 0 OR refunded_items IS NULL)`,
    ),
    prepare(db, guardSql("conflict", sql`changes() = 0`)),
    prepare(
      db,
      sql`INSERT INTO refunds (merchant_id, order_id, id, member_id, amount, items, points_reversed, created_at)
         VALUES (${order.merchantId}, ${order.id}, ${input.refundId}, ${order.memberId}, ${plan.amount},
           ${input.items ? JSON.stringify(input.items) : null}, ${taken}, ${at})`,
    ),
    ...reversal.statements,
    ...refund.periods.map((upsert) => prepare(db, upsert)),
    write.finishSql(
      201,
      sql`SELECT json_object('refundId', ${input.refundId}, 'orderId', ${order.id}, 'amount', ${plan.amount},
         'pointsReversed', ${taken}, 'pointsAlreadyExpired', ${excusedNow},
         'stampsTakenBack', json(${JSON.stringify(plan.stampsTakenBack)}), 'member', ${sql.raw(MEMBER_JSON_SQL)})
       FROM members m WHERE m.merchant_id = ${order.merchantId} AND m.id = ${order.memberId}`,
      { member: order.memberId, also: refund.also },
    ),
  ];
}

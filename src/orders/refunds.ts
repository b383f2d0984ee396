/**
 * Refunds: points come back in proportion to the amount refunded (see refund-math.ts). The order's
 * refunded total is advanced with a compare-and-set, so two refunds racing on one order cannot both
 * reverse from the same starting point.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { orders, pointLots, refunds } from "../db/schema";
import { memberClockQuery, programQuery } from "../members/account-context";
import { MEMBER_JSON_SQL } from "../ledger/member-json";
import { LedgerWriter } from "../ledger/statements";
import { currentMerchant } from "../platform/auth";
import { now } from "../platform/clock";
import type { AppEnv } from "../platform/context";
import { guard } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { newId } from "../platform/ids";
import { idempotentWrite } from "../platform/idempotency";
import { commitWrite, RaceError, retryOnRace } from "../platform/write";
import { dueFor, programFromRow } from "../program/settings";
import type { OrderItem } from "../rules/types";
import { parseRefundedItems, planRefund, pointsToReverse, serializeRefundedItems, splitReversal } from "./refund-math";
import type { RefundInput } from "./schemas";

const RACE = "The order was refunded concurrently; retry with the same Idempotency-Key.";

export function postRefund(c: Context<AppEnv>, orderId: string, input: RefundInput): Promise<Response> {
  // Another refund of the same order committed between our read and write: read again.
  return retryOnRace(() => attemptRefund(c, orderId, input));
}

async function attemptRefund(c: Context<AppEnv>, orderId: string, input: RefundInput): Promise<Response> {
  const merchant = currentMerchant(c);
  const orm = c.var.orm;
  const at = now();
  // The member and the order's own lot are found through the order, so all reads share one round trip.
  const ofOrder = (column: typeof orders.memberId | typeof orders.lotId) =>
    sql`(SELECT ${column} FROM ${orders} WHERE ${orders.merchantId} = ${merchant.id} AND ${orders.id} = ${orderId})`;
  const [orderRows, refundRows, programRows, memberRows, lotRows] = await orm.batch([
    orm.select().from(orders).where(and(eq(orders.merchantId, merchant.id), eq(orders.id, orderId))),
    orm
      .select({ id: refunds.id })
      .from(refunds)
      .where(and(eq(refunds.merchantId, merchant.id), eq(refunds.orderId, orderId), eq(refunds.id, input.refundId))),
    programQuery(orm, merchant.id),
    memberClockQuery(orm, merchant.id, ofOrder(orders.memberId)),
    orm
      .select({ remaining: pointLots.remaining, expired: pointLots.expired, expireKey: pointLots.expireKey })
      .from(pointLots)
      .where(and(eq(pointLots.merchantId, merchant.id), eq(pointLots.id, ofOrder(orders.lotId)))),
  ]);
  const order = orderRows[0];
  if (!order) throw notFound(`Order ${orderId}`);
  const write = idempotentWrite(c, at);
  if (refundRows.length > 0) {
    // Made by a twin request with this very key (replay it), or under another key (409).
    const twin = await write.recordAfterFailure();
    if (twin) return twin;
    throw new ApiError("conflict", `Refund ${input.refundId} of order ${orderId} already exists.`);
  }

  const items = order.items ? (JSON.parse(order.items) as OrderItem[]) : [];
  const plan = planRefund({ ...order, items, refundedItems: order.refundedItems ? parseRefundedItems(order.refundedItems) : null }, input);
  if (!plan.ok) throw new ApiError(plan.code, plan.detail, plan.errors);
  const { amount, refundedItems } = plan;

  const reversed = pointsToReverse(order.pointsEarned, order.amount, order.refundedAmount, amount);
  const due = dueFor(memberRows[0]!, programFromRow(programRows[0]), merchant.timezone, at, true);
  const lot = lotRows[0];
  // The settle step below expires the order's own lot first when it is due.
  const lotExpiresNow = lot !== undefined && lot.remaining > 0 && (lot.expireKey <= at || due.inactiveSince !== undefined);
  const { take: points, excused } = splitReversal(reversed, {
    ownRemaining: lot && !lotExpiresNow ? lot.remaining : 0,
    ownExpired: (lot?.expired ?? 0) + (lot && lotExpiresNow ? lot.remaining : 0),
    alreadyExcused: order.expiredExcused,
  });
  const db = c.var.db;
  const entryId = newId("le", at);
  const statements = [
    db
      .prepare(
        `UPDATE orders SET refunded_amount = refunded_amount + ?1, points_reversed = points_reversed + ?2, refunded_items = ?3,
           expired_excused = expired_excused + ?7
         WHERE merchant_id = ?4 AND id = ?5 AND refunded_amount = ?6
           AND COALESCE((SELECT remaining FROM point_lots WHERE id = ?8), 0) = ?9`,
      )
      .bind(
        amount,
        points,
        refundedItems ? serializeRefundedItems(refundedItems) : null,
        merchant.id,
        orderId,
        order.refundedAmount,
        excused,
        order.lotId,
        lot?.remaining ?? 0,
      ),
    guard(db, "conflict", "changes() = 0"),
    db
      .prepare(
        `INSERT INTO refunds (merchant_id, order_id, id, member_id, amount, items, points_reversed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
      )
      .bind(merchant.id, orderId, input.refundId, order.memberId, amount, input.items ? JSON.stringify(input.items) : null, points, at),
  ];
  // An order of amount 0 keeps refunded_amount at 0, so the compare-and-set cannot see a concurrent refund
  // of it; its refunded items, null when read, must still be null.
  if (order.amount === 0)
    statements.unshift(
      guard(
        db,
        "conflict",
        "EXISTS (SELECT 1 FROM orders WHERE merchant_id = ?1 AND id = ?2 AND refunded_items IS NOT NULL)",
        merchant.id,
        orderId,
      ),
    );
  const ledger = new LedgerWriter(db, merchant.id, order.memberId, at).settle(due);
  if (points > 0) ledger.reverse({ entryId, points, orderId, ownLotId: order.lotId, refundId: input.refundId });
  statements.push(...ledger.statements);
  statements.push(
    write.finish(
      201,
      `SELECT json_object('refundId', ?1, 'orderId', ?2, 'amount', CAST(?3 AS INTEGER), 'pointsReversed', CAST(?4 AS INTEGER),
         'pointsAlreadyExpired', CAST(?7 AS INTEGER),
         'member', ${MEMBER_JSON_SQL})
       FROM members m WHERE m.merchant_id = ?5 AND m.id = ?6`,
      [input.refundId, orderId, amount, points, merchant.id, order.memberId, excused],
    ),
  );
  return commitWrite(c, write, statements, 201, (failure) => {
    if (failure.kind === "guard" && failure.reason === "conflict") throw new RaceError(RACE);
    if (failure.kind === "unique" && failure.table === "refunds")
      throw new ApiError("conflict", `Refund ${input.refundId} of order ${orderId} already exists.`);
  });
}

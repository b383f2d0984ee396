/**
 * GET /v1/orders/{orderId}: one order with its points, refunds and the redemptions linked to it, for
 * reconciliation. The order by its primary key, then its refunds (primary key prefix) and the redemptions
 * linked to it (the member's index) in one batch: two round trips, whatever the member's history.
 */
import { and, eq } from "drizzle-orm";
import { orders, redemptions, refunds } from "../db/schema";
import { parseStampRecords } from "../earning/stamp-take-back";
import { toIso } from "../platform/clock";
import { notFound } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import type { OrderDetail } from "./schemas";

/** Most linked redemptions listed (a checkout links one or two; the cap bounds a pathological order). */
export const MAX_LINKED_REDEMPTIONS = 200;

type OrderRow = typeof orders.$inferSelect;
type RefundRow = typeof refunds.$inferSelect;
type RedemptionRow = typeof redemptions.$inferSelect;

export async function readOrder(scope: RequestScope, orderId: string): Promise<OrderDetail> {
  const merchantId = scope.merchant.id;
  const order = await scope.orm.query.orders.findFirst({
    where: and(eq(orders.merchantId, merchantId), eq(orders.id, orderId)),
  });
  if (!order) throw notFound(`Order ${orderId}`);
  const [refundRows, redemptionRows] = await scope.orm.batch([
    scope.orm
      .select()
      .from(refunds)
      .where(and(eq(refunds.merchantId, merchantId), eq(refunds.orderId, orderId)))
      .orderBy(refunds.createdAt, refunds.id),
    scope.orm
      .select()
      .from(redemptions)
      .where(
        and(eq(redemptions.merchantId, merchantId), eq(redemptions.memberId, order.memberId), eq(redemptions.orderId, orderId)),
      )
      .orderBy(redemptions.createdAt, redemptions.id)
      .limit(MAX_LINKED_REDEMPTIONS),
  ]);
  return orderDetail(order, refundRows, redemptionRows);
}

/** The reply from the rows read (pure). */
export function orderDetail(order: OrderRow, refundRows: RefundRow[], redemptionRows: RedemptionRow[]): OrderDetail {
  return {
    orderId: order.id,
    memberId: order.memberId,
    amount: order.amount,
    currency: order.currency,
    occurredAt: toIso(order.occurredAt),
    channel: order.channel,
    items: order.items ? (JSON.parse(order.items) as OrderDetail["items"]) : null,
    createdAt: toIso(order.createdAt),
    refundedAmount: order.refundedAmount,
    points: {
      earned: order.pointsEarned,
      awards: JSON.parse(order.awards) as OrderDetail["points"]["awards"],
      reversed: order.pointsReversed,
      alreadyExpired: order.expiredExcused,
    },
    stamps: parseStampRecords(order.stamps).map((r) => ({ cardId: r.cardId, given: r.given, takenBack: r.taken })),
    refunds: refundRows.map((r) => ({
      refundId: r.id,
      amount: r.amount,
      items: r.items ? (JSON.parse(r.items) as { sku: string; quantity: number }[]) : null,
      pointsReversed: r.pointsReversed,
      createdAt: toIso(r.createdAt),
    })),
    redemptions: redemptionRows.map((r) => ({
      id: r.id,
      status: r.status,
      points: r.points,
      value: r.value,
      createdAt: toIso(r.createdAt),
    })),
  };
}

/**
 * Refund arithmetic, pure. Points reversed are cumulative-floor differences:
 *   reversed(refund) = floor(P * (R + r) / A) - floor(P * R / A)
 * where P = points earned, A = order amount, R = refunded before, r = this refund. Any sequence of partial
 * refunds therefore reverses exactly what one refund of the same total would, and a full refund reverses P.
 */
import { mulDiv } from "../platform/math";
import type { OrderItem } from "../rules/types";

export function pointsToReverse(pointsEarned: number, orderAmount: number, refundedBefore: number, refundNow: number): number {
  if (orderAmount <= 0) return 0;
  return mulDiv(pointsEarned, refundedBefore + refundNow, orderAmount) - mulDiv(pointsEarned, refundedBefore, orderAmount);
}

/**
 * How much of a reversal is taken back from the member, and how much is excused because the order's own
 * points already expired (the member lost them once; a refund must not take them again).
 *
 * @example splitReversal(100, { ownRemaining: 30, ownExpired: 50, alreadyExcused: 0 }) // { take: 50, excused: 50 }
 */
export function splitReversal(
  reversed: number,
  own: { ownRemaining: number; ownExpired: number; alreadyExcused: number },
): { take: number; excused: number } {
  const fromOwnLot = Math.min(reversed, own.ownRemaining);
  const excused = Math.max(0, Math.min(reversed - fromOwnLot, own.ownExpired - own.alreadyExcused));
  return { take: reversed - excused, excused };
}

export interface ItemRefundRequest {
  sku: string;
  quantity: number;
}

export type ItemRefundResult =
  | { ok: true; amount: number; refundedItems: Map<string, number> }
  | { ok: false; errors: { path: string; message: string }[] };

/**
 * Quantities refunded so far per sku, from `orders.refunded_items`. Skus are client strings, so they are
 * kept in a Map, never as object keys (a sku named `constructor` or `__proto__` would read a prototype
 * member). Stored as JSON pairs `[["sku", 2], ...]`; rows written before that hold a JSON object. A count
 * that is not a whole number (such rows could store `"function Object() { [native code] }1"`) is unknown,
 * so it is read as everything bought: item refunds of that sku stop, refunds by amount still work.
 */
export function parseRefundedItems(stored: string | null): Map<string, number> {
  const refunded = new Map<string, number>();
  if (stored === null) return refunded;
  const parsed: unknown = JSON.parse(stored);
  const pairs = Array.isArray(parsed) ? (parsed as unknown[]) : Object.entries(parsed as object);
  for (const pair of pairs) {
    const [sku, count] = Array.isArray(pair) ? (pair as unknown[]) : [];
    if (typeof sku !== "string") continue;
    refunded.set(sku, Number.isSafeInteger(count) && (count as number) >= 0 ? (count as number) : Number.POSITIVE_INFINITY);
  }
  return refunded;
}

/** The stored form read by parseRefundedItems. An unknown count (Infinity) is written as null and read back as unknown. */
export function serializeRefundedItems(refunded: ReadonlyMap<string, number>): string {
  return JSON.stringify([...refunded]);
}

/**
 * Turns a refund by items into an amount (quantity x unit price of the order's lines), checking that no
 * sku is refunded beyond what was bought.
 */
export function refundByItems(
  orderItems: readonly OrderItem[],
  refundedBefore: ReadonlyMap<string, number>,
  request: readonly ItemRefundRequest[],
): ItemRefundResult {
  const bought = new Map<string, { quantity: number; unitPrice: number }>();
  for (const item of orderItems) {
    const line = bought.get(item.sku);
    // The same sku on several lines: refund at the lowest unit price, so a refund never returns more than was paid.
    bought.set(item.sku, {
      quantity: (line?.quantity ?? 0) + item.quantity,
      unitPrice: Math.min(line?.unitPrice ?? item.unitPrice, item.unitPrice),
    });
  }
  const refunded = new Map(refundedBefore);
  const errors: { path: string; message: string }[] = [];
  let amount = 0;
  request.forEach((req, i) => {
    const line = bought.get(req.sku);
    if (!line) {
      errors.push({ path: `items.${i}.sku`, message: `sku ${req.sku} is not in the order` });
      return;
    }
    const before = Math.min(refunded.get(req.sku) ?? 0, line.quantity);
    const left = line.quantity - before;
    if (req.quantity > left) {
      errors.push({ path: `items.${i}.quantity`, message: `only ${left} of sku ${req.sku} left to refund` });
      return;
    }
    refunded.set(req.sku, before + req.quantity);
    amount += req.quantity * line.unitPrice;
  });
  return errors.length ? { ok: false, errors } : { ok: true, amount, refundedItems: refunded };
}

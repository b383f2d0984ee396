/**
 * Refund arithmetic, pure. Points reversed are cumulative-floor differences:
 *   reversed(refund) = floor(P * (R + r) / A) - floor(P * R / A)
 * where P = points earned, A = order amount, R = refunded before, r = this refund. Any sequence of partial
 * refunds therefore reverses exactly what one refund of the same total would, and a full refund reverses P.
 * An order partly paid with points earned on its money part only: A is then that part, and R and r count up
 * to it (earningShare), so refunding all the money reverses every point.
 */

import type { OrderItem } from "../earning/types";
import { mulDiv } from "../platform/math";
import { apportionAmount, unitsValue } from "./item-apportion";

/**
 * The amounts the refund formulas work on: the part of the order that earned (its amount less what points
 * paid, when it earned on money only), and the refunded totals before and after this refund, counted up to
 * that part. An order that points paid in full keeps its whole amount (its fixed awards earned on it).
 *
 * @example earningShare(10_000, 200, 0, 9_800) // { amount: 9_800, before: 0, now: 9_800 }
 */
export function earningShare(
  orderAmount: number,
  pointsPaid: number,
  refundedBefore: number,
  refundNow: number,
): { amount: number; before: number; now: number } {
  const earning = orderAmount - Math.min(Math.max(pointsPaid, 0), orderAmount);
  if (earning <= 0 || earning === orderAmount) return { amount: orderAmount, before: refundedBefore, now: refundNow };
  const before = Math.min(refundedBefore, earning);
  return { amount: earning, before, now: Math.min(refundedBefore + refundNow, earning) - before };
}

export function pointsToReverse(pointsEarned: number, orderAmount: number, refundedBefore: number, refundNow: number): number {
  // An order of amount 0 (fixed-rule points) has no amount to refund in parts: its one refund is a full
  // refund (planRefund), so it reverses every point.
  if (orderAmount <= 0) return pointsEarned;
  return mulDiv(pointsEarned, refundedBefore + refundNow, orderAmount) - mulDiv(pointsEarned, refundedBefore, orderAmount);
}

/**
 * What a refund gives back to the limits (budget, per-member period) of each limited award of an order,
 * the awards in their stored order. The total follows the points formula on the awards' sum L,
 * floor(L * (R + r) / A) - floor(L * R / A), so when every award is limited it equals the points the refund
 * reverses; with unlimited awards too it is the limited awards' proportional part (one refund may then give
 * back a point more than it reverses, never more in total). Flooring each award on its own would lose up to
 * a point per award on every partial refund, budget that no later refund returns. The cumulative total is
 * split by filling the awards one after another, a split that only grows with the total: each refund's part
 * is >= 0, no award gets back more than it consumed, refunds in parts give back what one refund of their
 * sum would, and a full refund gives back everything.
 *
 * @example limitGiveBack([{ points: 1 }, { points: 1 }, { points: 1 }], 300, 0, 200) // [1, 1, 0]
 */
export function limitGiveBack(
  awards: readonly { points: number }[],
  orderAmount: number,
  refundedBefore: number,
  refundNow: number,
): number[] {
  const total = awards.reduce((sum, award) => sum + award.points, 0);
  // Given back by earlier refunds (an order of amount 0 has none: its one refund is a full refund).
  const before = orderAmount > 0 ? mulDiv(total, refundedBefore, orderAmount) : 0;
  const after = before + pointsToReverse(total, orderAmount, refundedBefore, refundNow);
  let earlier = 0;
  return awards.map(({ points }) => {
    // The part of a cumulative total that falls on this award, once the awards before it are full.
    const filled = (upTo: number) => Math.min(Math.max(upTo - earlier, 0), points);
    const back = filled(after) - filled(before);
    earlier += points;
    return back;
  });
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

interface SkuLine {
  quantity: number;
  share: number;
  unitShare: number;
}

/** The order's lines by sku with what their units were paid; a sku on several lines, lowest paid first. */
function linesBySku(order: { amount: number; items: readonly OrderItem[] }): Map<string, SkuLine[]> {
  const shares = apportionAmount(order.amount, order.items);
  const bySku = new Map<string, SkuLine[]>();
  order.items.forEach((item, i) => {
    const lines = bySku.get(item.sku) ?? [];
    lines.push({ quantity: item.quantity, ...shares[i]! });
    bySku.set(item.sku, lines);
  });
  // Which line a returned unit came from is unknown: take the lowest paid first (stable sort keeps line order).
  for (const lines of bySku.values()) lines.sort((a, b) => a.unitShare - b.unitShare);
  return bySku;
}

/** What units [from, to) of a sku were paid, its lines' units counted one line after another. */
function skuUnitsValue(lines: readonly SkuLine[], from: number, to: number): number {
  let value = 0;
  let start = 0;
  for (const line of lines) {
    const a = Math.max(from, start) - start;
    const b = Math.min(to, start + line.quantity) - start;
    if (b > a) value += unitsValue(line, a, b);
    start += line.quantity;
  }
  return value;
}

/**
 * Turns a refund by items into an amount: what the refunded units were paid, their share of the order
 * amount (see item-apportion.ts), so refunding every unit, in one refund or several, refunds exactly the
 * order amount. Checks that no sku is refunded beyond what was bought.
 */
export function refundByItems(
  order: { amount: number; items: readonly OrderItem[] },
  refundedBefore: ReadonlyMap<string, number>,
  request: readonly ItemRefundRequest[],
): ItemRefundResult {
  const bySku = linesBySku(order);
  const refunded = new Map(refundedBefore);
  const errors: { path: string; message: string }[] = [];
  let amount = 0;
  request.forEach((req, i) => {
    const lines = bySku.get(req.sku);
    if (!lines) {
      errors.push({ path: `items.${i}.sku`, message: `sku ${req.sku} is not in the order` });
      return;
    }
    const bought = lines.reduce((sum, line) => sum + line.quantity, 0);
    const before = Math.min(refunded.get(req.sku) ?? 0, bought);
    if (req.quantity > bought - before) {
      errors.push({ path: `items.${i}.quantity`, message: `only ${bought - before} of sku ${req.sku} left to refund` });
      return;
    }
    refunded.set(req.sku, before + req.quantity);
    amount += skuUnitsValue(lines, before, before + req.quantity);
  });
  return errors.length ? { ok: false, errors } : { ok: true, amount, refundedItems: refunded };
}

type Issue = { path: string; message: string };

export type RefundPlan =
  | { ok: true; amount: number; refundedItems: Map<string, number> | null }
  | { ok: false; code: "invalid_request" | "unprocessable"; detail: string; errors?: Issue[] };

export interface RefundableOrder {
  id: string;
  amount: number;
  refundedAmount: number;
  items: readonly OrderItem[];
  /** Quantities refunded per sku: null until the first refund by items (or, amount 0, the full refund). */
  refundedItems: ReadonlyMap<string, number> | null;
}

const refused = (detail: string, errors?: Issue[]): RefundPlan => ({
  ok: false,
  code: "unprocessable",
  detail,
  ...(errors ? { errors } : {}),
});

type RefundRequest = { amount?: number; items?: readonly ItemRefundRequest[] };

/**
 * What a refund request refunds: its amount and the order's refunded items after it, or why it is refused.
 * No amount and no items refunds everything left.
 */
export function planRefund(order: RefundableOrder, request: RefundRequest): RefundPlan {
  if (order.amount === 0) return planZeroAmountRefund(order, request);
  if (request.amount === 0)
    return {
      ok: false,
      code: "invalid_request",
      detail: "The refund amount is zero.",
      errors: [{ path: "amount", message: "must be at least 1 (0 refunds only an order of amount 0)" }],
    };
  const left = order.amount - order.refundedAmount;
  let amount = request.amount ?? left;
  let refundedItems = order.refundedItems ? new Map(order.refundedItems) : null;
  if (request.items) {
    const result = refundByItems(order, order.refundedItems ?? new Map(), request.items);
    if (!result.ok) return refused("The items cannot be refunded.", result.errors);
    // Refunds by amount may already have taken part of what the items were paid.
    amount = Math.min(result.amount, left);
    refundedItems = result.refundedItems;
  }
  if (left <= 0) return refused(`Order ${order.id} is already fully refunded.`);
  if (amount > left)
    return refused(`Only ${left} of order ${order.id} is left to refund.`, [
      { path: "amount", message: `must be at most ${left}` },
    ]);
  // Units paid nothing (a free sample) may come back too: no money or points move, but the return is recorded
  // and the stamps they earned go back.
  return { ok: true, amount, refundedItems };
}

/**
 * An order of amount 0 can only be refunded once, in full: no body, amount 0, or every unit of its items.
 * Its refunded items, set to everything bought (`[]` without items), mark it refunded.
 */
function planZeroAmountRefund(order: RefundableOrder, request: RefundRequest): RefundPlan {
  if (order.refundedItems !== null) return refused(`Order ${order.id} is already fully refunded.`);
  if (request.amount !== undefined && request.amount > 0)
    return refused(`Only 0 of order ${order.id} is left to refund.`, [{ path: "amount", message: "must be at most 0" }]);
  const everything = new Map<string, number>();
  for (const item of order.items) everything.set(item.sku, (everything.get(item.sku) ?? 0) + item.quantity);
  if (request.items) {
    const result = refundByItems(order, new Map(), request.items);
    if (!result.ok) return refused("The items cannot be refunded.", result.errors);
    const whole = [...everything].every(([sku, quantity]) => result.refundedItems.get(sku) === quantity);
    if (!whole)
      return refused(`Order ${order.id} has amount 0: it is refunded in full only.`, [
        { path: "items", message: "must list every unit of the order" },
      ]);
  }
  return { ok: true, amount: 0, refundedItems: everything };
}

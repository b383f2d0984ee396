/**
 * Stamps that refunds take back, pure. An order records what it gave each card (StampRecord, stored on the
 * order row); each refund computes how many of those stamps the order no longer earns, and takes back the
 * difference from what earlier refunds took. Taking back never gives stamps back, so the count only grows.
 *
 * - Refunded in full, or net of refunds below the card's `minAmount`: every stamp goes back (the order no
 *   longer qualifies).
 * - Refunds by items: the stamps of the refunded matching units go back (an `orders` card with item
 *   conditions: its stamp, once no matching unit is left).
 * - Refunds by amount: of the stamps item refunds left, a share in proportion to the amount refunded by amount
 *   over what item refunds left of the order amount, rounded in the member's favour as points are.
 *
 * Both parts are functions of where the order stands, not of the steps that got it there, so refunds in
 * parts, by items and by amount in any order, take back what one refund reaching the same state would, and
 * refunding other items first does not dilute a refund by amount. The stamps kept, with `left` the stamps
 * item refunds left, are ceil(left × net / (net + byAmount)): net + byAmount is what item refunds left of the
 * order amount, and an item refund of value v turns net / (net + byAmount) into (net - v) / (net + byAmount
 * - v), never more, so every refund keeps as many stamps or fewer: a later refund never gives stamps back.
 */

import { mulDiv } from "../platform/math";

/** What one order gave one card, and what refunds took back so far. */
export interface StampRecord {
  cardId: string;
  counts: "orders" | "quantity";
  given: number;
  taken: number;
  /** Amount refunded by amount (not by items) so far. */
  byAmount: number;
  /** The card's minimum order amount when the order was posted. */
  minAmount?: number;
  /** The matching units by sku, for cards that count units or match items. */
  units?: [string, number][];
}

/** The order after the refund being planned. */
export interface RefundedOrderState {
  amount: number;
  refundedAmount: number;
  /** Quantities refunded per sku, null when nothing was refunded by items. */
  refundedItems: ReadonlyMap<string, number> | null;
}

/** Stamps refunds have taken back in all once the order is in `state`. */
export function stampsTakenAfter(record: StampRecord, state: RefundedOrderState): number {
  const net = state.amount - state.refundedAmount;
  // An order of amount 0 has one refund, in full; it marks its refunded items.
  const whole = state.amount > 0 ? net <= 0 : state.refundedItems !== null;
  if (whole || (record.minAmount !== undefined && net < record.minAmount)) return record.given;
  const byItems = takenByItems(record, state.refundedItems);
  // Measured against what item refunds left (not the original amount): refunding other items first must not
  // dilute a refund by amount of what is left.
  const base = net + record.byAmount;
  const byAmount = base > 0 ? mulDiv(record.given - byItems, record.byAmount, base) : 0;
  // The rule never lowers a count it gave before (see above), nor one the former rule stored (it took
  // max(share of the whole amount, items), never more); record.taken only guards the stored value.
  return Math.min(record.given, Math.max(record.taken, byItems + byAmount));
}

function takenByItems(record: StampRecord, refunded: ReadonlyMap<string, number> | null): number {
  if (!record.units || !refunded) return 0;
  const left = record.units.reduce((sum, [sku, units]) => sum + Math.max(0, units - (refunded.get(sku) ?? 0)), 0);
  if (record.counts === "orders") return left > 0 ? 0 : record.given;
  return record.given - Math.min(record.given, left);
}

/** One card's stamps to take back by this refund. */
export interface StampTakeBack {
  cardId: string;
  stamps: number;
}

/**
 * What a refund takes back from each card, and the order's records after it.
 *
 * @example
 * planStampTakeBack([{ cardId: "tea10", counts: "orders", given: 1, taken: 0, byAmount: 0 }],
 *   { amount: 1000, refundedAmount: 1000, refundedItems: null }, 1000)
 * // { takeBack: [{ cardId: "tea10", stamps: 1 }], records: [{ ..., taken: 1, byAmount: 1000 }] }
 */
export function planStampTakeBack(
  records: readonly StampRecord[],
  state: RefundedOrderState,
  refundByAmount: number,
): { takeBack: StampTakeBack[]; records: StampRecord[] } {
  const takeBack: StampTakeBack[] = [];
  const after = records.map((record) => {
    const next = { ...record, byAmount: record.byAmount + refundByAmount };
    next.taken = stampsTakenAfter(next, state);
    if (next.taken > record.taken) takeBack.push({ cardId: record.cardId, stamps: next.taken - record.taken });
    return next;
  });
  return { takeBack, records: after };
}

/** The stored form of an order's records (null when it gave no stamps). */
export function serializeStampRecords(records: readonly StampRecord[]): string | null {
  return records.length ? JSON.stringify(records) : null;
}

export function parseStampRecords(stored: string | null): StampRecord[] {
  return stored ? (JSON.parse(stored) as StampRecord[]) : [];
}

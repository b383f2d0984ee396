import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planStampTakeBack, type StampRecord, stampsTakenAfter } from "../../src/earning/stamp-take-back";
import { planStamps, type StampCard } from "../../src/earning/stamps";
import type { OrderItem } from "../../src/earning/types";
import { planRefund } from "../../src/orders/refund-math";

const record = (over: Partial<StampRecord> = {}): StampRecord => ({
  cardId: "c",
  counts: "quantity",
  given: 3,
  taken: 0,
  byAmount: 0,
  ...over,
});
const state = (refundedAmount: number, refundedItems: [string, number][] | null = null, amount = 1000) => ({
  amount,
  refundedAmount,
  refundedItems: refundedItems ? new Map(refundedItems) : null,
});

describe("stamps taken back by refunds", () => {
  it("a full refund takes every stamp back", () => {
    expect(stampsTakenAfter(record(), state(1000))).toBe(3);
    expect(stampsTakenAfter(record({ counts: "orders", given: 1 }), state(1000))).toBe(1);
    // An order of amount 0 is refunded in full once: its refunded items mark it.
    expect(stampsTakenAfter(record({ counts: "orders", given: 1 }), state(0, null, 0))).toBe(0);
    expect(stampsTakenAfter(record({ counts: "orders", given: 1 }), state(0, [], 0))).toBe(1);
  });

  it("net of refunds below the card's minimum takes every stamp back", () => {
    const r = record({ counts: "orders", given: 1, minAmount: 800 });
    expect(stampsTakenAfter({ ...r, byAmount: 200 }, state(200))).toBe(0);
    expect(stampsTakenAfter({ ...r, byAmount: 201 }, state(201))).toBe(1);
  });

  it("refunds by items take back the refunded matching units only", () => {
    const r = record({ units: [["tea", 3]] });
    // The cake is refunded: no stamp was for it.
    expect(stampsTakenAfter(r, state(400, [["cake", 1]]))).toBe(0);
    expect(stampsTakenAfter(r, state(600, [["tea", 2]]))).toBe(2);
    // An orders card keeps its stamp while a matching unit is left.
    const o = record({ counts: "orders", given: 1, units: [["tea", 2]] });
    expect(stampsTakenAfter(o, state(300, [["tea", 1]]))).toBe(0);
    expect(stampsTakenAfter(o, state(600, [["tea", 2]]))).toBe(1);
  });

  it("refunds by amount take back in proportion, rounded in the member's favour", () => {
    expect(stampsTakenAfter(record({ byAmount: 333 }), state(333))).toBe(0);
    expect(stampsTakenAfter(record({ byAmount: 334 }), state(334))).toBe(1);
    // An orders card without item conditions keeps its stamp until the order is refunded in full.
    expect(stampsTakenAfter(record({ counts: "orders", given: 1, byAmount: 999 }), state(999))).toBe(0);
  });

  it("a refund by amount after refunds by items is measured against what the items left", () => {
    // 10 tea at 100 and a cake at 1000: refunding the cake leaves 1000, all tea, so 999 more by amount is
    // 99.9% of the tea, as one refund of 1999 by amount is 99.95% of the order: 9 stamps back either way.
    const tea = record({ given: 10, units: [["tea", 10]] });
    const order = (refunded: number, items: [string, number][] | null) => state(refunded, items, 2000);
    expect(stampsTakenAfter({ ...tea, byAmount: 1999 }, order(1999, null))).toBe(9);
    expect(stampsTakenAfter(tea, order(1000, [["cake", 1]]))).toBe(0);
    expect(stampsTakenAfter({ ...tea, byAmount: 999 }, order(1999, [["cake", 1]]))).toBe(9);
    // The other way round: 999 by amount is 4.995 stamps of the whole order, then the cake leaves only tea.
    expect(stampsTakenAfter({ ...tea, byAmount: 999 }, order(999, null))).toBe(4);
    expect(stampsTakenAfter({ ...tea, taken: 4, byAmount: 999 }, order(1999, [["cake", 1]]))).toBe(9);
    // Refunded tea units and an amount both count, once each: 4 units back, then half of the 6 left.
    expect(stampsTakenAfter({ ...tea, byAmount: 800 }, order(1200, [["tea", 4]]))).toBe(4 + 3);
  });

  it("partial refunds in any order end where one full refund does, and never give stamps back", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
        (amount, given, parts) => {
          let records = [record({ given })];
          let refunded = 0;
          let total = 0;
          for (const part of parts) {
            const r = Math.min(part, amount - refunded);
            if (r <= 0) break;
            refunded += r;
            const plan = planStampTakeBack(records, state(refunded, null, amount), r);
            const back = plan.takeBack[0]?.stamps ?? 0;
            expect(back).toBeGreaterThanOrEqual(0);
            total += back;
            records = plan.records;
          }
          const last = planStampTakeBack(records, state(amount, null, amount), amount - refunded);
          total += last.takeBack[0]?.stamps ?? 0;
          expect(total).toBe(given);
          expect(last.records[0]!.taken).toBe(given);
        },
      ),
    );
  });

  it("property: refunds by items and by amount, split and in any order, keep what the order of what is left keeps", () => {
    fc.assert(
      fc.property(refundCase, ({ order, card, itemParts, amountParts, keys }) => {
        const [step] = planStamps([card], new Map(), order);
        fc.pre(step !== undefined);
        const { record } = step;
        // The refunds interleaved at random, each never giving stamps back (refundInSteps checks).
        const parts: RefundRequest[] = [...itemParts.map((items) => ({ items })), ...amountParts.map((amount) => ({ amount }))];
        const shuffled = parts.map((part, i) => ({ part, key: keys[i] ?? 0 })).sort((a, b) => a.key - b.key);
        const inTurn = refundInSteps(
          order,
          record,
          shuffled.map(({ part }) => part),
        );
        expect(inTurn.taken).toBeLessThanOrEqual(record.given);

        // The same refunds as one by items and one by amount, in either order.
        const byItems = itemParts.flat();
        const byAmount = amountParts.reduce((sum, part) => sum + part, 0);
        const itemsOnce = byItems.length ? [{ items: byItems }] : [];
        const amountOnce = byAmount ? [{ amount: byAmount }] : [];
        expect(refundInSteps(order, record, [...itemsOnce, ...amountOnce]).taken).toBe(inTurn.taken);
        expect(refundInSteps(order, record, [...amountOnce, ...itemsOnce]).taken).toBe(inTurn.taken);

        // The order of what the item refunds left, bought as such and refunded by amount once, keeps as many.
        const left = order.items
          .map((item) => ({
            ...item,
            quantity: item.quantity - byItems.filter((r) => r.sku === item.sku).reduce((n, r) => n + r.quantity, 0),
          }))
          .filter((item) => item.quantity > 0);
        if (left.length === 0) {
          expect(inTurn.taken).toBe(record.given);
          return;
        }
        const rest = { ...order, amount: order.amount - inTurn.refundedByItems, items: left };
        const [restStep] = planStamps([card], new Map(), rest);
        const kept = restStep ? restStep.record.given - refundInSteps(rest, restStep.record, amountOnce).taken : 0;
        expect(record.given - inTurn.taken).toBe(kept);
      }),
      { numRuns: 500 },
    );
  });
});

type RefundRequest = { amount: number } | { items: { sku: string; quantity: number }[] };

/** Refunds an order in turn as the refund route plans it; returns what the stamp record took back in all. */
function refundInSteps(order: { amount: number; items: OrderItem[] }, record: StampRecord, parts: RefundRequest[]) {
  let refunded = { refundedAmount: 0, refundedItems: null as Map<string, number> | null };
  let current = record;
  let refundedByItems = 0;
  for (const part of parts) {
    const plan = planRefund({ id: "o", ...order, ...refunded }, part);
    if (!plan.ok) throw new Error(`${JSON.stringify(part)} refused: ${plan.detail}`);
    refunded = { refundedAmount: refunded.refundedAmount + plan.amount, refundedItems: plan.refundedItems };
    if ("items" in part) refundedByItems += plan.amount;
    const byAmount = "items" in part ? 0 : plan.amount;
    const { takeBack, records } = planStampTakeBack([current], { amount: order.amount, ...refunded }, byAmount);
    const [after] = records;
    if (!after) throw new Error("the record is gone");
    expect(after.taken, "a later refund never gives stamps back").toBeGreaterThanOrEqual(current.taken);
    expect(takeBack.reduce((sum, back) => sum + back.stamps, 0)).toBe(after.taken - current.taken);
    current = after;
  }
  return { taken: current.taken, refundedAmount: refunded.refundedAmount, refundedByItems };
}

/** A split of total into parts by weight (cumulative floors, so the parts add up to total); empty parts dropped. */
function splitByWeight(total: number, weights: number[]): number[] {
  const sum = weights.reduce((s, w) => s + w, 0);
  let before = 0;
  return weights
    .map((w) => {
      const part = Math.floor((total * (before + w)) / sum) - Math.floor((total * before) / sum);
      before += w;
      return part;
    })
    .filter((part) => part > 0);
}

/** An order (one line per sku, every unit paid at least 1), a card, and refunds that fit in the order. */
const refundCase = fc
  .record({
    lines: fc.array(
      fc.record({ tea: fc.boolean(), quantity: fc.integer({ min: 1, max: 6 }), unitPrice: fc.integer({ min: 2, max: 1000 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    // The amount paid, in percent of the list total: up to half off, or up to as much again in fees.
    paid: fc.integer({ min: 50, max: 200 }),
    counts: fc.constantFrom("orders" as const, "quantity" as const),
    match: fc.constantFrom<StampCard["match"]>(null, { categories: ["tea"] }, { skus: ["s0"] }),
    minAmount: fc.option(fc.integer({ min: 0, max: 100 })),
    units: fc.array(fc.nat(6), { minLength: 4, maxLength: 4 }),
    pieces: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
    byAmount: fc.integer({ min: 0, max: 100 }),
    amountWeights: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 4 }),
    keys: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
  })
  .map((c) => {
    const items: OrderItem[] = c.lines.map((line, i) => ({
      sku: `s${i}`,
      ...(line.tea ? { category: "tea" } : {}),
      quantity: line.quantity,
      unitPrice: line.unitPrice,
    }));
    const list = items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
    const order = { amount: Math.ceil((list * c.paid) / 100), occurredAt: 0, items };
    const minAmount = c.minAmount === null ? {} : { minAmount: Math.floor((order.amount * c.minAmount) / 100) };
    const match = c.match === null && c.minAmount === null ? null : { ...c.match, ...minAmount };
    const card: StampCard = { id: "c", name: "c", counts: c.counts, match, stamps: 10, reward: { kind: "points", points: 1 } };
    // Some units of each sku, refunded in up to 3 refunds; then a share of what they leave, by amount in parts.
    const itemParts = items.flatMap((item, i) =>
      splitByWeight((c.units[i] ?? 0) % (item.quantity + 1), Array(c.pieces[i] ?? 1).fill(1)).map((quantity) => [
        { sku: item.sku, quantity },
      ]),
    );
    const itemsPlan = planRefund({ id: "o", ...order, refundedAmount: 0, refundedItems: null }, { items: itemParts.flat() });
    const left = itemParts.length && itemsPlan.ok ? order.amount - itemsPlan.amount : order.amount;
    const amountParts = splitByWeight(Math.floor((left * c.byAmount) / 100), c.amountWeights);
    return { order, card, itemParts, amountParts, keys: c.keys };
  });

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_COMPLETIONS_PER_ORDER, planStamps, type StampCard, stampsFor } from "../../src/earning/stamps";

const card = (over: Partial<StampCard> = {}): StampCard => ({
  id: "c",
  name: "c",
  counts: "orders",
  match: null,
  stamps: 10,
  reward: { kind: "points", points: 50 },
  ...over,
});
const order = (items: { sku: string; category?: string; quantity: number }[], amount = 1000) => ({
  amount,
  occurredAt: 0,
  items: items.map((i) => ({ ...i, unitPrice: 100 })),
});

describe("stamp cards", () => {
  it("counts orders or matching units, and respects minAmount", () => {
    expect(stampsFor(card(), order([]))).toBe(1);
    expect(stampsFor(card({ match: { categories: ["tea"] } }), order([{ sku: "a", category: "ware", quantity: 2 }]))).toBe(0);
    expect(
      stampsFor(
        card({ counts: "quantity", match: { skus: ["a"] } }),
        order([
          { sku: "a", quantity: 3 },
          { sku: "b", quantity: 4 },
        ]),
      ),
    ).toBe(3);
    expect(stampsFor(card({ match: { minAmount: 2000 } }), order([], 1999))).toBe(0);
  });

  it("stamps are conserved: stamps - debt + added = after - debt after + completions x stamps", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.nat(50),
        fc.nat(30),
        fc.integer({ min: 1, max: 2000 }),
        (stamps, stampsRead, debt, quantity) => {
          // Reachable states: fewer stamps than the card needs, and debt only on an empty card.
          const before = debt > 0 ? 0 : stampsRead % stamps;
          const c = card({ counts: "quantity", stamps });
          const [step] = planStamps([c], new Map([["c", { stamps: before, debt }]]), order([{ sku: "a", quantity }]));
          expect(step!.completions).toBeLessThanOrEqual(MAX_COMPLETIONS_PER_ORDER);
          expect(step!.before.stamps - step!.before.debt + quantity).toBe(
            step!.after.stamps - step!.after.debt + step!.completions * stamps,
          );
          // Debt is paid before any stamp lands on the card.
          expect(step!.after.debt).toBe(Math.max(0, debt - quantity));
          if (step!.after.debt > 0) expect(step!.after.stamps).toBe(before);
          if (step!.completions < MAX_COMPLETIONS_PER_ORDER) expect(step!.after.stamps).toBeLessThan(stamps);
        },
      ),
    );
  });

  it("records what the order gave each card for refunds", () => {
    const [step] = planStamps(
      [card({ counts: "quantity", match: { categories: ["tea"], minAmount: 500 } })],
      new Map(),
      order([
        { sku: "a", category: "tea", quantity: 2 },
        { sku: "b", category: "ware", quantity: 1 },
        { sku: "a", category: "tea", quantity: 1 },
      ]),
    );
    expect(step!.record).toEqual({
      cardId: "c",
      counts: "quantity",
      given: 3,
      taken: 0,
      byAmount: 0,
      minAmount: 500,
      units: [["a", 3]],
    });
  });
});

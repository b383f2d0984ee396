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

  it("stamps are conserved: before + added = after + completions x stamps", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.nat(50), fc.integer({ min: 1, max: 2000 }), (stamps, before, quantity) => {
        const c = card({ counts: "quantity", stamps });
        const [step] = planStamps([c], new Map([["c", before]]), order([{ sku: "a", quantity }]));
        expect(step!.completions).toBeLessThanOrEqual(MAX_COMPLETIONS_PER_ORDER);
        expect(step!.before + quantity).toBe(step!.after + step!.completions * stamps);
        if (step!.completions < MAX_COMPLETIONS_PER_ORDER) expect(step!.after).toBeLessThan(stamps);
      }),
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pointsToReverse, refundByItems } from "../../src/orders/refund-math";

describe("pointsToReverse", () => {
  it("property: any split of a refund reverses what one refund of the total would", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 20 }),
        (points, amount, weights) => {
          const total = weights.reduce((s, w) => s + w, 0);
          let refunded = 0;
          let reversed = 0;
          for (const w of weights) {
            const part = Math.min(amount - refunded, Math.floor((amount * w) / total));
            reversed += pointsToReverse(points, amount, refunded, part);
            refunded += part;
          }
          expect(reversed).toBe(pointsToReverse(points, amount, 0, refunded));
          reversed += pointsToReverse(points, amount, refunded, amount - refunded);
          expect(reversed).toBe(points);
        },
      ),
    );
  });

  it("never reverses from an order of zero amount", () => {
    expect(pointsToReverse(50, 0, 0, 0)).toBe(0);
  });
});

describe("refundByItems", () => {
  const items = [
    { sku: "a", quantity: 2, unitPrice: 300 },
    { sku: "b", quantity: 1, unitPrice: 1000 },
  ];
  it("prices refunded items and tracks quantities", () => {
    const r = refundByItems(items, { a: 1 }, [{ sku: "a", quantity: 1 }, { sku: "b", quantity: 1 }]);
    expect(r).toEqual({ ok: true, amount: 1300, refundedItems: { a: 2, b: 1 } });
  });
  it("names each bad line", () => {
    const r = refundByItems(items, { a: 2 }, [{ sku: "a", quantity: 1 }, { sku: "zz", quantity: 1 }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(["items.0.quantity", "items.1.sku"]);
  });
});

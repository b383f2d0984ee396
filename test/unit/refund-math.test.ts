import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRefundedItems, pointsToReverse, refundByItems, serializeRefundedItems } from "../../src/orders/refund-math";

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
    const r = refundByItems(items, new Map([["a", 1]]), [{ sku: "a", quantity: 1 }, { sku: "b", quantity: 1 }]);
    expect(r).toEqual({ ok: true, amount: 1300, refundedItems: new Map([["a", 2], ["b", 1]]) });
  });
  it("names each bad line", () => {
    const r = refundByItems(items, new Map([["a", 2]]), [{ sku: "a", quantity: 1 }, { sku: "zz", quantity: 1 }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(["items.0.quantity", "items.1.sku"]);
  });
  it("counts skus named like Object.prototype members, across a stored round trip", () => {
    for (const sku of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      const order = [{ sku, quantity: 1, unitPrice: 100 }];
      const first = refundByItems(order, new Map(), [{ sku, quantity: 1 }]);
      expect(first.ok).toBe(true);
      if (!first.ok) continue;
      const stored = parseRefundedItems(serializeRefundedItems(first.refundedItems));
      expect(stored.get(sku)).toBe(1);
      const second = refundByItems(order, stored, [{ sku, quantity: 1 }]);
      expect(second.ok, sku).toBe(false);
    }
  });
  it("reads the older object form of stored refunded items, an unknown count as everything bought", () => {
    const stored = parseRefundedItems('{"a":1,"__proto__":2,"constructor":"function Object() { [native code] }1"}');
    expect([...stored]).toEqual([["a", 1], ["__proto__", 2], ["constructor", Number.POSITIVE_INFINITY]]);
    expect(parseRefundedItems(serializeRefundedItems(stored))).toEqual(stored);
    const r = refundByItems([{ sku: "constructor", quantity: 3, unitPrice: 1 }], stored, [{ sku: "constructor", quantity: 1 }]);
    expect(r).toEqual({ ok: false, errors: [{ path: "items.0.quantity", message: "only 0 of sku constructor left to refund" }] });
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  earningShare,
  limitGiveBack,
  parseRefundedItems,
  planRefund,
  pointsToReverse,
  refundByItems,
  serializeRefundedItems,
} from "../../src/orders/refund-math";

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

  it("reverses every point of an order of amount 0: its one refund is a full refund", () => {
    expect(pointsToReverse(50, 0, 0, 0)).toBe(50);
  });

  it("property: an order partly paid with points reverses every point once all its money is refunded, in any parts", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 2, max: 10_000_000 }),
        // Short of the whole amount: an order points paid in full earned on its amount (earningShare).
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 20 }),
        (points, amount, paidShare, weights) => {
          const paid = Math.floor(amount * paidShare);
          const money = amount - paid;
          const total = weights.reduce((s, w) => s + w, 0);
          let refunded = 0;
          let reversed = 0;
          const reverse = (part: number) => {
            const share = earningShare(amount, paid, refunded, part);
            reversed += pointsToReverse(points, share.amount, share.before, share.now);
            refunded += part;
          };
          for (const w of weights) reverse(Math.min(money - refunded, Math.floor((money * w) / total)));
          reverse(money - refunded);
          expect(reversed).toBe(points);
          // Refunding beyond the money part (the rest of the amount) takes nothing more.
          reverse(amount - refunded);
          expect(reversed).toBe(points);
        },
      ),
    );
  });

  it("keeps the whole amount for an order points paid in full, or none of", () => {
    expect(earningShare(10_000, 10_000, 2_000, 3_000)).toEqual({ amount: 10_000, before: 2_000, now: 3_000 });
    expect(earningShare(10_000, 0, 2_000, 3_000)).toEqual({ amount: 10_000, before: 2_000, now: 3_000 });
    expect(earningShare(10_000, 4_000, 5_000, 3_000)).toEqual({ amount: 6_000, before: 5_000, now: 1_000 });
  });
});

describe("limitGiveBack", () => {
  const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

  it("property: each refund gives back the points it reverses, split within what each award consumed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }),
        (awards, amount, weights) => {
          const uses = awards.map((points) => ({ points }));
          const total = sum(weights);
          let given = awards.map(() => 0);
          const giveBack = (backs: number[]) => {
            given = given.map((g, i) => g + (backs[i] ?? 0));
          };
          let refunded = 0;
          for (const w of weights) {
            const part = Math.min(amount - refunded, Math.floor((amount * w) / total));
            const backs = limitGiveBack(uses, amount, refunded, part);
            // Every award limited: the parts add up to the points this refund reverses.
            expect(sum(backs)).toBe(pointsToReverse(sum(awards), amount, refunded, part));
            expect(Math.min(...backs)).toBeGreaterThanOrEqual(0);
            giveBack(backs);
            for (const [i, g] of given.entries()) expect(g).toBeLessThanOrEqual(awards[i] ?? 0);
            refunded += part;
          }
          expect(given).toEqual(limitGiveBack(uses, amount, 0, refunded));
          giveBack(limitGiveBack(uses, amount, refunded, amount - refunded));
          expect(given).toEqual(awards);
        },
      ),
    );
  });

  const of = (...points: number[]) => points.map((p) => ({ points: p }));

  it("gives back the point a refund reverses even when no award's own share reaches a point", () => {
    // 3 awards of 1 point on an order of 300: refunding 200 reverses 2 points.
    expect(limitGiveBack(of(1, 1, 1), 300, 0, 200)).toEqual([1, 1, 0]);
    expect(limitGiveBack(of(1, 1, 1), 300, 200, 100)).toEqual([0, 0, 1]);
  });

  it("gives back the limited awards' proportional part when the order also has unlimited awards", () => {
    // 30 limited points of an order that earned 100 on 1000: a refund of 500 reverses 50, gives back 15.
    expect(sum(limitGiveBack(of(10, 20), 1000, 0, 500))).toBe(15);
  });

  it("gives back everything on the one refund of an order of amount 0", () => {
    expect(limitGiveBack(of(5, 7), 0, 0, 0)).toEqual([5, 7]);
  });
});

describe("refundByItems", () => {
  const order = {
    amount: 1600,
    items: [
      { sku: "a", quantity: 2, unitPrice: 300 },
      { sku: "b", quantity: 1, unitPrice: 1000 },
    ],
  };
  it("prices refunded items at what they were paid and tracks quantities", () => {
    const r = refundByItems(order, new Map([["a", 1]]), [
      { sku: "a", quantity: 1 },
      { sku: "b", quantity: 1 },
    ]);
    expect(r).toEqual({
      ok: true,
      amount: 1300,
      refundedItems: new Map([
        ["a", 2],
        ["b", 1],
      ]),
    });
    // Paid 1200 for a list of 1600: every unit paid three quarters of its price.
    const discounted = refundByItems({ ...order, amount: 1200 }, new Map(), [
      { sku: "a", quantity: 1 },
      { sku: "b", quantity: 1 },
    ]);
    expect(discounted).toMatchObject({ ok: true, amount: 225 + 750 });
  });
  it("names each bad line", () => {
    const r = refundByItems(order, new Map([["a", 2]]), [
      { sku: "a", quantity: 1 },
      { sku: "zz", quantity: 1 },
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(["items.0.quantity", "items.1.sku"]);
  });
  it("counts one sku over several lines, lowest paid units first, and the same sku twice in one request", () => {
    const lines = {
      amount: 700,
      items: [
        { sku: "t", quantity: 1, unitPrice: 400 },
        { sku: "u", quantity: 1, unitPrice: 100 },
        { sku: "t", quantity: 1, unitPrice: 200 },
      ],
    };
    const r = refundByItems(lines, new Map(), [
      { sku: "t", quantity: 1 },
      { sku: "t", quantity: 1 },
    ]);
    expect(r).toEqual({ ok: true, amount: 600, refundedItems: new Map([["t", 2]]) });
    const first = refundByItems(lines, new Map(), [{ sku: "t", quantity: 1 }]);
    expect(first).toMatchObject({ ok: true, amount: 200 });
    expect(refundByItems(lines, new Map([["t", 2]]), [{ sku: "t", quantity: 1 }]).ok).toBe(false);
  });
  it("counts skus named like Object.prototype members, across a stored round trip", () => {
    for (const sku of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      const one = { amount: 100, items: [{ sku, quantity: 1, unitPrice: 100 }] };
      const first = refundByItems(one, new Map(), [{ sku, quantity: 1 }]);
      expect(first.ok).toBe(true);
      if (!first.ok) continue;
      const stored = parseRefundedItems(serializeRefundedItems(first.refundedItems));
      expect(stored.get(sku)).toBe(1);
      const second = refundByItems(one, stored, [{ sku, quantity: 1 }]);
      expect(second.ok, sku).toBe(false);
    }
  });
  it("reads the older object form of stored refunded items, an unknown count as everything bought", () => {
    const stored = parseRefundedItems('{"a":1,"__proto__":2,"constructor":"function Object() { [native code] }1"}');
    expect([...stored]).toEqual([
      ["a", 1],
      ["__proto__", 2],
      ["constructor", Number.POSITIVE_INFINITY],
    ]);
    expect(parseRefundedItems(serializeRefundedItems(stored))).toEqual(stored);
    const r = refundByItems({ amount: 3, items: [{ sku: "constructor", quantity: 3, unitPrice: 1 }] }, stored, [
      { sku: "constructor", quantity: 1 },
    ]);
    expect(r).toEqual({ ok: false, errors: [{ path: "items.0.quantity", message: "only 0 of sku constructor left to refund" }] });
  });
  it("property: refunding every unit in any parts refunds exactly the order amount and reverses exactly its points", () => {
    const line = fc.record({
      sku: fc.constantFrom("a", "b", "c"),
      quantity: fc.integer({ min: 1, max: 5 }),
      unitPrice: fc.integer({ min: 0, max: 50_000 }),
    });
    // Every unit of the order once, in a random order, cut into random parts.
    const refundPlan = fc.array(line, { minLength: 1, maxLength: 6 }).chain((items) => {
      const units = items.flatMap((item) => Array.from({ length: item.quantity }, () => item.sku));
      return fc.record({
        items: fc.constant(items),
        units: fc.shuffledSubarray(units, { minLength: units.length, maxLength: units.length }),
        cuts: fc.uniqueArray(fc.integer({ min: 1, max: units.length }), { maxLength: units.length }),
        amount: fc.integer({ min: 0, max: 200_000 }),
        points: fc.nat(1000),
      });
    });
    fc.assert(
      fc.property(refundPlan, ({ items, units, cuts, amount, points }) => {
        const bounds = [0, ...cuts.sort((a, b) => a - b).filter((c) => c < units.length), units.length];
        let refunded = new Map<string, number>();
        let paid = 0;
        let reversed = 0;
        for (let k = 1; k < bounds.length; k++) {
          const part = units.slice(bounds[k - 1], bounds[k]).map((sku) => ({ sku, quantity: 1 }));
          const r = refundByItems({ amount, items }, refunded, part);
          if (!r.ok) throw new Error(JSON.stringify(r.errors));
          expect(r.amount).toBeGreaterThanOrEqual(0);
          reversed += pointsToReverse(points, amount, paid, r.amount);
          paid += r.amount;
          refunded = r.refundedItems;
        }
        expect(paid).toBe(amount);
        if (amount > 0) expect(reversed).toBe(points);
      }),
    );
  });
});

describe("planRefund", () => {
  const items = [
    { sku: "a", quantity: 2, unitPrice: 300 },
    { sku: "b", quantity: 1, unitPrice: 0 },
  ];
  const paid = { id: "o", amount: 600, refundedAmount: 0, items, refundedItems: null };
  const free = { ...paid, amount: 0 };

  it("refunds what is left without amount or items, refuses more or an amount of 0, takes back units paid nothing", () => {
    expect(planRefund(paid, {})).toEqual({ ok: true, amount: 600, refundedItems: null });
    expect(planRefund({ ...paid, refundedAmount: 600 }, {})).toMatchObject({
      ok: false,
      detail: "Order o is already fully refunded.",
    });
    expect(planRefund(paid, { amount: 601 })).toMatchObject({ ok: false, code: "unprocessable", errors: [{ path: "amount" }] });
    expect(planRefund(paid, { amount: 0 })).toMatchObject({ ok: false, code: "invalid_request", errors: [{ path: "amount" }] });
    // Units paid nothing come back for nothing: the return is recorded (their stamps go back).
    expect(planRefund(paid, { items: [{ sku: "b", quantity: 1 }] })).toEqual({
      ok: true,
      amount: 0,
      refundedItems: new Map([["b", 1]]),
    });
  });

  it("refunds an order of amount 0 once, in full, marking every unit refunded", () => {
    const everything = new Map([
      ["a", 2],
      ["b", 1],
    ]);
    for (const request of [
      {},
      { amount: 0 },
      {
        items: [
          { sku: "b", quantity: 1 },
          { sku: "a", quantity: 2 },
        ],
      },
    ])
      expect(planRefund(free, request)).toEqual({ ok: true, amount: 0, refundedItems: everything });
    expect(planRefund({ ...free, items: [] }, {})).toEqual({ ok: true, amount: 0, refundedItems: new Map() });
    expect(planRefund(free, { items: [{ sku: "a", quantity: 2 }] })).toMatchObject({ ok: false, errors: [{ path: "items" }] });
    expect(planRefund(free, { amount: 1 })).toMatchObject({ ok: false, errors: [{ path: "amount" }] });
    expect(planRefund({ ...free, refundedItems: new Map() }, {})).toMatchObject({
      ok: false,
      detail: "Order o is already fully refunded.",
    });
  });
});

/**
 * The randomized suites' model: its refund oracle is written apart from src and must agree with it, and its
 * bookkeeping of holds follows the engine's rules (spends and refunds release holds past their time first).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pointsToReverse } from "../../src/orders/refund-math";
import { expectedReversal, HOLD_TTL_MS, LedgerModel } from "../support/model";

describe("refund oracle", () => {
  it("agrees with the engine's refund maths, and any split of refunds reverses exactly the points", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }),
        (points, amount, shares) => {
          const order = { points, amount, refunded: 0, closed: false };
          let total = 0;
          for (const share of shares) {
            const left = amount - order.refunded;
            if (left <= 0) break;
            const refund = Math.max(1, Math.floor((left * share) / 100));
            const oracle = expectedReversal(order, refund);
            expect(oracle).toBe(pointsToReverse(points, amount, order.refunded, refund));
            total += oracle;
            order.refunded += refund;
          }
          if (order.refunded === amount) expect(total).toBe(points);
          else expect(total).toBeLessThanOrEqual(points);
        },
      ),
      { numRuns: 300, seed: 20261129 },
    );
  });

  it("reverses floor(P*(R+r)/A) - floor(P*R/A) exactly past 2^53, and all of an order of amount 0 once", () => {
    const big = { points: Number.MAX_SAFE_INTEGER, amount: 3, refunded: 1, closed: false };
    // floor(2M/3) - floor(M/3) with M = 2^53 - 1 = 3 * 3002399751580330 + 1.
    expect(expectedReversal(big, 1)).toBe(6004799503160660 - 3002399751580330);
    expect(expectedReversal({ points: 25, amount: 0, refunded: 0, closed: false }, 0)).toBe(25);
    expect(expectedReversal({ points: 25, amount: 0, refunded: 0, closed: true }, 0)).toBe(0);
  });
});

describe("ledger model", () => {
  it("releases holds past their time before a spend, a refund or a capture", () => {
    const model = new LedgerModel(["a"]);
    const order = model.order("o", "a", 10_000, 100);
    const hold = model.redeem("h", "a", 80, true);
    expect(model.balance("a")).toBe(20);
    expect(model.canSpend("a", 21)).toBe(false);
    model.advance(HOLD_TTL_MS);
    expect(model.canSpend("a", 100)).toBe(true);
    expect(model.refund(order, 5_000)).toBe(50);
    expect(hold.status).toBe("released");
    expect(model.balance("a")).toBe(50);
    const late = model.redeem("h2", "a", 50, true);
    model.advance(HOLD_TTL_MS);
    expect(model.capture(late)).toBe(false);
    expect(late.status).toBe("released");
    expect(model.cancel(late)).toBe(false);
    expect(model.balance("a")).toBe(50);
    expect(() => model.redeem("h3", "a", 51, false)).toThrow();
  });
});

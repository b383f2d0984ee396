import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apportionAmount, type LineShare, type PricedLine, unitsValue } from "../../src/orders/item-apportion";
import { MAX_UNITS } from "../../src/platform/validation";

/** Lowest and highest a single unit of a line was paid. */
const unitRange = (line: PricedLine, s: LineShare) =>
  [s.unitShare + (s.extraUnits === line.quantity ? 1 : 0), s.unitShare + (s.extraUnits > 0 ? 1 : 0)] as const;

// Lines as orders allow them: quantity x unitPrice at most MAX_UNITS, and at most 500 lines.
const pricedLine = (maxPrice: number) =>
  fc.integer({ min: 1, max: 1_000_000 }).chain((quantity) =>
    fc.record({
      quantity: fc.constant(quantity),
      unitPrice: fc.integer({ min: 0, max: Math.min(maxPrice, Math.floor(MAX_UNITS / quantity)) }),
    }),
  );
const order = (maxPrice: number) =>
  fc.record({
    amount: fc.integer({ min: 0, max: MAX_UNITS }),
    lines: fc.array(pricedLine(maxPrice), { minLength: 1, maxLength: 30 }),
  });

describe("apportionAmount", () => {
  it("splits a discounted order by list price", () => {
    expect(
      apportionAmount(10000, [
        { quantity: 1, unitPrice: 10000 },
        { quantity: 1, unitPrice: 10000 },
      ]).map((s) => s.share),
    ).toEqual([5000, 5000]);
    expect(
      apportionAmount(1200, [
        { quantity: 2, unitPrice: 300 },
        { quantity: 1, unitPrice: 1000 },
      ]).map((s) => s.share),
    ).toEqual([450, 750]);
  });

  it("gives the remainder to the largest remainders, ties to the earlier line", () => {
    expect(
      apportionAmount(1, [
        { quantity: 1, unitPrice: 5 },
        { quantity: 1, unitPrice: 5 },
      ]).map((s) => s.share),
    ).toEqual([1, 0]);
    // 100 over prices 1:2 (3 units of 1, 1 of 2, list 5): exact unit shares 20 and 40.
    expect(
      apportionAmount(100, [
        { quantity: 3, unitPrice: 1 },
        { quantity: 1, unitPrice: 2 },
      ]),
    ).toEqual([
      { share: 60, unitShare: 20, extraUnits: 0 },
      { share: 40, unitShare: 40, extraUnits: 0 },
    ]);
    // 10 over 3 equal units: 3 each, one unit gets the leftover 1.
    expect(apportionAmount(10, [{ quantity: 3, unitPrice: 7 }])).toEqual([{ share: 10, unitShare: 3, extraUnits: 1 }]);
  });

  it("spreads over the list when it is below the amount, and evenly over units when nothing is priced", () => {
    expect(
      apportionAmount(3000, [
        { quantity: 1, unitPrice: 1000 },
        { quantity: 1, unitPrice: 0 },
      ]).map((s) => s.share),
    ).toEqual([3000, 0]);
    expect(
      apportionAmount(1000, [
        { quantity: 3, unitPrice: 0 },
        { quantity: 1, unitPrice: 0 },
      ]).map((s) => s.share),
    ).toEqual([750, 250]);
    expect(apportionAmount(0, [{ quantity: 3, unitPrice: 10 }]).map((s) => s.share)).toEqual([0]);
    expect(apportionAmount(500, [])).toEqual([]);
  });

  it("stays exact past 2^53", () => {
    const lines = [
      { quantity: 1, unitPrice: MAX_UNITS },
      { quantity: 999_999, unitPrice: 1_000_000 },
      { quantity: 3, unitPrice: 333_333_333_333 },
    ];
    const shares = apportionAmount(MAX_UNITS - 1, lines);
    expect(shares.reduce((sum, s) => sum + s.share, 0)).toBe(MAX_UNITS - 1);
  });

  it("property: shares add up to the amount exactly, are never negative and rise with the list price", () => {
    fc.assert(
      fc.property(fc.oneof(order(MAX_UNITS), order(1000), order(0)), ({ amount, lines }) => {
        const shares = apportionAmount(amount, lines);
        expect(shares.reduce((sum, s) => sum + s.share, 0)).toBe(amount);
        const listTotal = lines.reduce((sum, l) => sum + BigInt(l.quantity) * BigInt(l.unitPrice), 0n);
        lines.forEach((line, i) => {
          const s = shares[i]!;
          expect(s.unitShare).toBeGreaterThanOrEqual(0);
          expect(s.extraUnits).toBeGreaterThanOrEqual(0);
          expect(s.extraUnits).toBeLessThanOrEqual(line.quantity);
          expect(s.share).toBe(line.quantity * s.unitShare + s.extraUnits);
          // Each unit is its exact share rounded down or up.
          const weight = listTotal > 0n ? BigInt(line.unitPrice) : 1n;
          const total = listTotal > 0n ? listTotal : BigInt(lines.reduce((sum, l) => sum + l.quantity, 0));
          expect(BigInt(s.unitShare)).toBe((BigInt(amount) * weight) / total);
          // A unit listed higher is never paid less than one listed lower; equal prices differ by at most 1.
          lines.forEach((other, j) => {
            const [low] = unitRange(line, s);
            const [otherLow, otherHigh] = unitRange(other, shares[j]!);
            if (line.unitPrice > other.unitPrice) expect(low).toBeGreaterThanOrEqual(otherHigh);
            if (line.unitPrice === other.unitPrice) expect(Math.abs(low - otherLow)).toBeLessThanOrEqual(1);
          });
        });
      }),
    );
  });
});

describe("unitsValue", () => {
  it("property: any split of a line's units adds up to its share, each unit paid unitShare or one more", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_UNITS }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { maxLength: 10 }),
        (share, quantity, cuts) => {
          const points = [0, ...cuts.map((c) => c % quantity), quantity].sort((a, b) => a - b);
          let sum = 0;
          for (let k = 1; k < points.length; k++) sum += unitsValue({ share, quantity }, points[k - 1]!, points[k]!);
          expect(sum).toBe(share);
          const unit = Math.floor(share / quantity);
          const first = unitsValue({ share, quantity }, 0, 1);
          const last = unitsValue({ share, quantity }, quantity - 1, quantity);
          for (const v of [first, last]) expect(v === unit || v === unit + 1).toBe(true);
        },
      ),
    );
  });
});

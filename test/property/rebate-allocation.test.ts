/**
 * Property: rebate allocations add up to the pool exactly, whatever the spends (ties, tiny spends, one
 * member, a pool of 0 or far past the spends), and each member gets its exact share rounded down or up,
 * the round-ups going to the largest remainders, ties to the smaller memberId. Checked against an oracle
 * written apart from src (exact fractions compared by cross-multiplication), and the chunked engine's
 * threshold path against the one-pass function.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocate, distribution, rebatePool, roundsUp, roundUpThreshold, shareOf, toPoints } from "../../src/rebates/allocation";
import { propertySeed } from "../support/seeds";

const spendsArb = fc.uniqueArray(
  fc.record({
    memberId: fc.stringMatching(/^[A-Za-z0-9._:-]{1,6}$/),
    spend: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(100, 1000), fc.integer({ min: 1, max: 2 ** 40 })),
  }),
  { minLength: 1, maxLength: 40, selector: (e) => e.memberId },
);
const poolArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));

/** Oracle: is a's exact remainder share larger than b's? (p*s mod T compared as integers, in BigInt.) */
function remainder(pool: number, spend: number, total: bigint): bigint {
  return (BigInt(pool) * BigInt(spend)) % total;
}

describe("rebate allocation", () => {
  it("adds up to the pool exactly; each share is its exact share rounded down or up, largest remainders first", () => {
    fc.assert(
      fc.property(poolArb, spendsArb, (pool, entries) => {
        const result = allocate(pool, entries);
        expect(result.reduce((sum, a) => sum + a.amount, 0)).toBe(pool);
        const total = BigInt(entries.reduce((sum, e) => sum + e.spend, 0));
        const ups: { id: string; r: bigint }[] = [];
        const downs: { id: string; r: bigint }[] = [];
        for (const a of result) {
          const floor = (BigInt(pool) * BigInt(a.spend)) / total;
          const up = BigInt(a.amount) - floor;
          expect(up === 0n || up === 1n, `${a.memberId} gets floor or floor + 1`).toBe(true);
          (up === 1n ? ups : downs).push({ id: a.memberId, r: remainder(pool, a.spend, total) });
        }
        // No member left at its floor beats one rounded up (larger remainder, or equal and a smaller id).
        for (const u of ups)
          for (const d of downs) expect(d.r < u.r || (d.r === u.r && d.id > u.id), `${d.id} before ${u.id}`).toBe(true);
      }),
      { numRuns: 400, seed: propertySeed(20261129) },
    );
  });

  it("the engine's path (per-member shares, then one threshold) gives the same amounts", () => {
    fc.assert(
      fc.property(poolArb, spendsArb, (pool, entries) => {
        const total = entries.reduce((sum, e) => sum + e.spend, 0);
        const shares = entries.map((e) => ({ ...e, ...shareOf(pool, e.spend, total) }));
        const threshold = roundUpThreshold(shares, pool);
        const chunked = shares.map((s) => s.base + (roundsUp(s, threshold) ? 1 : 0));
        expect(chunked).toEqual(allocate(pool, entries).map((a) => a.amount));
      }),
      { numRuns: 300, seed: propertySeed(7) },
    );
  });

  it("the pool is floor(netProfit * shareBps / 10000), 0 without profit; points round down", () => {
    expect(rebatePool(100_000_000, 1000)).toBe(10_000_000);
    expect(rebatePool(9_999, 1)).toBe(0);
    expect(rebatePool(0, 10_000)).toBe(0);
    expect(rebatePool(-100, 10_000)).toBe(0);
    expect(rebatePool(Number.MAX_SAFE_INTEGER, 10_000)).toBe(Number.MAX_SAFE_INTEGER);
    expect(rebatePool(Number.MAX_SAFE_INTEGER, 3)).toBe(Number((BigInt(Number.MAX_SAFE_INTEGER) * 3n) / 10_000n));
    expect(toPoints(3_333_334, { points: 1, amount: 100 })).toEqual({ points: 33_333, unconverted: 34 });
    // 428 points are worth 428 * 7 / 3 = 998.67, valued 998 (rounded down as every point value is): 1 left.
    expect(toPoints(999, { points: 3, amount: 7 })).toEqual({ points: 428, unconverted: 1 });
    expect(allocate(0, [{ memberId: "a", spend: 5 }])).toEqual([{ memberId: "a", spend: 5, amount: 0 }]);
    expect(distribution([5, 1, 3, 2])).toEqual({ min: 1, median: 2, max: 5 });
    expect(distribution([])).toBeNull();
  });
});

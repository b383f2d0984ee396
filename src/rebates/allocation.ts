/**
 * Rebate maths, exact and pure. The pool is floor(netProfit * shareBps / 10000); each eligible member gets
 * floor(pool * spend / totalSpend), and the units those floors leave over go one each to the largest
 * remainders (ties: the smaller memberId), so the allocations add up to the pool exactly. Products use
 * BigInt: pool * spend may pass 2^53 even when both fit.
 *
 * @example
 * allocate(100_000_00, [{ memberId: "a", spend: 500 }, { memberId: "b", spend: 300 }, { memberId: "c", spend: 200 }])
 * // [{ memberId: "a", spend: 500, amount: 5_000_000 }, ...]
 */

export const BPS_DENOMINATOR = 10_000;

/** floor(netProfit * shareBps / 10000); 0 when there is no profit to share. */
export function rebatePool(netProfit: number, shareBps: number): number {
  if (netProfit <= 0) return 0;
  return Number((BigInt(netProfit) * BigInt(shareBps)) / BigInt(BPS_DENOMINATOR));
}

/** A member's floor share of the pool and what the floor left over (remainder < totalSpend). */
export function shareOf(pool: number, spend: number, totalSpend: number): { base: number; remainder: number } {
  if (totalSpend <= 0) return { base: 0, remainder: 0 };
  const product = BigInt(pool) * BigInt(spend);
  const total = BigInt(totalSpend);
  return { base: Number(product / total), remainder: Number(product % total) };
}

/** Orders remainders for rounding up: larger remainder first, then the smaller memberId (byte order, as SQL). */
export function roundsUpBefore(a: RankedShare, b: RankedShare): number {
  if (a.remainder !== b.remainder) return b.remainder - a.remainder;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

export interface SpendEntry {
  memberId: string;
  spend: number;
}

export interface RankedShare extends SpendEntry {
  base: number;
  remainder: number;
}

export interface Allocation extends SpendEntry {
  amount: number;
}

/** The last share that rounds up (null: none does); a share rounds up when it sorts at or before it. */
export function roundUpThreshold(shares: readonly RankedShare[], pool: number): RankedShare | null {
  const left = pool - shares.reduce((sum, s) => sum + s.base, 0);
  if (left <= 0) return null;
  return [...shares].sort(roundsUpBefore)[left - 1] ?? null;
}

/** Whether a share rounds up, given the threshold (see roundUpThreshold). */
export function roundsUp(share: RankedShare, threshold: Pick<RankedShare, "memberId" | "remainder"> | null): boolean {
  if (!threshold) return false;
  return roundsUpBefore(share, { ...share, ...threshold }) <= 0;
}

/** Splits `pool` across members in proportion to their spend; amounts add up to the pool (0 with no spend). */
export function allocate(pool: number, entries: readonly SpendEntry[]): Allocation[] {
  const total = entries.reduce((sum, e) => sum + e.spend, 0);
  const shares = entries.map((e) => ({ ...e, ...shareOf(pool, e.spend, total) }));
  const threshold = total > 0 ? roundUpThreshold(shares, pool) : null;
  return shares.map((s) => ({ memberId: s.memberId, spend: s.spend, amount: s.base + (roundsUp(s, threshold) ? 1 : 0) }));
}

/** Points a money amount buys at the program's point value, rounded down, and the money they do not cover. */
export function toPoints(
  amount: number,
  pointValue: { points: number; amount: number },
): { points: number; unconverted: number } {
  const points = Number((BigInt(amount) * BigInt(pointValue.points)) / BigInt(pointValue.amount));
  const covered = Number((BigInt(points) * BigInt(pointValue.amount)) / BigInt(pointValue.points));
  return { points, unconverted: amount - covered };
}

export interface Distribution {
  min: number;
  median: number;
  max: number;
}

/** Min, (lower) median and max of allocated amounts; null when there are none. */
export function distribution(amounts: readonly number[]): Distribution | null {
  if (amounts.length === 0) return null;
  const sorted = [...amounts].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor((sorted.length - 1) / 2)]!, max: sorted[sorted.length - 1]! };
}

/**
 * The rank an order's points are computed at. By default the member's tier before the order: the order that
 * crosses a threshold earns at the old rate. With upgradeAppliesToQualifyingOrder, the tier the order itself
 * reaches; under the `points` metric the richer rate adds points, which may reach further, so the rank is
 * found as a fixed point (it only grows and is bounded by the ladder).
 */
import { type Ladder, rankForValue } from "./ladder";

/**
 * @param cachedValue the member's metric in today's window before the order
 * @param shareAt the order's contribution to the metric when its points are computed at a rank
 * @example earningRank(ladder, 0, 900, () => 200) // 1 when tier 1 starts at 1000 and the upgrade applies
 */
export function earningRank(ladder: Ladder, currentRank: number, cachedValue: number, shareAt: (rank: number) => number): number {
  if (!ladder.upgradeAppliesToQualifyingOrder) return currentRank;
  let rank = currentRank;
  for (let step = 0; step < ladder.tiers.length; step++) {
    const next = Math.max(currentRank, rankForValue(ladder, cachedValue + shareAt(rank)));
    if (next === rank) break;
    rank = next;
  }
  return rank;
}

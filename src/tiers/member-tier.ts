/** A member's tier status as the member sees it: pure, from the stored state and the metric today. */
import { toIso, toIsoOrNull } from "../platform/clock";
import { type Ladder, rankOfTier, tierAt } from "./ladder";

export interface MemberTierState {
  memberId: string;
  tierId: string | null;
  qualifiedUntil: number | null;
  manual: boolean;
  manualUntil: number | null;
  /** The metric over today's window. */
  value: number;
  /** First day of today's window, a day key. */
  windowStartKey: string;
}

const ref = (t: { id: string; name: string; threshold: number }) => ({ id: t.id, name: t.name, threshold: t.threshold });

/**
 * @example memberTierBody(ladder, { tierId: "silver", value: 700, ... })
 * // { current: silver, next: gold, progress: { value: 700, threshold: 1000, remaining: 300 }, retain: {...} }
 */
export function memberTierBody(ladder: Ladder, s: MemberTierState) {
  const rank = rankOfTier(ladder, s.tierId);
  const current = tierAt(ladder, rank);
  const next = ladder.tiers[rank + 1] ?? null;
  const target = next ?? current;
  const keepBy = s.manual ? s.manualUntil : s.qualifiedUntil;
  return {
    memberId: s.memberId,
    current: ref(current),
    next: next ? ref(next) : null,
    progress: {
      metric: ladder.metric,
      value: s.value,
      threshold: target.threshold,
      remaining: next ? Math.max(0, next.threshold - s.value) : 0,
    },
    window: { from: s.windowStartKey.slice(1) },
    qualifiedUntil: rank > 0 ? toIsoOrNull(s.qualifiedUntil) : null,
    retain:
      rank > 0 && keepBy !== null
        ? { threshold: current.threshold, remaining: Math.max(0, current.threshold - s.value), by: toIso(keepBy) }
        : null,
    manual: s.manual ? { until: toIsoOrNull(s.manualUntil) } : null,
  };
}

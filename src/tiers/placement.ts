/**
 * Where a review or a ladder change puts a member: pure decisions over the member's stored tier state and
 * its metric, which the jobs read in chunks and write back with conditional statements.
 *
 * Both look at the better of two windows: the current one, and the one before it (for a review: the one
 * that ended when the status lapsed). Status earned in a window holds through the next one, so a review in
 * January judges the year that just ended, not the first days of the new one.
 */
import type { TierChangeReason } from "../db/enums";
import { type Ladder, landingValidUntil, rankForValue, rankOfTier, tierAt } from "./ladder";

/** A member's tier columns as stored (members.tier_*). */
export interface MemberTierRow {
  id: string;
  tierId: string | null;
  qualifiedUntil: number | null;
  manual: boolean;
  manualUntil: number | null;
  version: number;
  /**
   * The threshold of the tier held, under the ladder version that placed the member (null when unknown or on
   * another metric): a status that still holds proves the member reached it.
   */
  heldThreshold?: number | null;
}

/** The metric over the current window and over the window judged before it. */
export interface WindowValues {
  current: number;
  previous: number;
}

export interface Placement {
  toTier: string;
  qualifiedUntil: number | null;
  manual: boolean;
  manualUntil: number | null;
  /** Null when the member stays where they are (only the status dates move). */
  change: { reason: TierChangeReason; detail: string } | null;
}

const isoDay = (at: number) => new Date(at).toISOString().slice(0, 10);

function reached(ladder: Ladder, values: WindowValues): { rank: number; value: number } {
  const value = Math.max(values.current, values.previous);
  return { rank: rankForValue(ladder, value), value };
}

/** The stored tier, as the ladder knows it (the lowest when never placed or no longer in the ladder). */
function heldTier(ladder: Ladder, row: MemberTierRow): string {
  return tierAt(ladder, rankOfTier(ladder, row.tierId)).id;
}

function placed(
  ladder: Ladder,
  row: MemberTierRow,
  rank: number,
  at: number,
  timezone: string,
  detail: string,
  reason: TierChangeReason,
): Placement {
  const toTier = tierAt(ladder, rank).id;
  return {
    toTier,
    qualifiedUntil: rank > 0 ? landingValidUntil(ladder, at, timezone) : null,
    manual: false,
    manualUntil: null,
    change: toTier === row.tierId || (row.tierId === null && rank === 0) ? null : { reason, detail },
  };
}

/**
 * A member due for review: a manual tier that ended returns to what the metric earns; a lapsed status moves
 * down to what the metric earns, by at most `downgradeSteps` tiers, never up (upgrades happen at orders).
 *
 * @example reviewPlacement(ladder, { tierId: "gold", qualifiedUntil: lapse, manual: false, ... }, { current: 0, previous: 0 }, at, tz)
 * // { toTier: "silver", change: { reason: "review", ... } } with downgradeSteps 1
 */
export function reviewPlacement(
  ladder: Ladder,
  row: MemberTierRow,
  values: WindowValues,
  at: number,
  timezone: string,
): Placement {
  const { rank: target, value } = reached(ladder, values);
  const metric = `${ladder.metric} ${value} reaches ${tierAt(ladder, target).id}`;
  if (row.manual) return placed(ladder, row, target, at, timezone, `manual tier ended; ${metric}`, "review");
  const held = rankOfTier(ladder, row.tierId);
  const rank = Math.min(held, Math.max(target, held - ladder.downgradeSteps));
  const lapsed = row.qualifiedUntil === null ? "" : ` on ${isoDay(row.qualifiedUntil)}`;
  const detail = `status lapsed${lapsed}; ${metric}; down at most ${ladder.downgradeSteps}`;
  return placed(ladder, row, rank, at, timezone, detail, "review");
}

/**
 * A member under a changed ladder: placed by the new thresholds; a manual tier still in the ladder and not
 * ended stays. A status that still holds is honoured until it lapses: the member keeps at least the tier the
 * new thresholds give the value it proves (its tier's threshold under the version that placed it), never above
 * the tier it holds, with its status date unchanged. The two windows alone would demote a member whose status was reached over a rolling
 * window that straddles them, or landed by a review at most `steps` down, under thresholds that did not move.
 */
export function ladderPlacement(
  ladder: Ladder,
  row: MemberTierRow,
  values: WindowValues,
  at: number,
  timezone: string,
): Placement {
  const manualHolds = row.manual && ladder.tiers.some((t) => t.id === row.tierId) && (row.manualUntil ?? Infinity) > at;
  if (manualHolds)
    return {
      toTier: heldTier(ladder, row),
      qualifiedUntil: row.qualifiedUntil,
      manual: true,
      manualUntil: row.manualUntil,
      change: null,
    };
  const { rank, value } = reached(ladder, values);
  const holds = row.heldThreshold != null && !row.manual && row.qualifiedUntil !== null && row.qualifiedUntil > at;
  // Never above the tier held, where the new ladder keeps it: an order may have moved the member up under a
  // later version than the one `heldThreshold` was read from.
  const cap = ladder.tiers.some((t) => t.id === row.tierId) ? rankOfTier(ladder, row.tierId) : ladder.tiers.length - 1;
  const proven = holds ? Math.min(cap, rankForValue(ladder, Number(row.heldThreshold))) : 0;
  if (proven > rank) {
    const toTier = tierAt(ladder, proven).id;
    const detail = `ladder version ${ladder.version}: status until ${isoDay(Number(row.qualifiedUntil))} proves ${ladder.metric} ${row.heldThreshold}, which reaches ${toTier}`;
    return {
      toTier,
      qualifiedUntil: row.qualifiedUntil,
      manual: false,
      manualUntil: null,
      change: toTier === row.tierId ? null : { reason: "ladder_change", detail },
    };
  }
  const detail = `ladder version ${ladder.version}: ${ladder.metric} ${value} reaches ${tierAt(ladder, rank).id}`;
  return placed(ladder, row, rank, at, timezone, detail, "ladder_change");
}

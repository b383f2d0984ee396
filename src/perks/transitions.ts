/**
 * What changed in a member's perk since it was last recorded, and the reason written with it: pure.
 * Unlocks and lapses are recorded when they are first observed (a read of the member's perks, a use, or
 * the perk-lapse job), with the instant the lapse really happened, even when the member has ordered since.
 */
import type { ConditionProgress } from "./unlock";

export interface StoredPerkState {
  unlocked: boolean;
  lapsedAt: number | null;
}

export interface PerkTransition {
  kind: "unlocked" | "lapsed" | "locked";
  /** For lapses: the instant the perk lapsed (the member's streak counts months after it). */
  at: number;
  reason: string;
}

/** The stored state a transition leaves. */
export function transitionState(stored: StoredPerkState | undefined, t: PerkTransition): StoredPerkState {
  return { unlocked: t.kind === "unlocked", lapsedAt: t.kind === "lapsed" ? t.at : (stored?.lapsedAt ?? null) };
}

const describe = (p: ConditionProgress) => `${p.condition} ${p.current ?? "none"} of ${p.required}`;

export interface PerkStatusSeen {
  unlocked: boolean;
  lapsed: boolean;
  lapseAt: number | null;
  /** A lapse the member has since ordered after (perkStatus), recorded when it is later than the stored one. */
  missedLapseAt: number | null;
  progress: ConditionProgress[];
}

/**
 * The transitions to record, in order: a lapse (current, or missed and ordered after since), then an unlock or
 * a lock when the perk's state after it differs from what it is now.
 */
export function perkTransitions(
  stored: StoredPerkState | undefined,
  status: PerkStatusSeen,
  lapseDays: number | null,
  at: number,
): PerkTransition[] {
  const recorded = stored?.lapsedAt ?? Number.NEGATIVE_INFINITY;
  const lapse = (instant: number): PerkTransition => ({ kind: "lapsed", at: instant, reason: `no order for ${lapseDays} days` });
  // A lapse is recorded once per gap in orders, unlocked before or not: its streak starts over after it.
  if (status.lapsed && status.lapseAt !== null && recorded < status.lapseAt) return [lapse(status.lapseAt)];
  const transitions: PerkTransition[] = [];
  let was = stored?.unlocked ?? false;
  if (status.missedLapseAt !== null && recorded < status.missedLapseAt) {
    transitions.push(lapse(status.missedLapseAt));
    was = false;
  }
  if (status.unlocked && !was) {
    const met = status.progress.map(describe).join(", ");
    transitions.push({ kind: "unlocked", at, reason: met ? `conditions met: ${met}` : "no conditions" });
  } else if (!status.unlocked && was && !status.lapsed) {
    const unmet = status.progress
      .filter((p) => !p.met)
      .map(describe)
      .join(", ");
    transitions.push({ kind: "locked", at, reason: `condition no longer met: ${unmet}` });
  }
  return transitions;
}

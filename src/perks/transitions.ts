/**
 * What changed in a member's perk since it was last recorded, and the reason written with it: pure.
 * Unlocks and lapses are recorded when they are first observed (a read of the member's perks, a use, or
 * the perk-lapse job), with the instant the lapse really happened.
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

const describe = (p: ConditionProgress) => `${p.condition} ${p.current ?? "none"} of ${p.required}`;

export function perkTransition(
  stored: StoredPerkState | undefined,
  status: { unlocked: boolean; lapsed: boolean; lapseAt: number | null; progress: ConditionProgress[] },
  lapseDays: number | null,
  at: number,
): PerkTransition | null {
  const was = stored?.unlocked ?? false;
  // A lapse is recorded once per gap in orders, unlocked before or not: its streak starts over after it.
  if (status.lapsed && status.lapseAt !== null && (stored?.lapsedAt ?? Number.NEGATIVE_INFINITY) < status.lapseAt)
    return { kind: "lapsed", at: status.lapseAt, reason: `no order for ${lapseDays} days` };
  if (status.unlocked && !was) {
    const met = status.progress.map(describe).join(", ");
    return { kind: "unlocked", at, reason: met ? `conditions met: ${met}` : "no conditions" };
  }
  if (!status.unlocked && was && !status.lapsed) {
    const unmet = status.progress
      .filter((p) => !p.met)
      .map(describe)
      .join(", ");
    return { kind: "locked", at, reason: `condition no longer met: ${unmet}` };
  }
  return null;
}

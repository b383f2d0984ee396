/** The ladder as stored: input to rows, rows to the reply, and whether a new ladder changes anything. */
import { factorToBps } from "../earning/rule-set";
import type { Ladder, TierDef } from "./ladder";
import type { LadderInput } from "./schemas";

/** The ladder an input describes, at a version. */
export function ladderFromInput(input: LadderInput, version: number): Ladder {
  return {
    metric: input.metric,
    window: input.window,
    tiers: input.tiers.map(
      (t): TierDef => ({ id: t.id, name: t.name, threshold: t.threshold, earnMultiplierBps: factorToBps(t.earnMultiplier) }),
    ),
    graceDays: input.downgrade.graceDays,
    downgradeSteps: input.downgrade.steps,
    upgradeAppliesToQualifyingOrder: input.upgradeAppliesToQualifyingOrder,
    version,
  };
}

/** The reply body of a ladder. */
export function ladderBody(ladder: Ladder) {
  return {
    metric: ladder.metric,
    window: ladder.window,
    tiers: ladder.tiers.map((t) => ({
      id: t.id,
      name: t.name,
      threshold: t.threshold,
      earnMultiplier: t.earnMultiplierBps / 10_000,
    })),
    downgrade: { graceDays: ladder.graceDays, steps: ladder.downgradeSteps },
    upgradeAppliesToQualifyingOrder: ladder.upgradeAppliesToQualifyingOrder,
    version: ladder.version,
  };
}

/**
 * Same rules of placement (names and multipliers aside): members need not be re-placed. The downgrade rules
 * (graceDays, steps) are not among them: placement never reads them, and re-placing judges every member on
 * two fixed windows again, which would demote a member whose status still holds (reached over a rolling
 * window that straddles them, or landed by a review at most `steps` down) under unchanged thresholds. The
 * review reads them from the ladder on every run, so they apply at once without a new version.
 */
export function samePlacementRules(a: Ladder | null, b: Ladder): boolean {
  if (!a) return false;
  const shape = (l: Ladder) => JSON.stringify([l.metric, l.window, l.tiers.map((t) => [t.id, t.threshold])]);
  return shape(a) === shape(b);
}

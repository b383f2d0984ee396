/** What a new ladder would do to the members, counted from the same decisions a ladder change writes. */
import type { RequestScope } from "../platform/scope";
import { previewPage } from "./chunks";
import { type Ladder, rankOfTier, tierAt } from "./ladder";
import { ladderFromInput } from "./ladder-write";
import type { LadderInput } from "./schemas";

/** Members read per page: bounded memory whatever the size of the program. */
const PREVIEW_PAGE = 2000;
const SAMPLE = 100;

/** The threshold of the tier a member holds under a ladder (the lowest when never placed). */
const heldThreshold = (ladder: Ladder | null, tierId: string | null) =>
  ladder ? tierAt(ladder, rankOfTier(ladder, tierId)).threshold : 0;

export async function previewLadder(scope: RequestScope, old: Ladder | null, input: LadderInput) {
  const ladder = ladderFromInput(input, (old?.version ?? 0) + 1);
  const counts = new Map(ladder.tiers.map((t) => [t.id, 0]));
  const sample: { memberId: string; from: string; to: string }[] = [];
  let members = 0;
  let movesUp = 0;
  let movesDown = 0;
  let afterId = "";
  const chunk = {
    db: scope.db,
    merchantId: scope.merchant.id,
    timezone: scope.merchant.timezone,
    ladder,
    at: scope.at,
    limit: PREVIEW_PAGE,
  };
  for (;;) {
    const decided = await previewPage(chunk, afterId);
    for (const { row, placement } of decided) {
      members += 1;
      counts.set(placement.toTier, (counts.get(placement.toTier) ?? 0) + 1);
      const from = old ? tierAt(old, rankOfTier(old, row.tierId)).id : null;
      if (from === placement.toTier) continue;
      const before = heldThreshold(old, row.tierId);
      const after = heldThreshold(ladder, placement.toTier);
      if (after > before) movesUp += 1;
      if (after < before) movesDown += 1;
      if (after !== before && sample.length < SAMPLE) sample.push({ memberId: row.id, from: from ?? "", to: placement.toTier });
    }
    if (decided.length < PREVIEW_PAGE) break;
    afterId = decided[decided.length - 1]?.row.id ?? afterId;
  }
  return {
    members,
    tiers: ladder.tiers.map((t) => ({ id: t.id, name: t.name, members: counts.get(t.id) ?? 0 })),
    movesUp,
    movesDown,
    sample,
  };
}

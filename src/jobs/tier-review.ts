/**
 * tier-review: for every merchant with a ladder, first re-places members not yet placed under the current
 * ladder version (after PUT /v1/tiers), then reviews members whose status lapsed (qualifiedUntil plus
 * graceDays) or whose manual tier ended. Chosen by state, so a run that did not happen for days simply
 * finds more members due, and a repeated or overlapping run changes nobody twice (tiers/chunks.ts).
 */
import { prepare, sql } from "../platform/d1/sql";
import { placementChunk, reviewChunk } from "../tiers/chunks";
import { type LadderRow, ladderFromRow, ladderQuery } from "../tiers/ladder-row";
import type { Job } from "./types";

export const tierReviewJob: Job = {
  name: "tier-review",
  description: "Re-places members after a ladder change, and moves lapsed statuses down by at most the ladder's steps.",
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? sql`AND l.merchant_id = ${scope.merchantId}` : sql``;
    const { results } = await prepare(
      db,
      sql`SELECT l.merchant_id AS merchantId, m.timezone FROM tier_ladders l JOIN merchants m ON m.id = l.merchant_id
        WHERE 1 = 1 ${merchantFilter}`,
    ).all<{ merchantId: string; timezone: string }>();
    let processed = 0;
    let changed = 0;
    let more = false;
    for (const { merchantId, timezone } of results) {
      const ladder = ladderFromRow(await prepare(db, ladderQuery(sql`${merchantId}`)).first<LadderRow>());
      if (!ladder) continue;
      const chunk = { db, merchantId, timezone, ladder, at, limit };
      // Placement first: a member is reviewed under the ladder it was placed by.
      const placed = await placementChunk(chunk);
      const reviewed = placed.more ? { processed: 0, changed: 0, more: true } : await reviewChunk(chunk);
      processed += placed.processed + reviewed.processed;
      changed += placed.changed + reviewed.changed;
      more ||= placed.more || reviewed.more;
    }
    return { processed, changed, more };
  },
};

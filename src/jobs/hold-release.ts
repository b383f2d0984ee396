/**
 * Releases holds past their time (HOLD_TTL_MS). Each hold is released in its own batch guarded by a
 * compare-and-set on its status, so overlapping or repeated runs release a hold once.
 */

import { HOLD_TTL_TEXT } from "../ledger/holds";
import { prepare, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { returnStatements } from "../redemptions/service";
import type { Job } from "./types";

interface DueHold {
  id: string;
  merchant_id: string;
  member_id: string;
  points: number;
  order_id: string | null;
  asset: "points" | "credit";
}

export const holdReleaseJob: Job = {
  name: "hold-release",
  description: `Holds not captured or cancelled within ${HOLD_TTL_TEXT} are released.`,
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? sql`AND merchant_id = ${scope.merchantId}` : sql``;
    const { results } = await prepare(
      db,
      sql`SELECT id, merchant_id, member_id, points, order_id, asset FROM redemptions
         WHERE status = 'held' AND hold_expires_at <= ${at} ${merchantFilter}
         ORDER BY hold_expires_at LIMIT ${limit}`,
    ).all<DueHold>();
    let processed = 0;
    for (const hold of results) {
      const redemption = {
        id: hold.id,
        memberId: hold.member_id,
        points: hold.points,
        status: "held" as const,
        orderId: hold.order_id,
        asset: hold.asset,
      };
      try {
        await db.batch(returnStatements(db, hold.merchant_id, redemption, "released", at));
        processed++;
      } catch (error) {
        // Captured or cancelled meanwhile (the status guard fired): nothing to release.
        const failure = classifyBatchError(error);
        if (!(failure.kind === "guard" && failure.reason === "conflict")) throw error;
      }
    }
    return { processed, more: results.length === limit };
  },
};

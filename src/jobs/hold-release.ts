/**
 * Releases holds older than 15 minutes. Each hold is released in its own batch guarded by a
 * compare-and-set on its status, so overlapping or repeated runs release a hold once.
 */
import { classifyBatchError } from "../platform/db";
import { IdempotentWrite } from "../platform/idempotency";
import { returnStatements } from "../redemptions/service";
import type { Job } from "./types";

interface DueHold {
  id: string;
  merchant_id: string;
  member_id: string;
  points: number;
  order_id: string | null;
}

export const holdReleaseJob: Job = {
  name: "hold-release",
  description: "Holds not captured or cancelled within 15 minutes are released.",
  async runChunk(db, at, scope, limit) {
    const { results } = await db
      .prepare(
        `SELECT id, merchant_id, member_id, points, order_id FROM redemptions
         WHERE status = 'held' AND hold_expires_at <= ?1 ${scope.merchantId ? "AND merchant_id = ?3" : ""}
         ORDER BY hold_expires_at LIMIT ?2`,
      )
      .bind(at, limit, ...(scope.merchantId ? [scope.merchantId] : []))
      .all<DueHold>();
    let processed = 0;
    for (const hold of results) {
      const statements = returnStatements(
        db,
        new IdempotentWrite(db, undefined, at),
        hold.merchant_id,
        { id: hold.id, memberId: hold.member_id, points: hold.points, status: "held", orderId: hold.order_id },
        "released",
        at,
      );
      try {
        await db.batch(statements);
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

/**
 * Releases holds older than 15 minutes. Each hold is released in its own batch guarded by a
 * compare-and-set on its status, so overlapping or repeated runs release a hold once.
 */
import { returnStatements } from "../redemptions/service";
import { IdempotentWrite } from "../platform/idempotency";
import { classifyBatchError } from "../platform/db";

interface DueHold {
  id: string;
  merchant_id: string;
  member_id: string;
  points: number;
  order_id: string | null;
}

export interface ChunkResult {
  processed: number;
  skipped: number;
  /** More due items may remain. */
  more: boolean;
}

export async function releaseExpiredHolds(db: D1Database, at: number, limit = 100): Promise<ChunkResult> {
  const { results } = await db
    .prepare(
      `SELECT id, merchant_id, member_id, points, order_id FROM redemptions
       WHERE status = 'held' AND hold_expires_at <= ?1 ORDER BY hold_expires_at LIMIT ?2`,
    )
    .bind(at, limit)
    .all<DueHold>();
  let processed = 0;
  let skipped = 0;
  for (const hold of results) {
    const write = new IdempotentWrite(db, undefined, at);
    const statements = returnStatements(
      db,
      write,
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
      if (failure.kind === "guard" && failure.reason === "conflict") skipped++;
      else throw error;
    }
  }
  return { processed, skipped, more: results.length === limit };
}

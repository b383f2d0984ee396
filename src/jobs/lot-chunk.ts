/** Shared by the jobs that work on due lots (pending release, expiry). */
import type { LotScope } from "../ledger/lifecycle";
import type { ChunkResult, JobScope } from "./types";

/**
 * The `limit` lots that `dueSql` selects, soonest first, optionally for one merchant. `dueSql` is a
 * WHERE condition on point_lots using ?2 for now; `order` the column to take them in.
 */
export function dueLots(dueSql: string, order: string, at: number, scope: JobScope, limit: number): LotScope {
  const merchantFilter = scope.merchantId ? "AND merchant_id = ?4" : "";
  return {
    sql: `SELECT id FROM point_lots WHERE ${dueSql} ${merchantFilter} ORDER BY ${order} LIMIT ?3`,
    binds: [at, limit, ...(scope.merchantId ? [scope.merchantId] : [])],
  };
}

/** Runs one chunk's batch; its first statement's changes are the lots handled. */
export async function runLotChunk(db: D1Database, statements: D1PreparedStatement[], limit: number): Promise<ChunkResult> {
  const [picked] = await db.batch(statements);
  const processed = picked?.meta.changes ?? 0;
  return { processed, more: processed === limit };
}

/** Shared by the jobs that work on due lots (pending release, expiry). */
import type { LotScope } from "../ledger/lifecycle";
import { type Sql, sql } from "../platform/d1/sql";
import type { ChunkResult, JobScope } from "./types";

/** The `limit` lots that `due` selects, soonest first by `order`, optionally for one merchant. */
export function dueLots(due: Sql, order: Sql, scope: JobScope, limit: number): LotScope {
  const merchantFilter = scope.merchantId ? sql`AND merchant_id = ${scope.merchantId}` : sql``;
  return sql`SELECT id FROM point_lots WHERE ${due} ${merchantFilter} ORDER BY ${order} LIMIT ${limit}`;
}

/** Runs one chunk's batch; its first statement's changes are the lots handled. */
export async function runLotChunk(db: D1Database, statements: D1PreparedStatement[], limit: number): Promise<ChunkResult> {
  const [picked] = await db.batch(statements);
  const processed = picked?.meta.changes ?? 0;
  return { processed, more: processed === limit };
}

/**
 * Housekeeping: idempotency keys are kept 7 days (the contract promises at least 24 hours) and expired
 * member tokens are dropped, so neither table grows without bound.
 */
import { DAY_MS } from "../platform/clock";
import type { Job } from "./types";

export const IDEMPOTENCY_RETENTION_MS = 7 * DAY_MS;

export const housekeepingJob: Job = {
  name: "housekeeping",
  description: "Idempotency keys older than 7 days and expired member tokens are deleted.",
  async runChunk(db, at, scope, limit) {
    const merchant = scope.merchantId ? "AND merchant_id = ?3" : "";
    const binds = (cutoff: number) => [cutoff, limit, ...(scope.merchantId ? [scope.merchantId] : [])];
    const [keys, tokens] = await db.batch([
      db
        .prepare(
          `DELETE FROM idempotency_keys WHERE rowid IN (
             SELECT rowid FROM idempotency_keys WHERE created_at < ?1 ${merchant} ORDER BY created_at LIMIT ?2)`,
        )
        .bind(...binds(at - IDEMPOTENCY_RETENTION_MS)),
      db
        .prepare(
          `DELETE FROM member_tokens WHERE rowid IN (
             SELECT rowid FROM member_tokens WHERE expires_at < ?1 ${merchant} ORDER BY expires_at LIMIT ?2)`,
        )
        .bind(...binds(at)),
    ]);
    const deletedKeys = keys?.meta.changes ?? 0;
    const deletedTokens = tokens?.meta.changes ?? 0;
    return { processed: deletedKeys + deletedTokens, more: deletedKeys === limit || deletedTokens === limit };
  },
};

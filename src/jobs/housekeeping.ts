/**
 * Housekeeping: idempotency keys are kept 7 days (the contract promises at least 24 hours) and expired
 * member tokens are dropped, so neither table grows without bound.
 */
import { DAY_MS } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
import type { Job } from "./types";

export const IDEMPOTENCY_RETENTION_DAYS = 7;
export const IDEMPOTENCY_RETENTION_MS = IDEMPOTENCY_RETENTION_DAYS * DAY_MS;

export const housekeepingJob: Job = {
  name: "housekeeping",
  description: `Idempotency keys older than ${IDEMPOTENCY_RETENTION_DAYS} days and expired member tokens are deleted.`,
  async runChunk(db, at, scope, limit) {
    const merchant = scope.merchantId ? sql`AND merchant_id = ${scope.merchantId}` : sql``;
    const [keys, tokens] = await db.batch([
      prepare(
        db,
        // By key: the table has no rowid (migrations/0014_without_rowid.sql).
        sql`DELETE FROM idempotency_keys WHERE (merchant_id, key) IN (SELECT merchant_id, key FROM idempotency_keys
          WHERE created_at < ${at - IDEMPOTENCY_RETENTION_MS} ${merchant} ORDER BY created_at LIMIT ${limit})`,
      ),
      prepare(
        db,
        sql`DELETE FROM member_tokens WHERE rowid IN (SELECT rowid FROM member_tokens
          WHERE expires_at < ${at} ${merchant} ORDER BY expires_at LIMIT ${limit})`,
      ),
    ]);
    const deletedKeys = keys?.meta.changes ?? 0;
    const deletedTokens = tokens?.meta.changes ?? 0;
    return { processed: deletedKeys + deletedTokens, more: deletedKeys === limit || deletedTokens === limit };
  },
};

/**
 * The checkout tables are WITHOUT ROWID (migrations/0014_without_rowid.sql): one B-tree per table instead
 * of a rowid table plus its key index, so an order writes and reads fewer D1 rows. drizzle's schema cannot
 * say so, and a later migration that rebuilds one of these tables from it would silently drop the clause:
 * this test is what notices.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const CLUSTERED = [
  "idempotency_keys",
  "ledger_entries",
  "lot_moves",
  "member_periods",
  "member_stamps",
  "orders",
  "point_lots",
  "redemptions",
  "refunds",
  "rule_usage",
];

describe("checkout tables without rowid", () => {
  it("every checkout table is keyed by its primary key alone", async () => {
    const { results } = await env.DB.prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID'`,
    ).all<{ name: string }>();
    expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(CLUSTERED));
    // No separate index backs their keys.
    const { results: keyIndexes } = await env.DB.prepare(
      `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'sqlite_autoindex_%'
         AND tbl_name IN (${CLUSTERED.map(() => "?").join(", ")})`,
    )
      .bind(...CLUSTERED)
      .all();
    expect(keyIndexes).toEqual([]);
  });

  it("a row costs one B-tree entry: an insert writes the row and its secondary index, a key lookup reads one row", async () => {
    const insert = await env.DB.prepare(
      `INSERT INTO idempotency_keys (merchant_id, key, request_hash, created_at) VALUES ('m-clustered', 'k', 'h', 0)`,
    ).run();
    // A rowid table would also write its key index: 3 rows.
    expect(insert.meta.rows_written).toBe(2);
    const lookup = await env.DB.prepare(
      `SELECT request_hash FROM idempotency_keys WHERE merchant_id = 'm-clustered' AND key = 'k'`,
    ).run();
    expect(lookup.meta.rows_read).toBe(1);
  });
});

/**
 * An order's insert carries its batch's first checks (migrations/0015_order_guard.sql): a non-null `guard`
 * aborts the batch with that reason, read back as any batch guard, and undoes what came before it.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GUARD, guardReasonSql } from "../../src/platform/d1/guard";
import { prepare, type Sql, sql } from "../../src/platform/d1/sql";
import { classifyBatchError } from "../../src/platform/db";

const merchantId = "m_order_guard";

function orderInsert(id: string, guard: Sql) {
  return prepare(
    env.DB,
    sql`INSERT INTO orders (merchant_id, id, member_id, amount, currency, occurred_at, points_earned, awards, created_at, guard)
      VALUES (${merchantId}, ${id}, 'alice', 100, 'CNY', 1, 0, '[]', 1, ${guard})`,
  );
}

const count = async (id: string) =>
  (
    await env.DB.prepare("SELECT COUNT(*) AS n FROM orders WHERE merchant_id = ? AND id = ?").bind(merchantId, id).first<{
      n: number;
    }>()
  )?.n;

describe("orders.guard", () => {
  it("no failing check: the order is stored, with guard null", async () => {
    await orderInsert("passes", guardReasonSql([[GUARD.stale, sql`1 = 0`]])).run();
    const row = await env.DB.prepare("SELECT guard FROM orders WHERE merchant_id = ? AND id = 'passes'").bind(merchantId).first();
    expect(row).toEqual({ guard: null });
  });

  it("the first failing check's reason aborts the batch and undoes the statements before it", async () => {
    const before = prepare(
      env.DB,
      sql`INSERT INTO members (merchant_id, id, enrolled_at, updated_at) VALUES (${merchantId}, 'enrolled-first', 1, 1)`,
    );
    const guard = guardReasonSql([
      [GUARD.keyRevoked, sql`1 = 0`],
      [GUARD.stale, sql`1 = 1`],
      [GUARD.conflict, sql`1 = 1`],
    ]);
    const error = await env.DB.batch([before, orderInsert("aborted", guard)]).catch((e: unknown) => e);
    expect(classifyBatchError(error)).toEqual({ kind: "guard", reason: GUARD.stale });
    expect(await count("aborted")).toBe(0);
    const member = await env.DB.prepare("SELECT id FROM members WHERE merchant_id = ? AND id = 'enrolled-first'")
      .bind(merchantId)
      .first();
    expect(member).toBeNull();
  });

  it("a failing check wins over the order's own unique key, as a guard statement before the insert did", async () => {
    await orderInsert("twice", sql`NULL`).run();
    const error = await env.DB.batch([orderInsert("twice", guardReasonSql([[GUARD.conflict, sql`1 = 1`]]))]).catch(
      (e: unknown) => e,
    );
    expect(classifyBatchError(error)).toEqual({ kind: "guard", reason: GUARD.conflict });
  });

  it("an order with no checks to make is stored as it is", async () => {
    await orderInsert("unchecked", guardReasonSql([])).run();
    expect(await count("unchecked")).toBe(1);
  });
});

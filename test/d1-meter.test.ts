/**
 * The benchmark's D1 meter (platform/db.ts, on when D1_STATS is on): every statement run alone or in a batch
 * adds its rows read and written, and the engine reports them in x-d1-* headers.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { type D1Stats, meteredD1 } from "../src/platform/db";
import { BASE_RULE, createMerchant, createRule, uid } from "./support/api";

describe("D1 meter", () => {
  it("counts statements run alone, in every form, and in a batch, and answers as D1 does", async () => {
    const stats: D1Stats = { queries: 0, rowsRead: 0, rowsWritten: 0 };
    const db = meteredD1(env.DB, stats);
    const select = db.prepare("SELECT ?1 AS a, ?2 AS b").bind(1, "x");
    expect(await select.first()).toEqual({ a: 1, b: "x" });
    expect(await select.first("b")).toBe("x");
    expect((await select.all()).results).toEqual([{ a: 1, b: "x" }]);
    expect(await select.raw()).toEqual([[1, "x"]]);
    expect(await select.raw({ columnNames: true })).toEqual([
      ["a", "b"],
      [1, "x"],
    ]);
    expect(await db.prepare("SELECT 1 AS a WHERE 0").first()).toBeNull();
    const key = uid("meter");
    const write = db.prepare("INSERT INTO batch_guards (reason) SELECT ?1 WHERE 0").bind(key);
    expect((await write.run()).success).toBe(true);
    const [one, two] = await db.batch([select, db.prepare("SELECT 2 AS c")]);
    expect([one?.results, two?.results]).toEqual([[{ a: 1, b: "x" }], [{ c: 2 }]]);
    expect(stats.queries).toBe(9);
  });

  it("the engine reports the rows an order read and wrote", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const ctx = createExecutionContext();
    const response = await createApp().fetch(
      new Request("http://engine.test/v1/orders", {
        method: "POST",
        headers: { authorization: `Bearer ${m.checkout}`, "content-type": "application/json", "idempotency-key": uid("k") },
        body: JSON.stringify({ orderId: uid("o"), memberId: "metered", amount: 1000, currency: "CNY" }),
      }),
      { ...env, D1_STATS: "on" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(201);
    expect(Number(response.headers.get("x-d1-queries"))).toBeGreaterThan(1);
    expect(Number(response.headers.get("x-d1-rows-written"))).toBeGreaterThan(0);
    expect(Number(response.headers.get("x-d1-rows-read"))).toBeGreaterThan(0);
  });
});

/**
 * Hot paths keep their D1 round trips: an order is one read round trip (riding along with authentication)
 * and one write batch; a balance read is one round trip. Counted on a D1 binding that records every call.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { BASE_RULE, createMerchant, createRule, postOrder, uid } from "./support/api";

/** A D1 binding that counts round trips: each batch() and each statement run on its own. */
function countingD1(db: D1Database) {
  const count = { trips: 0 };
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args));
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") count.trips += 1;
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query));
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          count.trips += 1;
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: proxy, count };
}

async function tripsOf(request: Request): Promise<{ status: number; trips: number }> {
  const counting = countingD1(env.DB);
  const ctx = createExecutionContext();
  const response = await createApp().fetch(request, { ...env, DB: counting.db }, ctx);
  await waitOnExecutionContext(ctx);
  await response.text();
  return { status: response.status, trips: counting.count.trips };
}

describe("D1 round trips of the hot paths", () => {
  it("an order reads in one round trip with authentication and writes in one batch; a balance read is one", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    // Ten active rules with limits and an expression: still one read round trip and one write batch.
    for (let i = 0; i < 9; i++)
      await createRule(m, {
        id: `r${i}`,
        name: `r${i}`,
        conditions: i === 0 ? { expression: "order.amount > 100" } : {},
        limits: { perMember: { points: 1000, per: "day" }, budget: 100_000 },
        effect: { kind: "fixed", points: 1 },
      });
    await postOrder(m, { orderId: uid("o"), memberId: "trips", amount: 1000 });
    const order = await tripsOf(
      new Request("http://engine.test/v1/orders", {
        method: "POST",
        headers: { authorization: `Bearer ${m.checkout}`, "content-type": "application/json", "idempotency-key": uid("k") },
        body: JSON.stringify({ orderId: uid("o"), memberId: "trips", amount: 12800, currency: "CNY" }),
      }),
    );
    expect(order).toEqual({ status: 201, trips: 2 });
    const read = await tripsOf(
      new Request("http://engine.test/v1/members/trips", { headers: { authorization: `Bearer ${m.checkout}` } }),
    );
    expect(read).toEqual({ status: 200, trips: 1 });
  });
});

import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_ACTIVE_RULES } from "../src/earning/limits";
import { BASE_RULE, call, createMerchant, createRule, postOrder, type TestMerchant, uid } from "./support/api";
import { onceBefore, sendThrough } from "./support/d1-faults";
import { redeemFor } from "./support/flows";

const rule = {
  id: "spring",
  name: "Spring tea",
  priority: 5,
  startsAt: "2026-03-01T00:00:00+08:00",
  endsAt: "2026-06-01T00:00:00+08:00",
  conditions: { categories: ["tea"], minAmount: 1000 },
  effect: { kind: "per_amount", points: 2, per: 100 },
};

/** All but one of the allowed active rules (`conditions` for each), seeded directly: the API would take minutes. */
function seedActiveRules(m: TestMerchant, prefix: string, conditions: Record<string, unknown>) {
  return env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
     INSERT INTO rules (merchant_id, id, name, active, priority, conditions, effect, created_at, updated_at)
     SELECT ?1, ?3 || '-' || i, ?3, 1, 0, ?4, '{"kind":"fixed","points":1}', 1, 1 FROM n`,
  )
    .bind(m.id, MAX_ACTIVE_RULES - 1, prefix, JSON.stringify(conditions))
    .run();
}

describe("earning rules", () => {
  it("creates, reads, lists, replaces and deletes", async () => {
    const m = await createMerchant();
    const created = await call("POST", "/v1/rules", { token: m.admin, body: rule });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      id: "spring",
      active: true,
      priority: 5,
      startsAt: "2026-02-28T16:00:00.000Z",
      conditions: rule.conditions,
    });
    expect((await call("POST", "/v1/rules", { token: m.admin, body: rule })).status).toBe(409);
    expect((await call("GET", "/v1/rules/spring", { token: m.read })).body.name).toBe("Spring tea");

    const replaced = await call("PUT", "/v1/rules/spring", {
      token: m.admin,
      body: { ...rule, id: undefined, name: "Spring tea v2", active: false },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: "Spring tea v2", active: false, createdAt: created.body.createdAt });
    const put = await call("PUT", "/v1/rules/summer", {
      token: m.admin,
      body: { name: "Summer", effect: { kind: "fixed", points: 5 } },
    });
    expect(put.status).toBe(201);
    const mismatch = await call("PUT", "/v1/rules/summer", {
      token: m.admin,
      body: { id: "other", name: "x", effect: { kind: "fixed", points: 5 } },
    });
    expect(mismatch.status).toBe(400);

    const list = await call("GET", "/v1/rules?limit=1", { token: m.admin });
    expect(list.body.data.map((r: any) => r.id)).toEqual(["spring"]);
    const next = await call("GET", `/v1/rules?limit=1&cursor=${list.body.nextCursor}`, { token: m.admin });
    expect(next.body.data.map((r: any) => r.id)).toEqual(["summer"]);
    expect(next.body.nextCursor).toBeNull();

    expect((await call("DELETE", "/v1/rules/spring", { token: m.admin })).status).toBe(204);
    expect((await call("GET", "/v1/rules/spring", { token: m.admin })).status).toBe(404);
    expect((await call("DELETE", "/v1/rules/spring", { token: m.admin })).status).toBe(404);
  });

  it("applies only active rules inside their window", async () => {
    const m = await createMerchant();
    await call("POST", "/v1/rules", { token: m.admin, body: { ...rule, conditions: {} } });
    await call("POST", "/v1/rules", {
      token: m.admin,
      body: { id: "off", name: "off", active: false, effect: { kind: "fixed", points: 100 } },
    });
    const inside = await postOrder(m, { orderId: "in", memberId: "w", amount: 1000, occurredAt: "2026-04-01T12:00:00+08:00" });
    expect(inside.body.pointsEarned).toBe(20);
    const after = await postOrder(m, { orderId: "after", memberId: "w", amount: 1000, occurredAt: "2026-06-01T00:00:00+08:00" });
    expect(after.body.pointsEarned).toBe(0);
  });

  it("validates effects and windows, naming the field", async () => {
    const m = await createMerchant();
    const bad = await call("POST", "/v1/rules", {
      token: m.admin,
      body: {
        id: "bad rule!",
        name: "",
        effect: { kind: "per_amount", points: 1.5, per: 0 },
        endsAt: "2020-01-01T00:00:00Z",
        startsAt: "2021-01-01T00:00:00Z",
      },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: any) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["id", "name", "effect.points", "effect.per"]));
    const unknownKind = await call("POST", "/v1/rules", {
      token: m.admin,
      body: { id: "u", name: "u", effect: { kind: "cashback", points: 1 } },
    });
    expect(unknownKind.status).toBe(400);
    const window = await call("POST", "/v1/rules", {
      token: m.admin,
      body: {
        id: "w",
        name: "w",
        effect: { kind: "fixed", points: 1 },
        startsAt: "2026-05-01T00:00:00Z",
        endsAt: "2026-04-01T00:00:00Z",
      },
    });
    expect(window.status).toBe(400);
    expect(window.body.errors[0].path).toBe("endsAt");
    expect((await call("GET", "/v1/rules", { token: m.admin })).body.data).toEqual([]);
  });

  it("simulates drafts against an order, with the reason each rule missed", async () => {
    const m = await createMerchant();
    await call("POST", "/v1/rules", {
      token: m.admin,
      body: { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } },
    });
    const r = await call("POST", "/v1/rules/simulate", {
      token: m.admin,
      body: {
        order: { orderId: "sim", memberId: "sim", amount: 5000, currency: "CNY", channel: "store" },
        rules: [
          { id: "double", name: "double", effect: { kind: "multiplier", factor: 2 } },
          { id: "app-only", name: "app", conditions: { channels: ["app"] }, effect: { kind: "fixed", points: 30 } },
        ],
      },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.pointsEarned).toBe(100);
    const byId = Object.fromEntries(r.body.rules.map((x: any) => [x.ruleId, x]));
    expect(byId.base).toMatchObject({ matched: true, points: 50, draft: false });
    expect(byId.double).toMatchObject({ matched: true, points: 50, draft: true });
    expect(byId["app-only"]).toMatchObject({ matched: false, reason: "channel", draft: true });
    // Nothing written: the drafts are not live.
    expect((await call("GET", "/v1/rules", { token: m.admin })).body.data).toHaveLength(1);
    expect((await call("GET", "/v1/members/sim", { token: m.admin })).status).toBe(404);
  });

  /** What a quote and a simulation (with `extra` in its body) give one order: the two must agree. */
  async function quoteAndSimulate(m: TestMerchant, order: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const body = { currency: "CNY", ...order };
    const quote = await call("POST", "/v1/orders/quote", { token: m.admin, body });
    expect(quote.status, quote.text).toBe(200);
    // With an Idempotency-Key the request may read through the isolate's cached configuration, as a quote does.
    const sim = await call("POST", "/v1/rules/simulate", {
      token: m.admin,
      idempotencyKey: uid("sim"),
      body: { order: body, ...extra },
    });
    expect(sim.status, sim.text).toBe(200);
    return { quote: quote.body.pointsEarned as number, simulate: sim.body.pointsEarned as number, sim: sim.body };
  }

  it("simulate counts what live rules' budgets and per-member limits have used, as quote does", async () => {
    const m = await createMerchant();
    await createRule(m, { id: "capped", name: "capped", effect: { kind: "fixed", points: 100 }, limits: { budget: 100 } });
    await createRule(m, {
      id: "daily",
      name: "daily",
      effect: { kind: "fixed", points: 30 },
      limits: { perMember: { points: 40, per: "day" } },
    });
    expect((await postOrder(m, { orderId: "first", memberId: "a", amount: 1000 })).body.pointsEarned).toBe(130);
    // The budget is spent; member a has 10 left of the day's 40.
    expect(await quoteAndSimulate(m, { orderId: uid("o"), memberId: "a", amount: 1000 })).toMatchObject({
      quote: 10,
      simulate: 10,
    });
    // A draft replacing the capped rule inherits what it spent, as the saved rule would.
    const raised = { id: "capped", name: "capped", effect: { kind: "fixed", points: 100 }, limits: { budget: 150 } };
    const drafted = await quoteAndSimulate(m, { orderId: uid("o"), memberId: "b", amount: 1000 }, { rules: [raised] });
    expect([drafted.quote, drafted.simulate]).toEqual([30, 80]);
    expect(drafted.sim.awards).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: "capped", points: 50 })]));
  });

  it("a limited draft replacing a live rule counts the usage that rule kept, also when no live rule has limits", async () => {
    const m = await createMerchant();
    const promo = { id: "promo", name: "promo", effect: { kind: "fixed", points: 100 } };
    await createRule(m, { ...promo, limits: { budget: 100 } });
    expect((await postOrder(m, { orderId: "spent", memberId: "a", amount: 1000 })).body.pointsEarned).toBe(100);
    // The limits removed: no live rule has any, so the cached configuration skips reading usage.
    expect((await call("PUT", "/v1/rules/promo", { token: m.admin, body: promo })).status).toBe(200);
    const order = { orderId: uid("o"), memberId: "b", amount: 1000 };
    const draft = { ...promo, limits: { budget: 150 } };
    expect(await quoteAndSimulate(m, order, { rules: [draft] })).toMatchObject({ quote: 100, simulate: 50 });
    // Saved, the rule pays what the simulation said.
    expect((await call("PUT", "/v1/rules/promo", { token: m.admin, body: draft })).status).toBe(200);
    expect((await postOrder(m, order)).body.pointsEarned).toBe(50);
  });

  it("simulate evaluates a member not enrolled yet at the lowest tier, as quote does", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const ladder = {
      metric: "spend",
      window: { kind: "calendar_year" },
      tiers: [
        { id: "bronze", name: "Bronze", threshold: 0, earnMultiplier: 2 },
        { id: "gold", name: "Gold", threshold: 10_000_000 },
      ],
    };
    expect((await call("PUT", "/v1/tiers", { token: m.admin, body: ladder })).status).toBe(200);
    const { quote, simulate } = await quoteAndSimulate(m, { orderId: uid("o"), memberId: uid("new"), amount: 1000 });
    expect([quote, simulate]).toEqual([20, 20]);
  });

  it("simulate pays an order at the tier it reaches when the upgrade applies to it, as quote does", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const ladder = {
      metric: "spend",
      window: { kind: "calendar_year" },
      upgradeAppliesToQualifyingOrder: true,
      tiers: [
        { id: "member", name: "Member", threshold: 0 },
        { id: "gold", name: "Gold", threshold: 500_000, earnMultiplier: 2 },
      ],
    };
    expect((await call("PUT", "/v1/tiers", { token: m.admin, body: ladder })).status).toBe(200);
    const { quote, simulate } = await quoteAndSimulate(m, { orderId: uid("o"), memberId: "eager", amount: 600_000 });
    expect([quote, simulate]).toEqual([12_000, 12_000]);
  });

  it("simulate earns only on the part of an order not paid with points, as quote does", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    const redeem = await redeemFor(m, "pp", 4000, "mixed");
    expect(redeem.status, redeem.text).toBe(201);
    // 100.00 order, 40.00 of it paid with points: earns on 60.00.
    const { quote, simulate } = await quoteAndSimulate(m, { orderId: "mixed", memberId: "pp", amount: 10_000 });
    expect([quote, simulate]).toEqual([60, 60]);
  });

  it(`refuses to create or activate a rule beyond ${MAX_ACTIVE_RULES} active ones, naming the field`, async () => {
    const m = await createMerchant();
    // All but one of the allowed active rules, seeded directly: through the API it would take minutes.
    await seedActiveRules(m, "seed", {});
    const fixed = { effect: { kind: "fixed", points: 1 } };
    const last = await call("POST", "/v1/rules", { token: m.admin, body: { id: "last", name: "last", ...fixed } });
    expect(last.status, last.text).toBe(201);
    const over = await call("POST", "/v1/rules", { token: m.admin, body: { id: "over", name: "over", ...fixed } });
    expect(over.status).toBe(422);
    expect(over.body.errors[0].path).toBe("active");
    // Inactive rules are not bounded; activating one is, replacing an active one is not.
    const off = await call("POST", "/v1/rules", { token: m.admin, body: { id: "off", name: "off", active: false, ...fixed } });
    expect(off.status).toBe(201);
    const activate = await call("PUT", "/v1/rules/off", { token: m.admin, body: { name: "off", ...fixed } });
    expect(activate.status).toBe(422);
    expect(activate.body.errors[0].path).toBe("active");
    expect((await call("PUT", "/v1/rules/last", { token: m.admin, body: { name: "last v2", ...fixed } })).status).toBe(200);
    // The checkout still reads every active rule.
    const order = await postOrder(m, { orderId: "o", memberId: "many", amount: 100 });
    expect(order.body.pointsEarned).toBe(MAX_ACTIVE_RULES);
  });

  it("two rules activated at once for the last active slot: the second write is refused 422, checkout applies every active rule", async () => {
    const m = await createMerchant();
    // The fillers never match; seeded directly, as above.
    await seedActiveRules(m, "a", { channels: ["never"] });
    const rule = (id: string) => ({ id, name: id, effect: { kind: "fixed", points: 100 } });
    // The other activation commits between this request's read and its write batch.
    const race = onceBefore(env.DB, "INSERT INTO rules", async () => {
      const first = await call("POST", "/v1/rules", { token: m.admin, body: rule("zz-first") });
      expect(first.status, first.text).toBe(201);
    });
    const second = await sendThrough(
      race.db,
      new Request("http://engine.test/v1/rules", {
        method: "POST",
        headers: { authorization: `Bearer ${m.admin}`, "content-type": "application/json" },
        body: JSON.stringify(rule("zz-second")),
      }),
    );
    expect(race.fired()).toBe(true);
    const problem = (await second.json()) as { errors?: { path: string }[] };
    expect([second.status, problem.errors?.[0]?.path]).toEqual([422, "active"]);
    const active = await env.DB.prepare("SELECT COUNT(*) AS n FROM rules WHERE merchant_id = ? AND active = 1")
      .bind(m.id)
      .first<{ n: number }>();
    expect(active?.n).toBe(MAX_ACTIVE_RULES);
    expect((await call("GET", "/v1/rules/zz-second/versions", { token: m.admin })).status).toBe(404);
    // Every active rule reaches the checkout: zz-first pays.
    expect((await postOrder(m, { orderId: "o", memberId: "v", amount: 1000 })).body.pointsEarned).toBe(100);
  });
});

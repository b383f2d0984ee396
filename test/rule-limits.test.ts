/** Rule limits, stacking and versions through HTTP: budgets stay exact under concurrent orders. */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { expiryJob } from "../src/jobs/expiry";
import { runJob } from "../src/jobs/runner";
import { advanceClock, DAY_MS, MINUTE_MS, now, resetClock, setClock } from "../src/platform/clock";
import { replayDigest } from "../src/rules/replay-cursor";
import { ReplayInputSchema } from "../src/rules/schemas";
import { call, createMerchant, createRule, ledger, postOrder, type TestMerchant, uid } from "./support/api";
import { onceBefore, postThrough } from "./support/d1-faults";
import { PROGRAM_DEFAULTS, redeemFor } from "./support/flows";

const at = "2026-11-18T04:00:00Z";

describe("rule limits", () => {
  it("50 parallel orders against a budget that covers 10 awards: exactly 10 awarded, nothing overdrawn", async () => {
    const m = await createMerchant();
    await createRule(m, { id: "promo", name: "promo", effect: { kind: "fixed", points: 100 }, limits: { budget: 1000 } });
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postOrder(m, { orderId: `p${i}`, memberId: `mem${i % 7}`, amount: 500 })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(201));
    const paid = replies.filter((r) => r.body.pointsEarned === 100);
    expect(paid).toHaveLength(10);
    const spent = replies.filter((r) => r.body.pointsEarned === 0);
    expect(spent).toHaveLength(40);
    for (const r of spent) expect(r.body.skipped).toEqual([{ ruleId: "promo", reason: "budget_spent" }]);
    const usage = await env.DB.prepare(
      "SELECT points FROM rule_usage WHERE merchant_id = ? AND rule_id = 'promo' AND member_id = ''",
    )
      .bind(m.id)
      .first<{ points: number }>();
    expect(usage?.points).toBe(1000);
    // A full refund of one paid order gives its 100 back: the next order earns again, once.
    const refunded = paid[0]!.body.orderId as string;
    const refund = await call("POST", `/v1/orders/${refunded}/refunds`, {
      token: m.checkout,
      idempotencyKey: uid("r"),
      body: { refundId: "r1" },
    });
    expect(refund.status, refund.text).toBe(201);
    const again = await postOrder(m, { orderId: "after-refund", memberId: "x", amount: 500 });
    expect(again.body.pointsEarned).toBe(100);
    const none = await postOrder(m, { orderId: "after-that", memberId: "x", amount: 500 });
    expect(none.body).toMatchObject({ pointsEarned: 0, skipped: [{ ruleId: "promo", reason: "budget_spent" }] });
  });

  it("concurrent orders and refunds keep every limit's usage equal to what the orders kept minus what refunds gave back", async () => {
    const m = await createMerchant();
    await createRule(m, {
      id: "lim",
      name: "limited",
      effect: { kind: "per_amount", points: 1, per: 100 },
      limits: { budget: 2000, perMember: { points: 300, per: "month" } },
    });
    const first = await Promise.all(
      Array.from({ length: 12 }, (_, i) => postOrder(m, { orderId: `q${i}`, memberId: `cm${i % 3}`, amount: 10_000 + i * 1000 })),
    );
    expect(first.every((r) => r.status === 201)).toBe(true);
    // Refund half of every other order while new orders race for the room it gives back.
    const mixed = await Promise.all([
      ...first
        .filter((_, i) => i % 2 === 0)
        .map((r, i) =>
          call("POST", `/v1/orders/${r.body.orderId}/refunds`, {
            token: m.checkout,
            idempotencyKey: uid("r"),
            body: { refundId: `h${i}`, amount: 5000 },
          }),
        ),
      ...Array.from({ length: 8 }, (_, i) => postOrder(m, { orderId: `z${i}`, memberId: `cm${i % 4}`, amount: 20_000 })),
    ]);
    expect(mixed.every((r) => r.status === 201)).toBe(true);
    const rows = await env.DB.prepare(
      `SELECT o.member_id AS memberId, o.amount, o.refunded_amount AS refunded, o.awards FROM orders o WHERE o.merchant_id = ?`,
    )
      .bind(m.id)
      .all<{ memberId: string; amount: number; refunded: number; awards: string }>();
    const kept = new Map<string, number>();
    let total = 0;
    for (const row of rows.results) {
      const points = (JSON.parse(row.awards) as { points: number }[]).reduce((s, a) => s + a.points, 0);
      const net = points - Math.floor((points * row.refunded) / row.amount);
      total += net;
      kept.set(row.memberId, (kept.get(row.memberId) ?? 0) + net);
    }
    const usage = await env.DB.prepare("SELECT member_id AS memberId, points FROM rule_usage WHERE merchant_id = ?")
      .bind(m.id)
      .all<{ memberId: string; points: number }>();
    for (const row of usage.results) {
      if (row.memberId === "") expect(row.points).toBe(total);
      else expect(row.points).toBe(kept.get(row.memberId));
      expect(row.points).toBeLessThanOrEqual(row.memberId === "" ? 2000 : 300);
    }
  });

  it("clips the last award to what the budget has left, and gives back partial refunds exactly", async () => {
    const m = await createMerchant();
    await createRule(m, {
      id: "spend",
      name: "spend",
      effect: { kind: "per_amount", points: 1, per: 100 },
      limits: { budget: 150 },
    });
    const first = await postOrder(m, { orderId: "a", memberId: "u", amount: 10_000 });
    expect(first.body).toMatchObject({ pointsEarned: 100, skipped: [] });
    const second = await postOrder(m, { orderId: "b", memberId: "u", amount: 10_000 });
    expect(second.body).toMatchObject({ pointsEarned: 50, skipped: [{ ruleId: "spend", reason: "budget_spent" }] });
    // Refund order a in three parts: 100 of budget come back in all, as one full refund would give.
    for (const [i, amount] of [3333, 3333, 3334].entries()) {
      const r = await call("POST", "/v1/orders/a/refunds", {
        token: m.checkout,
        idempotencyKey: uid("r"),
        body: { refundId: `a${i}`, amount },
      });
      expect(r.status, r.text).toBe(201);
    }
    const third = await postOrder(m, { orderId: "c", memberId: "u", amount: 20_000 });
    expect(third.body).toMatchObject({ pointsEarned: 100, skipped: [{ ruleId: "spend", reason: "budget_spent" }] });
  });

  it("a partial refund of an order with several budgeted awards gives back the points it reverses", async () => {
    const m = await createMerchant();
    for (const id of ["a", "b", "c"])
      await createRule(m, { id, name: id, effect: { kind: "fixed", points: 1 }, limits: { budget: 1 } });
    expect((await postOrder(m, { orderId: "o1", memberId: "u", amount: 300 })).body.pointsEarned).toBe(3);
    const r = await call("POST", "/v1/orders/o1/refunds", {
      token: m.checkout,
      idempotencyKey: uid("r"),
      body: { refundId: "most", amount: 200 },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body.pointsReversed).toBe(2);
    // 3 awarded, 2 reversed: the budgets together have 2 points of room again.
    const used = await env.DB.prepare("SELECT SUM(points) AS points FROM rule_usage WHERE merchant_id = ?")
      .bind(m.id)
      .first<{ points: number }>();
    expect(used?.points).toBe(1);
    expect((await postOrder(m, { orderId: "o2", memberId: "v", amount: 300 })).body.pointsEarned).toBe(2);
  });

  it("a refund gives back no budget for points that had expired: it took nothing back from anyone", async () => {
    const m = await createMerchant();
    const program = { ...PROGRAM_DEFAULTS, expiry: { policy: "after_earn", days: 10 } };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: program })).status).toBe(200);
    await createRule(m, { id: "promo", name: "promo", effect: { kind: "fixed", points: 100 }, limits: { budget: 100 } });
    expect((await postOrder(m, { orderId: "a", memberId: "u", amount: 1000 })).body.pointsEarned).toBe(100);
    try {
      // The 100 expire unspent; the order is then refunded in halves: the points are not taken back.
      advanceClock(12 * DAY_MS);
      expect((await runJob(env.DB, expiryJob, { trigger: "cron" })).status).toBe("succeeded");
      for (const refundId of ["a-1", "a-2"]) {
        const r = await call("POST", "/v1/orders/a/refunds", {
          token: m.checkout,
          idempotencyKey: uid("k"),
          body: { refundId, amount: 500 },
        });
        expect(r.body, r.text).toMatchObject({ pointsReversed: 0, pointsAlreadyExpired: 50 });
      }
      const usage = await env.DB.prepare(
        "SELECT points FROM rule_usage WHERE merchant_id = ? AND rule_id = 'promo' AND member_id = ''",
      )
        .bind(m.id)
        .first<{ points: number }>();
      expect(usage?.points).toBe(100);
      const next = await postOrder(m, { orderId: "b", memberId: "v", amount: 1000 });
      expect(next.body).toMatchObject({ pointsEarned: 0, skipped: [{ ruleId: "promo", reason: "budget_spent" }] });
    } finally {
      resetClock();
    }
  });

  it("a rule whose budget is spent is skipped budget_spent, also when it has a per-order limit", async () => {
    const m = await createMerchant();
    await createRule(m, {
      id: "promo",
      name: "promo",
      effect: { kind: "per_amount", points: 1, per: 100 },
      limits: { perOrder: 50, budget: 100 },
    });
    // The second order finds as much budget as the per-order limit: the per-order limit is named.
    for (const orderId of ["a", "b"]) {
      const r = await postOrder(m, { orderId, memberId: "u", amount: 10_000 });
      expect(r.body).toMatchObject({ pointsEarned: 50, skipped: [{ ruleId: "promo", reason: "per_order_limit" }] });
    }
    const spent = await postOrder(m, { orderId: "c", memberId: "u", amount: 10_000 });
    expect(spent.body).toMatchObject({ pointsEarned: 0, skipped: [{ ruleId: "promo", reason: "budget_spent" }] });
  });

  it("an amount-0 order's award comes back once on refund, even after the rule was edited and deactivated", async () => {
    const m = await createMerchant();
    await createRule(m, {
      id: "f",
      name: "f",
      effect: { kind: "fixed", points: 50 },
      limits: { budget: 50, perMember: { points: 50, per: "month" } },
    });
    expect((await postOrder(m, { orderId: "z", memberId: "u", amount: 0 })).body.pointsEarned).toBe(50);
    const put = await call("PUT", "/v1/rules/f", {
      token: m.admin,
      body: {
        name: "f2",
        active: false,
        effect: { kind: "fixed", points: 10 },
        limits: { budget: 10, perMember: { points: 10, per: "day" } },
      },
    });
    expect(put.status, put.text).toBe(200);
    const refund = (refundId: string) =>
      call("POST", "/v1/orders/z/refunds", { token: m.checkout, idempotencyKey: uid("r"), body: { refundId } });
    expect((await refund("r1")).status).toBe(201);
    expect((await refund("r2")).status).toBe(422);
    const usage = await env.DB.prepare("SELECT points FROM rule_usage WHERE merchant_id = ?")
      .bind(m.id)
      .all<{ points: number }>();
    expect(usage.results.map((row) => row.points)).toEqual([0, 0]);
  });

  it("parallel orders of one member never pass a per-member day limit, and replays of one order consume it once", async () => {
    const m = await createMerchant({ timezone: "America/New_York" });
    await createRule(m, {
      id: "d",
      name: "d",
      effect: { kind: "fixed", points: 100 },
      limits: { perMember: { points: 300, per: "day" }, budget: 100_000 },
    });
    // 01:30 in New York on the night its clocks go forward: the day key is still the local day.
    const order = (orderId: string, key?: string) =>
      postOrder(m, { orderId, memberId: "u", amount: 100, occurredAt: "2025-03-09T06:30:00Z" }, key);
    const replayed = await Promise.all(Array.from({ length: 6 }, () => order("same", "one-key")));
    for (const r of replayed.filter((r) => r.status === 201)) expect(r.body.pointsEarned).toBe(100);
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => order(`o${i}`)));
    expect(replies.map((r) => r.status)).toEqual(Array(12).fill(201));
    expect(replies.reduce((s, r) => s + r.body.pointsEarned, 0)).toBe(200);
    const rows = await env.DB.prepare(
      "SELECT member_id AS memberId, period, points FROM rule_usage WHERE merchant_id = ? ORDER BY member_id",
    )
      .bind(m.id)
      .all();
    expect(rows.results).toEqual([
      { memberId: "", period: "", points: 300 },
      { memberId: "u", period: "d2025-03-09", points: 300 },
    ]);
  });

  it("caps per order and per member per local period (merchant timezone)", async () => {
    const m = await createMerchant();
    await createRule(m, {
      id: "capped",
      name: "capped",
      effect: { kind: "per_amount", points: 1, per: 100 },
      limits: { perOrder: 80, perMember: { points: 100, per: "day" } },
    });
    // 23:30 and 23:50 on 18 November in Shanghai are one local day; 00:10 on the 19th is the next.
    const o1 = await postOrder(m, { orderId: "d1", memberId: "v", amount: 10_000, occurredAt: "2026-11-18T15:30:00Z" });
    expect(o1.body).toMatchObject({ pointsEarned: 80, skipped: [{ ruleId: "capped", reason: "per_order_limit" }] });
    const o2 = await postOrder(m, { orderId: "d2", memberId: "v", amount: 5_000, occurredAt: "2026-11-18T15:50:00Z" });
    expect(o2.body).toMatchObject({ pointsEarned: 20, skipped: [{ ruleId: "capped", reason: "per_member_limit" }] });
    const o3 = await postOrder(m, { orderId: "d3", memberId: "v", amount: 5_000, occurredAt: "2026-11-18T16:10:00Z" });
    expect(o3.body).toMatchObject({ pointsEarned: 50, skipped: [] });
    // Another member has a day of their own.
    const other = await postOrder(m, { orderId: "d4", memberId: "w", amount: 5_000, occurredAt: "2026-11-18T15:55:00Z" });
    expect(other.body.pointsEarned).toBe(50);
    // Refunding d1 gives back its 80 to that day: a late order of that day earns again.
    await call("POST", "/v1/orders/d1/refunds", { token: m.checkout, idempotencyKey: uid("r"), body: { refundId: "x" } });
    const o5 = await postOrder(m, { orderId: "d5", memberId: "v", amount: 10_000, occurredAt: "2026-11-18T15:59:00Z" });
    expect(o5.body.pointsEarned).toBe(80);
  });

  it("validates limits, naming the field", async () => {
    const m = await createMerchant();
    const bad = await call("POST", "/v1/rules", {
      token: m.admin,
      body: {
        id: "bad",
        name: "bad",
        effect: { kind: "fixed", points: 1 },
        limits: { perOrder: 0, perMember: { points: 1.5, per: "week" }, budget: -1 },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.path)).toEqual(
      expect.arrayContaining(["limits.perOrder", "limits.perMember.points", "limits.perMember.per", "limits.budget"]),
    );
  });
});

describe("stacking", () => {
  it("applies rules by priority; a matching exclusive rule stops the rules below it", async () => {
    const m = await createMerchant();
    await createRule(m, { id: "base", name: "base", priority: 0, effect: { kind: "per_amount", points: 1, per: 100 } });
    await createRule(m, { id: "double", name: "double", priority: 1, effect: { kind: "multiplier", factor: 2 } });
    await createRule(m, {
      id: "vip-day",
      name: "vip day",
      priority: 10,
      exclusive: true,
      conditions: { channels: ["vip"] },
      effect: { kind: "fixed", points: 500 },
    });
    const normal = await postOrder(m, { orderId: "n", memberId: "s", amount: 1000 });
    expect(normal.body).toMatchObject({ pointsEarned: 20, skipped: [] });
    const vip = await postOrder(m, { orderId: "v", memberId: "s", amount: 1000, channel: "vip" });
    expect(vip.body.pointsEarned).toBe(500);
    expect(vip.body.skipped).toEqual([
      { ruleId: "double", reason: "exclusive" },
      { ruleId: "base", reason: "exclusive" },
    ]);
    // A spent exclusive rule gives nothing, so it stops nothing.
    await call("PUT", "/v1/rules/vip-day", {
      token: m.admin,
      body: {
        name: "vip day",
        priority: 10,
        exclusive: true,
        conditions: { channels: ["vip"] },
        effect: { kind: "fixed", points: 500 },
        limits: { budget: 500 },
      },
    });
    const spent = await postOrder(m, { orderId: "v2", memberId: "s", amount: 1000, channel: "vip" });
    expect(spent.body.pointsEarned).toBe(500);
    const after = await postOrder(m, { orderId: "v3", memberId: "s", amount: 1000, channel: "vip" });
    expect(after.body).toMatchObject({ pointsEarned: 20, skipped: [{ ruleId: "vip-day", reason: "budget_spent" }] });
  });
});

describe("rule versions", () => {
  it("every create and replace makes a version; awards and ledger entries name it", async () => {
    const m = await createMerchant();
    const v1 = await createRule(m, { id: "base", name: "v1", effect: { kind: "per_amount", points: 1, per: 100 } });
    expect(v1.version).toBe(1);
    const v2 = await call("PUT", "/v1/rules/base", {
      token: m.admin,
      body: { name: "v2", effect: { kind: "per_amount", points: 2, per: 100 } },
    });
    expect(v2.body.version).toBe(2);
    const order = await postOrder(m, { orderId: "o", memberId: "ver", amount: 1000, occurredAt: at });
    expect(order.body.awards).toEqual([{ ruleId: "base", points: 20, ruleVersion: 2 }]);
    const entries = await ledger(m, "ver");
    expect(entries[0]).toMatchObject({ type: "earn", ruleId: "base", ruleVersion: 2 });
    const list = await call("GET", "/v1/rules/base/versions?limit=1", { token: m.read });
    expect(list.status, list.text).toBe(200);
    expect(list.body.data[0]).toMatchObject({ version: 2, rule: { name: "v2", version: 2, createdAt: v1.createdAt } });
    const older = await call("GET", `/v1/rules/base/versions?cursor=${list.body.nextCursor}`, { token: m.read });
    expect(older.body.data.map((v: any) => v.rule.name)).toEqual(["v1"]);
    expect(older.body.nextCursor).toBeNull();
    // Deleted and created again: the history continues.
    await call("DELETE", "/v1/rules/base", { token: m.admin });
    const v3 = await createRule(m, { id: "base", name: "v3", effect: { kind: "fixed", points: 1 } });
    expect(v3.version).toBe(3);
    expect((await call("GET", "/v1/rules/nothing/versions", { token: m.admin })).status).toBe(404);
    const other = await createMerchant();
    expect((await call("GET", "/v1/rules/base/versions", { token: other.admin })).status).toBe(404);
  });
});

describe("expressions", () => {
  it("earns when the CEL expression holds, over order and member", async () => {
    const m = await createMerchant();
    await call("PUT", "/v1/members/cel", { token: m.admin, body: { attributes: { vip: true, visits: 3 } } });
    await createRule(m, {
      id: "tea-vip",
      name: "tea for VIPs",
      conditions: {
        expression:
          'order.items.exists(i, i.category == "tea" && i.quantity >= 2) && member.attributes.vip == true && member.attributes.visits > 2',
      },
      effect: { kind: "fixed", points: 40 },
    });
    const items = [{ sku: "lj", category: "tea", quantity: 2, unitPrice: 500 }];
    const hit = await postOrder(m, { orderId: "c1", memberId: "cel", amount: 1000, items });
    expect(hit.body.pointsEarned).toBe(40);
    const fewer = await postOrder(m, { orderId: "c2", memberId: "cel", amount: 500, items: [{ ...items[0], quantity: 1 }] });
    expect(fewer.body.pointsEarned).toBe(0);
    // A member without the attribute: the expression is false, never an error.
    const plain = await postOrder(m, { orderId: "c3", memberId: "plain", amount: 1000, items });
    expect(plain.status).toBe(201);
    expect(plain.body.pointsEarned).toBe(0);
  });

  it("refuses invalid, non-boolean and unbounded expressions naming conditions.expression with the position", async () => {
    const m = await createMerchant();
    const refuse = async (expression: string, fragment: string) => {
      const r = await call("POST", "/v1/rules", {
        token: m.admin,
        body: { id: "x", name: "x", conditions: { expression }, effect: { kind: "fixed", points: 1 } },
      });
      expect(r.status, expression).toBe(400);
      expect(r.body.code).toBe("invalid_request");
      expect(r.body.errors[0].path).toBe("conditions.expression");
      expect(r.body.errors[0].message).toContain(fragment);
      expect(r.body.errors[0].message).toMatch(/position \d+/);
    };
    await refuse("order.amount >", "position 14");
    await refuse("order.amount + 1", "must be boolean");
    await refuse("order.amont > 1", "amont");
    await refuse("order.items.all(a, order.items.exists(b, a.sku == b.sku))", "nested");
    await refuse('order.channel.matches("a+")', "matches");
    const long = await call("POST", "/v1/rules", {
      token: m.admin,
      body: {
        id: "x",
        name: "x",
        conditions: { expression: `${"true && ".repeat(200)}true` },
        effect: { kind: "fixed", points: 1 },
      },
    });
    expect(long.status).toBe(400);
    expect((await call("GET", "/v1/rules", { token: m.admin })).body.data).toEqual([]);
  });
});

describe("configuration cache", () => {
  it("never uses a stale rule, program setting or ladder after a change", async () => {
    const m = await createMerchant();
    const earn = async (memberId = "cache") =>
      (await postOrder(m, { orderId: uid("o"), memberId, amount: 1000 })).body.pointsEarned;
    await createRule(m, { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } });
    expect(await earn()).toBe(10);
    expect(await earn()).toBe(10);
    await call("PUT", "/v1/rules/base", {
      token: m.admin,
      body: { name: "base", effect: { kind: "per_amount", points: 5, per: 100 } },
    });
    expect(await earn()).toBe(50);
    await createRule(m, { id: "bonus", name: "bonus", effect: { kind: "fixed", points: 7 } });
    expect(await earn()).toBe(57);
    await call("PUT", "/v1/rules/bonus", {
      token: m.admin,
      body: { name: "bonus", active: false, effect: { kind: "fixed", points: 7 } },
    });
    expect(await earn()).toBe(50);
    await call("DELETE", "/v1/rules/base", { token: m.admin });
    expect(await earn()).toBe(0);
    await createRule(m, { id: "base2", name: "base2", effect: { kind: "per_amount", points: 1, per: 100 } });
    await call("PUT", "/v1/tiers", {
      token: m.admin,
      body: {
        metric: "spend",
        window: { kind: "calendar_year" },
        tiers: [{ id: "all", name: "All", threshold: 0, earnMultiplier: 3 }],
      },
    });
    expect(await earn()).toBe(30);
    const program = { pointValue: { points: 100, amount: 100 }, pendingDays: 0, expiry: { policy: "none" }, autoEnroll: false };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: program })).status).toBe(200);
    expect((await postOrder(m, { orderId: uid("o"), memberId: "stranger", amount: 1000 })).status).toBe(404);
  });

  it("a limited rule or a stamp card added after the cache was built pays exactly what it should", async () => {
    const m = await createMerchant();
    const order = (memberId = "late") => postOrder(m, { orderId: uid("o"), memberId, amount: 1000 });
    await createRule(m, { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } });
    // Cached without limited rules or cards: the steady checkout skips usage and stamps. Whether the next
    // orders read them at once or are caught by the batch's re-checks, awards stay exact (that they are read
    // at once, without a second plan, is in round-trips.test.ts).
    await order();
    await order();
    await createRule(m, {
      id: "capped",
      name: "capped",
      limits: { budget: 15 },
      effect: { kind: "fixed", points: 10 },
    });
    expect((await order()).body.pointsEarned).toBe(20);
    expect((await order()).body.pointsEarned).toBe(15);
    expect((await order()).body.pointsEarned).toBe(10);
    await call("PUT", "/v1/stamp-cards/visits", {
      token: m.admin,
      body: { name: "visits", counts: "orders", stamps: 2, reward: { kind: "points", points: 100 } },
    });
    await order();
    expect((await order()).body.pointsEarned).toBe(10);
    const cards = await call("GET", "/v1/members/late/stamp-cards", { token: m.admin });
    expect(cards.body.data[0]).toMatchObject({ stamps: 0, completed: 1 });
    await order();
    await order();
    expect((await call("GET", "/v1/members/late/stamp-cards", { token: m.admin })).body.data[0]).toMatchObject({ completed: 2 });
  });
});

describe("bonus events", () => {
  it("birthday month in the merchant's timezone: 23:30 local on the last day of the month still counts", async () => {
    const m = await createMerchant({ timezone: "Asia/Shanghai" });
    await call("PUT", "/v1/members/bday", { token: m.admin, body: { birthday: "1990-11-15" } });
    await createRule(m, {
      id: "bday",
      name: "birthday",
      conditions: { birthdayMonth: true },
      effect: { kind: "fixed", points: 200 },
    });
    // 2025-11-30 23:30 in Shanghai is 15:30 UTC: still November locally.
    const last = await postOrder(m, { orderId: "b1", memberId: "bday", amount: 100, occurredAt: "2025-11-30T15:30:00Z" });
    expect(last.body.pointsEarned).toBe(200);
    // 00:30 on 1 December locally (16:30 UTC on 30 November): no longer.
    const next = await postOrder(m, { orderId: "b2", memberId: "bday", amount: 100, occurredAt: "2025-11-30T16:30:00Z" });
    expect(next.body.pointsEarned).toBe(0);
    const unknown = await postOrder(m, { orderId: "b3", memberId: "nobday", amount: 100, occurredAt: "2025-11-30T15:30:00Z" });
    expect(unknown.body.pointsEarned).toBe(0);
  });

  it("enrolment anniversary", async () => {
    const m = await createMerchant({ timezone: "Asia/Shanghai" });
    await createRule(m, {
      id: "anniv",
      name: "anniversary",
      conditions: { enrolmentAnniversary: true },
      effect: { kind: "fixed", points: 300 },
    });
    const first = await postOrder(m, { orderId: "a0", memberId: "old", amount: 100 });
    expect(first.body.pointsEarned).toBe(0);
    // Enrolled a year ago today, locally: moved back in the database (enrolment time is set by the engine).
    const row = await env.DB.prepare("SELECT enrolled_at AS at FROM members WHERE merchant_id = ? AND id = 'old'")
      .bind(m.id)
      .first<{ at: number }>();
    const today = new Date(row!.at);
    const lastYear = Date.UTC(
      today.getUTCFullYear() - 1,
      today.getUTCMonth(),
      today.getUTCDate(),
      today.getUTCHours(),
      today.getUTCMinutes(),
    );
    await env.DB.prepare("UPDATE members SET enrolled_at = ? WHERE merchant_id = ? AND id = 'old'").bind(lastYear, m.id).run();
    const anniversary = await postOrder(m, { orderId: "a1", memberId: "old", amount: 100 });
    expect(anniversary.body.pointsEarned).toBe(300);
  });

  it("an order paid partly with points earns only on the money part, unless the program says otherwise", async () => {
    const m = await createMerchant();
    await createRule(m, { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } });
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    const redeem = await redeemFor(m, "pp", 4000, "mixed");
    expect(redeem.status, redeem.text).toBe(201);
    // 100.00 order, 40.00 paid with points: earns on 60.00.
    const mixed = await postOrder(m, { orderId: "mixed", memberId: "pp", amount: 10_000 });
    expect(mixed.body.pointsEarned).toBe(60);
    const program = {
      pointValue: { points: 100, amount: 100 },
      pendingDays: 0,
      expiry: { policy: "none" },
      autoEnroll: true,
      earnOnPointsPaid: true,
    };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: program })).status).toBe(200);
    await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("rd"),
      body: { memberId: "pp", points: 4000, orderId: "mixed2" },
    });
    const all = await postOrder(m, { orderId: "mixed2", memberId: "pp", amount: 10_000 });
    expect(all.body.pointsEarned).toBe(100);
  });
});

describe("orders paid with points: the redemption comes first", () => {
  const base = { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } };
  const pay = (m: TestMerchant, orderId: string, points: number, hold = false) =>
    call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("rd"),
      body: { memberId: "pp", points, orderId, ...(hold ? { hold } : {}) },
    });
  const balance = async (m: TestMerchant) => (await call("GET", "/v1/members/pp", { token: m.admin })).body.balance as number;
  const linked = async (m: TestMerchant, orderId: string) =>
    (
      await env.DB.prepare("SELECT COUNT(*) AS n FROM redemptions WHERE merchant_id = ? AND order_id = ?")
        .bind(m.id, orderId)
        .first<{ n: number }>()
    )?.n;

  it("a redemption for an order already posted is 422 naming orderId, and writes nothing", async () => {
    const m = await createMerchant();
    await createRule(m, base);
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    // Posted first, it earned on its whole 100.00: paying 40.00 of it with points now would earn on points.
    const posted = await postOrder(m, { orderId: "late", memberId: "pp", amount: 10_000 });
    expect(posted.body.pointsEarned).toBe(100);
    const before = await balance(m);
    for (const hold of [false, true]) {
      const r = await pay(m, "late", 4000, hold);
      expect(r.status, r.text).toBe(422);
      expect(r.body).toMatchObject({ code: "unprocessable", errors: [{ path: "orderId" }] });
    }
    expect(await balance(m)).toBe(before);
    expect(await linked(m, "late")).toBe(0);
  });

  it("an order with points held for it is 409 until the hold is captured (earns on the money part) or cancelled", async () => {
    const m = await createMerchant();
    await createRule(m, base);
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    const hold = await pay(m, "held", 4000, true);
    expect(hold.status, hold.text).toBe(201);
    const refused = await postOrder(m, { orderId: "held", memberId: "pp", amount: 10_000 });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body).toMatchObject({ code: "conflict", errors: [{ path: "orderId" }] });
    const orders = await env.DB.prepare("SELECT COUNT(*) AS n FROM orders WHERE merchant_id = ? AND id = 'held'")
      .bind(m.id)
      .first<{ n: number }>();
    expect(orders?.n).toBe(0);
    const capture = await call("POST", `/v1/redemptions/${hold.body.id}/capture`, {
      token: m.checkout,
      idempotencyKey: uid("c"),
    });
    expect(capture.status, capture.text).toBe(200);
    const captured = await postOrder(m, { orderId: "held", memberId: "pp", amount: 10_000 });
    expect(captured.status, captured.text).toBe(201);
    expect(captured.body.pointsEarned).toBe(60);
    // Cancelled: the order was paid with money alone.
    const other = await pay(m, "unheld", 4000, true);
    await call("POST", `/v1/redemptions/${other.body.id}/cancel`, { token: m.checkout, idempotencyKey: uid("c") });
    expect((await postOrder(m, { orderId: "unheld", memberId: "pp", amount: 10_000 })).body.pointsEarned).toBe(100);
    // Past its 15 minutes a hold can pay nothing (a capture then releases it): the order earns on the whole amount.
    const lapsed = await pay(m, "lapsed", 4000, true);
    try {
      advanceClock(15 * MINUTE_MS + 1);
      const late = await postOrder(m, { orderId: "lapsed", memberId: "pp", amount: 10_000 });
      expect([late.status, late.body.pointsEarned]).toEqual([201, 100]);
      const tooLate = await call("POST", `/v1/redemptions/${lapsed.body.id}/capture`, {
        token: m.checkout,
        idempotencyKey: uid("c"),
      });
      expect(tooLate.status, tooLate.text).toBe(409);
    } finally {
      resetClock();
    }
  });

  it("with earnOnPointsPaid, points-paid parts earn: a later redemption and a pending hold are accepted", async () => {
    const m = await createMerchant();
    await createRule(m, base);
    const program = { pointValue: { points: 100, amount: 100 }, pendingDays: 0, expiry: { policy: "none" }, autoEnroll: true };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: { ...program, earnOnPointsPaid: true } })).status).toBe(200);
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    await postOrder(m, { orderId: "late", memberId: "pp", amount: 10_000 });
    expect((await pay(m, "late", 4000)).status).toBe(201);
    expect((await pay(m, "held", 4000, true)).status).toBe(201);
    expect((await postOrder(m, { orderId: "held", memberId: "pp", amount: 10_000 })).body.pointsEarned).toBe(100);
  });

  // The order is planned from its member snapshot (speculation) or from a read; either way a redemption linked
  // to it that commits before its write batch must be seen.
  for (const planned of ["from the member snapshot", "from a read"])
    it(`a redemption linked to the order between its plan (${planned}) and its write: planned again`, async () => {
      const m = await createMerchant();
      await createRule(m, base);
      await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
      // A linked redemption keeps no snapshot: the next order of the member reads.
      if (planned === "from a read") expect((await pay(m, "elsewhere", 100)).status).toBe(201);
      for (const [orderId, hold] of [
        ["raced", false],
        ["raced-hold", true],
      ] as const) {
        const race = onceBefore(env.DB, "INSERT INTO orders", async () => {
          const r = await pay(m, orderId, 4000, hold);
          expect(r.status, r.text).toBe(201);
        });
        const order = { orderId, memberId: "pp", amount: 10_000, currency: "CNY" };
        const response = await postThrough(race.db, "/v1/orders", m.checkout, order);
        const body = (await response.json()) as { pointsEarned?: number; code?: string };
        expect(race.fired()).toBe(true);
        if (hold) expect([response.status, body.code]).toEqual([409, "conflict"]);
        else expect([response.status, body.pointsEarned]).toEqual([201, 60]);
      }
    });

  it("a hold whose order was posted once the hold ran out cannot be captured by a request read just before", async () => {
    const m = await createMerchant();
    await createRule(m, base);
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    const start = now();
    const hold = await pay(m, "edge", 4000, true);
    expect(hold.status, hold.text).toBe(201);
    // Past the hold's time nothing blocks the order: it earns on its whole amount.
    setClock(start + 15 * MINUTE_MS + 50);
    const order = await postOrder(m, { orderId: "edge", memberId: "pp", amount: 10_000 });
    expect([order.status, order.body.pointsEarned]).toEqual([201, 100]);
    // A capture whose clock reads a moment before the hold's end (an isolate a little behind) would make the
    // points pay 40.00 of an order that earned on all of it.
    setClock(start + 15 * MINUTE_MS - 50);
    const before = await balance(m);
    const capture = await call("POST", `/v1/redemptions/${hold.body.id}/capture`, {
      token: m.checkout,
      idempotencyKey: uid("c"),
    });
    expect([capture.status, capture.body.code]).toEqual([409, "conflict"]);
    expect(await balance(m)).toBe(before);
    const cancel = await call("POST", `/v1/redemptions/${hold.body.id}/cancel`, { token: m.checkout, idempotencyKey: uid("c") });
    expect(cancel.status, cancel.text).toBe(200);
    resetClock();
  });

  it("refunding all the money of an order points paid part of, then cancelling the redemption, ends where it began", async () => {
    const m = await createMerchant();
    await createRule(m, base);
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    const start = await balance(m);
    const paid = await pay(m, "mixed", 4000);
    expect(paid.status, paid.text).toBe(201);
    const order = await postOrder(m, { orderId: "mixed", memberId: "pp", amount: 10_000 });
    expect(order.body.pointsEarned).toBe(60);
    // The money part comes back in two refunds; the points come back with the redemption's cancel.
    const refunds = [];
    for (const amount of [2_500, 3_500])
      refunds.push(
        await call("POST", "/v1/orders/mixed/refunds", {
          token: m.checkout,
          idempotencyKey: uid("r"),
          body: { refundId: uid("rf"), amount },
        }),
      );
    expect(refunds.map((r) => r.body.pointsReversed)).toEqual([25, 35]);
    const cancel = await call("POST", `/v1/redemptions/${paid.body.id}/cancel`, { token: m.checkout, idempotencyKey: uid("c") });
    expect(cancel.status, cancel.text).toBe(200);
    expect(await balance(m)).toBe(start);
    // What is left of the amount (the part points paid) reverses nothing more.
    const rest = await call("POST", "/v1/orders/mixed/refunds", {
      token: m.checkout,
      idempotencyKey: uid("r"),
      body: { refundId: uid("rf") },
    });
    expect([rest.status, rest.body.pointsReversed]).toEqual([201, 0]);
  });

  it("another member's redemption naming the same order id pays nothing of this member's order", async () => {
    const m = await createMerchant();
    await createRule(m, base);
    await postOrder(m, { orderId: "seed", memberId: "pp", amount: 1_000_000 });
    const other = await pay(m, "shared", 4000);
    expect(other.status, other.text).toBe(201);
    const order = await postOrder(m, { orderId: "shared", memberId: "bob", amount: 10_000 });
    expect([order.status, order.body.pointsEarned]).toEqual([201, 100]);
  });
});

describe("rule lint", () => {
  it("warns when a first-order rule pays more per unit spent than the best a regular member can earn", async () => {
    const m = await createMerchant();
    const base = await createRule(m, { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } });
    expect(base.warnings).toEqual([]);
    const rich = await createRule(m, {
      id: "welcome",
      name: "welcome",
      conditions: { firstOrder: true },
      effect: { kind: "per_amount", points: 5, per: 100 },
    });
    expect(rich.warnings).toEqual([
      { code: "newcomer_outearns_regulars", message: expect.stringContaining("pays 5.00 points per 100 minor units") },
    ]);
    // A fixed welcome bonus on orders of at least 100.00 pays 0.5 per 100: below what regulars earn.
    const fair = await call("PUT", "/v1/rules/welcome", {
      token: m.admin,
      body: { name: "welcome", conditions: { firstOrder: true, minAmount: 10_000 }, effect: { kind: "fixed", points: 50 } },
    });
    expect(fair.body.warnings).toEqual([]);
    // A gold tier at 6x makes regulars out-earn even the rich welcome rule.
    await call("PUT", "/v1/tiers", {
      token: m.admin,
      body: {
        metric: "spend",
        window: { kind: "calendar_year" },
        tiers: [
          { id: "member", name: "Member", threshold: 0 },
          { id: "gold", name: "Gold", threshold: 100_000, earnMultiplier: 6 },
        ],
      },
    });
    const again = await call("PUT", "/v1/rules/welcome", {
      token: m.admin,
      body: { name: "welcome", conditions: { firstOrder: true }, effect: { kind: "per_amount", points: 5, per: 100 } },
    });
    expect(again.body.warnings).toEqual([]);
  });
});

describe("rule replay", () => {
  it("replays drafts over the stored orders of a range, in chunks, writing nothing", async () => {
    const m = await createMerchant();
    await createRule(m, { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } });
    for (let i = 0; i < 5; i++)
      await postOrder(m, {
        orderId: `h${i}`,
        memberId: `rp${i % 2}`,
        amount: 1000 * (i + 1),
        occurredAt: `2026-10-0${i + 1}T04:00:00Z`,
      });
    await postOrder(m, { orderId: "later", memberId: "rp0", amount: 1000, occurredAt: "2026-11-05T04:00:00Z" });
    const r = await call("POST", "/v1/rules/replay", {
      token: m.admin,
      body: {
        from: "2026-10-01T00:00:00Z",
        to: "2026-11-01T00:00:00Z",
        rules: [
          { id: "double", name: "double", effect: { kind: "multiplier", factor: 2 } },
          { id: "capped", name: "capped", effect: { kind: "fixed", points: 10 }, limits: { budget: 25 } },
        ],
      },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      orders: 5,
      earned: { points: 150, rules: [{ ruleId: "base", points: 150 }] },
      wouldEarn: {
        points: 150 + 150 + 25,
        rules: [
          { ruleId: "base", points: 150, orders: 5 },
          { ruleId: "double", points: 150, orders: 5 },
          { ruleId: "capped", points: 25, orders: 3 },
        ],
      },
      nextCursor: null,
    });
    const bad = await call("POST", "/v1/rules/replay", {
      token: m.admin,
      body: {
        from: "2026-11-01T00:00:00Z",
        to: "2026-10-01T00:00:00Z",
        rules: [{ id: "x", name: "x", effect: { kind: "fixed", points: 1 } }],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("to");
    expect((await call("GET", "/v1/rules", { token: m.admin })).body.data).toHaveLength(1);
  });

  it("counts each order's earlier orders, those before the range included, for members interleaved in a chunk", async () => {
    const m = await createMerchant();
    const placed = async (orderId: string, memberId: string, day: string) =>
      expect((await postOrder(m, { orderId, memberId, amount: 1000, occurredAt: `2026-${day}T04:00:00Z` })).status).toBe(201);
    for (const [i, day] of ["09-01", "09-02", "09-03"].entries()) await placed(`s${i}`, "regular", day);
    // October: regular's 4th-6th orders, newcomer's 1st-3rd, alternating; two on one instant (ties by order id).
    await placed("o1", "regular", "10-01");
    await placed("o2", "newcomer", "10-02");
    await placed("o3", "regular", "10-03");
    await placed("o4", "newcomer", "10-03");
    await placed("o5", "regular", "10-05");
    await placed("o6", "newcomer", "10-06");
    const r = await call("POST", "/v1/rules/replay", {
      token: m.admin,
      body: {
        from: "2026-10-01T00:00:00Z",
        to: "2026-11-01T00:00:00Z",
        onlyDrafts: true,
        rules: [
          { id: "first", name: "first", conditions: { firstOrder: true }, effect: { kind: "fixed", points: 100 } },
          // The 3rd, 6th, ... order of a member: regular's 6th (o5) and newcomer's 3rd (o6).
          {
            id: "third",
            name: "third",
            conditions: { expression: "member.orderCount % 3 == 2" },
            effect: { kind: "fixed", points: 10 },
          },
        ],
      },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.orders).toBe(6);
    expect(r.body.wouldEarn.rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ruleId: "first", points: 100, orders: 1 }),
        expect.objectContaining({ ruleId: "third", points: 20, orders: 2 }),
      ]),
    );
  });

  it("reads rows in proportion to the orders replayed, not to the square of one member's history", async () => {
    const m = await createMerchant();
    const n = 150;
    const t0 = Date.parse("2026-10-01T00:00:00Z");
    for (let i = 0; i < n; i++)
      await postOrder(m, {
        orderId: `h${i}`,
        memberId: "heavy",
        amount: 100,
        occurredAt: new Date(t0 + i * 60_000).toISOString(),
      });
    const ctx = createExecutionContext();
    const response = await createApp().fetch(
      new Request("http://engine.test/v1/rules/replay", {
        method: "POST",
        headers: { authorization: `Bearer ${m.admin}`, "content-type": "application/json" },
        body: JSON.stringify({
          from: "2026-10-01T00:00:00Z",
          to: "2026-10-02T00:00:00Z",
          rules: [{ id: "first", name: "first", conditions: { firstOrder: true }, effect: { kind: "fixed", points: 5 } }],
        }),
      }),
      { ...env, D1_STATS: "on" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    // Counting each order's earlier orders one by one read 22,802 rows here.
    expect(Number(response.headers.get("x-d1-rows-read"))).toBeLessThan(20 * n);
  });

  /**
   * 25 orders of five members, one second apart, of 500 items each: with 100 drafts whose expressions walk
   * every item, one call replays 19 of them (MAX_REPLAY_WORK), so the range takes two calls.
   */
  async function pagedRange() {
    const m = await createMerchant();
    await createRule(m, { id: "base", name: "base", effect: { kind: "per_amount", points: 1, per: 100 } });
    const items = Array.from({ length: 500 }, (_, i) => ({ sku: `s${i}`, quantity: 1, unitPrice: 1 }));
    const start = Date.parse("2026-10-05T04:00:00Z");
    for (let i = 0; i < 25; i++) {
      const at = new Date(start + i * 1000).toISOString();
      const r = await postOrder(m, {
        orderId: `o-${String(i).padStart(2, "0")}`,
        memberId: `mem-${i % 5}`,
        amount: 500,
        items,
        occurredAt: at,
      });
      expect(r.status, r.text).toBe(201);
    }
    const fillers = Array.from({ length: 100 }, (_, i) => ({
      id: `filler-${i}`,
      name: "never",
      conditions: { expression: `order.items.exists(i, i.sku == "none-${i}")` },
      effect: { kind: "fixed", points: 1 },
    }));
    return { m, fillers, range: { from: "2026-10-05T00:00:00Z", to: "2026-10-06T00:00:00Z", onlyDrafts: true } };
  }

  /** Every call of a replay from the first to the last, with the would-earn points per rule summed over the calls. */
  async function replayAll(m: TestMerchant, body: Record<string, unknown>) {
    const points = new Map<string, number>();
    const cursors: string[] = [];
    let cursor: string | undefined;
    do {
      const r = await call("POST", "/v1/rules/replay", { token: m.admin, body: { ...body, ...(cursor ? { cursor } : {}) } });
      expect(r.status, r.text).toBe(200);
      for (const x of r.body.wouldEarn.rules as { ruleId: string; points: number }[])
        points.set(x.ruleId, (points.get(x.ruleId) ?? 0) + x.points);
      cursor = r.body.nextCursor ?? undefined;
      if (cursor) cursors.push(cursor);
    } while (cursor && cursors.length < 10);
    return { points: Object.fromEntries(points), cursors };
  }

  const stored = async (merchantId: string) =>
    env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM orders WHERE merchant_id = ?1) AS orders, (SELECT COUNT(*) FROM ledger_entries WHERE merchant_id = ?1) AS entries,
        (SELECT COUNT(*) FROM rule_usage WHERE merchant_id = ?1) AS usage, (SELECT config_version FROM merchants WHERE id = ?1) AS version`,
    )
      .bind(merchantId)
      .first();

  it("consumes budgets and per-member limits across the calls of one range as one call would", async () => {
    const { m, fillers, range } = await pagedRange();
    const drafts = [
      // Runs out on the second call, after 23 of the 25 orders.
      { id: "capped", name: "capped", priority: 20, effect: { kind: "fixed", points: 10 }, limits: { budget: 230 } },
      // Stops the rules below it for the first five orders, until its budget is spent.
      {
        id: "first",
        name: "first",
        priority: 10,
        exclusive: true,
        effect: { kind: "fixed", points: 10 },
        limits: { budget: 50 },
      },
      // 3 awards a member a day: every member reaches it, member 4 only on the second call.
      { id: "daily", name: "daily", effect: { kind: "fixed", points: 10 }, limits: { perMember: { points: 30, per: "day" } } },
    ];
    const before = await stored(m.id);
    const paged = await replayAll(m, { ...range, rules: [...drafts, ...fillers] });
    expect(paged.cursors).toHaveLength(1);
    const whole = await replayAll(m, { ...range, rules: drafts });
    expect(whole.cursors).toHaveLength(0);
    expect(whole.points).toEqual({ capped: 230, first: 50, daily: 150 });
    expect(paged.points).toEqual(whole.points);
    expect(await stored(m.id)).toEqual(before);
  }, 60_000);

  it("refuses a cursor positioned past any date with a 400, also where per-member limits read it as a day", async () => {
    const m = await createMerchant();
    const first = await postOrder(m, { orderId: "o-1", memberId: "mem-1", amount: 500, occurredAt: "2026-10-05T04:00:00Z" });
    expect(first.status, first.text).toBe(201);
    const limited = {
      id: "daily",
      name: "daily",
      effect: { kind: "fixed", points: 10 },
      limits: { perMember: { points: 30, per: "day" } },
    };
    const body = { from: "2026-10-05T00:00:00Z", to: "2026-10-06T00:00:00Z", onlyDrafts: true, rules: [limited] };
    const digest = await replayDigest(ReplayInputSchema.parse(body), [], "Asia/Shanghai");
    const encode = (value: unknown) => btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
    const cursorAt = (at: number) => encode({ v: 1, digest, at: [at, "x"], used: [], spent: [] });
    // The digest is right: a position inside the range is taken.
    const inside = await call("POST", "/v1/rules/replay", {
      token: m.admin,
      body: { ...body, cursor: cursorAt(Date.parse(body.from)) },
    });
    expect([inside.status, inside.body.orders]).toEqual([200, 1]);
    for (const at of [9e15, -9e15]) {
      const r = await call("POST", "/v1/rules/replay", { token: m.admin, body: { ...body, cursor: cursorAt(at) } });
      expect([r.status, r.body.errors?.[0]?.path], r.text.slice(0, 200)).toEqual([400, "cursor"]);
    }
  });

  it("refuses a cursor of another replay, or one it did not make, with a 400 naming cursor", async () => {
    const { m, fillers, range } = await pagedRange();
    const drafts = [{ id: "capped", name: "capped", effect: { kind: "fixed", points: 10 }, limits: { budget: 230 } }, ...fillers];
    const body = { ...range, rules: drafts };
    const first = await call("POST", "/v1/rules/replay", { token: m.admin, body });
    const cursor: string = first.body.nextCursor;
    expect(cursor).toEqual(expect.any(String));
    const encode = (value: unknown) => btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
    const decoded = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    const refused = [
      { ...body, cursor, rules: drafts.slice(0, -1) },
      { ...body, cursor, to: "2026-10-05T23:00:00Z" },
      { ...body, cursor, onlyDrafts: false },
      { ...body, cursor: "not a cursor" },
      { ...body, cursor: encode({ v: 1 }) },
      // Its digest matches, but not what the rules allow.
      { ...body, cursor: encode({ ...decoded, used: [["capped", 230]] }) },
      { ...body, cursor: encode({ ...decoded, used: [["filler-1", 1]] }) },
      { ...body, cursor: encode({ ...decoded, spent: [["capped", 1, "o-01", 1_000]] }) },
      // Positions outside the range (past any date, before the range).
      { ...body, cursor: encode({ ...decoded, at: [9e15, "x"] }) },
      { ...body, cursor: encode({ ...decoded, at: [-9e15, "x"] }) },
      { ...body, cursor: encode({ ...decoded, at: [Date.parse(range.from) - 1, "x"] }) },
    ];
    for (const attempt of refused) {
      const r = await call("POST", "/v1/rules/replay", { token: m.admin, body: attempt });
      expect([r.status, r.body.errors?.[0]?.path], JSON.stringify(attempt.cursor).slice(0, 80)).toEqual([400, "cursor"]);
    }
    const next = await call("POST", "/v1/rules/replay", { token: m.admin, body: { ...body, cursor } });
    expect([next.status, next.body.orders, next.body.nextCursor]).toEqual([200, 6, null]);
  }, 60_000);
});

import { describe, expect, it } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, ledger, member, postOrder, uid } from "./support/api";

describe("POST /v1/orders", () => {
  it("earns by every matching rule, reports awards, and enrols a new member", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await createRule(m, {
      id: "tea",
      name: "tea x1 extra",
      conditions: { categories: ["tea"] },
      effect: { kind: "per_amount", points: 1, per: 100 },
    });
    await createRule(m, {
      id: "welcome",
      name: "welcome",
      conditions: { firstOrder: true },
      effect: { kind: "fixed", points: 50 },
    });
    await createRule(m, {
      id: "big",
      name: "big basket",
      conditions: { minAmount: 100000 },
      effect: { kind: "fixed", points: 999 },
    });
    const memberId = uid("m");
    const r = await postOrder(m, {
      orderId: "o-1",
      memberId,
      amount: 10000,
      items: [
        { sku: "tea-1", category: "tea", quantity: 2, unitPrice: 3000 },
        { sku: "cup", category: "ware", quantity: 1, unitPrice: 4000 },
      ],
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ orderId: "o-1", memberId, pointsEarned: 100 + 60 + 50 });
    expect(r.body.awards).toEqual(
      expect.arrayContaining([
        { ruleId: "base", points: 100, ruleVersion: 1 },
        { ruleId: "tea", points: 60, ruleVersion: 1 },
        { ruleId: "welcome", points: 50, ruleVersion: 1 },
      ]),
    );
    expect(r.body.awards).toHaveLength(3);
    expect(r.body.member).toMatchObject({ id: memberId, balance: 210, lifetimeEarned: 210, pending: 0 });

    // The welcome rule applies to the first order only.
    const second = await postOrder(m, { orderId: "o-2", memberId, amount: 1000 });
    expect(second.body.pointsEarned).toBe(10);
    expect(second.body.member.balance).toBe(220);
  });

  it("refuses an unknown member when autoEnroll is off, and another currency", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const put = await call("PUT", "/v1/program", {
      token: m.admin,
      body: { pointValue: { points: 100, amount: 100 }, pendingDays: 0, expiry: { policy: "none" }, autoEnroll: false },
    });
    expect(put.status).toBe(200);
    const unknown = await postOrder(m, { orderId: "o-x", memberId: "nobody", amount: 100 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("not_found");

    await call("PUT", "/v1/members/known", { token: m.checkout, body: {} });
    const usd = await postOrder(m, { orderId: "o-usd", memberId: "known", amount: 100, currency: "USD" });
    expect(usd.status).toBe(422);
    expect(usd.body.code).toBe("unprocessable");
    expect(usd.body.errors[0].path).toBe("currency");
    expect((await member(m, "known")).lifetimeEarned).toBe(0);
  });

  it("replays the first response for the same key and body, refuses the key with another body", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const body = { orderId: "o-1", memberId: "alice", amount: 5000 };
    const first = await postOrder(m, body, "key-1");
    const again = await postOrder(m, body, "key-1");
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();

    const reused = await postOrder(m, { ...body, amount: 6000 }, "key-1");
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe("idempotency_key_reused");

    const otherKey = await postOrder(m, body, "key-2");
    expect(otherKey.status).toBe(409);
    expect(otherKey.body.code).toBe("conflict");

    expect(await ledger(m, "alice")).toHaveLength(1);
    expect((await member(m, "alice")).balance).toBe(50);
  });

  it("writes once when 20 identical requests race with one key", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const body = { orderId: "race", memberId: "racer", amount: 9900 };
    const replies = await Promise.all(Array.from({ length: 20 }, () => postOrder(m, body, "one-key")));
    for (const r of replies) expect(r.status, r.text).toBe(201);
    expect(new Set(replies.map((r) => r.text)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get("idempotent-replayed") !== "true")).toHaveLength(1);
    const entries = await ledger(m, "racer");
    expect(entries).toHaveLength(1);
    expect((await member(m, "racer")).balance).toBe(99);
  });

  it("earns once when one order is posted in parallel under different keys", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postOrder(m, { orderId: "same-order", memberId: "dup", amount: 1000 }, `k-${i}`)),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409).every((r) => r.body.code === "conflict")).toBe(true);
    expect((await member(m, "dup")).balance).toBe(10);
  });

  it("gives a first-order bonus once when a member's first orders arrive together", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await createRule(m, {
      id: "welcome",
      name: "welcome",
      conditions: { firstOrder: true },
      effect: { kind: "fixed", points: 500 },
    });
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postOrder(m, { orderId: `first-${i}`, memberId: "eager", amount: 1000 })),
    );
    for (const r of replies) expect(r.status, r.text).toBe(201);
    expect(replies.filter((r) => r.body.awards.some((a: { ruleId: string }) => a.ruleId === "welcome"))).toHaveLength(1);
    expect((await member(m, "eager")).balance).toBe(8 * 10 + 500);
    // Later orders of the member arriving together all succeed too.
    const later = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postOrder(m, { orderId: `later-${i}`, memberId: "eager", amount: 1000 })),
    );
    for (const r of later) expect(r.status, r.text).toBe(201);
  });

  it("pays an expression on the order count once when the member's orders arrive together, first or later", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    // The same bonuses written as expressions: each order's write re-checks the count it was planned on.
    for (const [id, expression] of [
      ["welcome-cel", "member.orderCount == 0"],
      ["fifth-cel", "member.orderCount == 4"],
    ])
      await createRule(m, { id, name: id, conditions: { expression }, effect: { kind: "fixed", points: 500 } });
    const paid = (replies: { body: { awards: { ruleId: string }[] } }[], ruleId: string) =>
      replies.filter((r) => r.body.awards.some((a) => a.ruleId === ruleId)).length;
    const first = await Promise.all(
      Array.from({ length: 4 }, (_, i) => postOrder(m, { orderId: `first-${i}`, memberId: "eager", amount: 1000 })),
    );
    for (const r of first) expect(r.status, r.text).toBe(201);
    expect(paid(first, "welcome-cel")).toBe(1);
    const later = await Promise.all(
      Array.from({ length: 6 }, (_, i) => postOrder(m, { orderId: `later-${i}`, memberId: "eager", amount: 1000 })),
    );
    for (const r of later) expect(r.status, r.text).toBe(201);
    expect(paid(later, "fifth-cel")).toBe(1);
    expect((await member(m, "eager")).balance).toBe(10 * 10 + 2 * 500);
  });

  it("requires an Idempotency-Key", async () => {
    const m = await createMerchant();
    const r = await call("POST", "/v1/orders", {
      token: m.checkout,
      body: { orderId: "o", memberId: "a", amount: 1, currency: "CNY" },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].path).toBe("header.Idempotency-Key");
  });

  it("quotes without writing", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const r = await call("POST", "/v1/orders/quote", {
      token: m.checkout,
      body: { orderId: "q-1", memberId: "quoted", amount: 4321, currency: "CNY" },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ pointsEarned: 43, awards: [{ ruleId: "base", points: 43, ruleVersion: 1 }], skipped: [] });
    expect((await call("GET", "/v1/members/quoted", { token: m.admin })).status).toBe(404);
    // The quoted order id is still free to post.
    expect((await postOrder(m, { orderId: "q-1", memberId: "quoted", amount: 4321 })).status).toBe(201);
  });

  it("applies daysOfWeek in the merchant's time zone", async () => {
    const m = await createMerchant({ timezone: "Asia/Shanghai" });
    await createRule(m, { id: "monday", name: "Monday", conditions: { daysOfWeek: [1] }, effect: { kind: "fixed", points: 7 } });
    // 2026-11-15T17:00Z is Sunday in UTC but already Monday 01:00 in Shanghai.
    const monday = await postOrder(m, { orderId: "tz-1", memberId: "tz", amount: 100, occurredAt: "2026-11-15T17:00:00.000Z" });
    expect(monday.body.pointsEarned).toBe(7);
    // 2026-11-15T15:00Z is still Sunday 23:00 in Shanghai.
    const sunday = await postOrder(m, { orderId: "tz-2", memberId: "tz", amount: 100, occurredAt: "2026-11-15T15:00:00.000Z" });
    expect(sunday.body.pointsEarned).toBe(0);
  });

  it("rejects an order dated in the future", async () => {
    const m = await createMerchant();
    const r = await postOrder(m, { orderId: "future", memberId: "f", amount: 100, occurredAt: "2099-01-01T00:00:00Z" });
    expect(r.status).toBe(422);
  });
});

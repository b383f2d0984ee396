/** Stamp cards and vouchers through HTTP: stamps move with orders, completed cards pay in the order's batch. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_ACTIVE_STAMP_CARDS } from "../src/earning/stamp-card-row";
import { advanceClock, MINUTE_MS, resetClock } from "../src/platform/clock";
import { call, createMerchant, ledger, member, postOrder, uid } from "./support/api";
import { dyingAfter, onceBefore, sendThrough } from "./support/d1-faults";

const teaCard = {
  name: "Tenth tea free",
  counts: "quantity",
  match: { categories: ["tea"] },
  stamps: 5,
  reward: { kind: "voucher", name: "Free tea", value: 1500 },
};

describe("stamp cards", () => {
  it("collects stamps per matching unit and issues a voucher per completed card, redeemed once", async () => {
    const m = await createMerchant();
    const put = await call("PUT", "/v1/stamp-cards/tea5", { token: m.admin, body: teaCard });
    expect(put.status, put.text).toBe(201);
    expect((await call("PUT", "/v1/stamp-cards/tea5", { token: m.admin, body: teaCard })).status).toBe(200);
    const items = (quantity: number) => [
      { sku: "lj", category: "tea", quantity, unitPrice: 1000 },
      { sku: "cup", category: "ware", quantity: 9, unitPrice: 100 },
    ];
    await postOrder(m, { orderId: "s1", memberId: "st", amount: 3900, items: items(3) });
    let cards = await call("GET", "/v1/members/st/stamp-cards", { token: m.read });
    expect(cards.body.data).toEqual([
      { cardId: "tea5", name: "Tenth tea free", stamps: 3, stampsRequired: 5, stampDebt: 0, completed: 0 },
    ]);
    // 3 + 8 = 11 stamps: two cards complete, 1 stamp stays.
    await postOrder(m, { orderId: "s2", memberId: "st", amount: 8900, items: items(8) });
    cards = await call("GET", "/v1/members/st/stamp-cards", { token: m.read });
    expect(cards.body.data[0]).toMatchObject({ stamps: 1, completed: 2 });
    const vouchers = await call("GET", "/v1/members/st/vouchers", { token: m.checkout });
    expect(vouchers.body.data).toHaveLength(2);
    expect(vouchers.body.data[0]).toMatchObject({
      cardId: "tea5",
      name: "Free tea",
      value: 1500,
      orderId: "s2",
      status: "issued",
    });
    const code = vouchers.body.data[0].code;
    const key = uid("v");
    const redeemed = await call("POST", `/v1/vouchers/${code}/redeem`, { token: m.checkout, idempotencyKey: key });
    expect(redeemed.status, redeemed.text).toBe(200);
    expect(redeemed.body.status).toBe("redeemed");
    const replay = await call("POST", `/v1/vouchers/${code}/redeem`, { token: m.checkout, idempotencyKey: key });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const again = await call("POST", `/v1/vouchers/${code}/redeem`, { token: m.checkout, idempotencyKey: uid("v") });
    expect(again.status).toBe(409);
    expect((await call("POST", "/v1/vouchers/vch_nothing/redeem", { token: m.checkout, idempotencyKey: uid("v") })).status).toBe(
      404,
    );
    const token = await call("POST", "/v1/members/st/tokens", { token: m.checkout, idempotencyKey: uid("t") });
    const mine = await call("GET", "/v1/me/vouchers", { token: token.body.token });
    expect(mine.body.data.map((v: any) => v.status).sort()).toEqual(["issued", "redeemed"]);
    expect((await call("GET", "/v1/me/stamp-cards", { token: token.body.token })).body.data[0]).toMatchObject({ stamps: 1 });
    const other = await createMerchant();
    expect((await call("POST", `/v1/vouchers/${code}/redeem`, { token: other.checkout, idempotencyKey: uid("v") })).status).toBe(
      404,
    );
    expect((await call("GET", "/v1/members/st/vouchers", { token: other.admin })).status).toBe(404);
  });

  it("a redemption whose reply was lost once it committed is replayed to the retry, not refused as redeemed", async () => {
    const m = await createMerchant();
    await call("PUT", "/v1/stamp-cards/tea5", { token: m.admin, body: teaCard });
    await postOrder(m, {
      orderId: "lost1",
      memberId: "lr",
      amount: 5000,
      items: [{ sku: "lj", category: "tea", quantity: 5, unitPrice: 1000 }],
    });
    const code = (await call("GET", "/v1/members/lr/vouchers", { token: m.read })).body.data[0].code;
    const key = uid("v");
    // The first attempt dies right after the voucher's update commits; its client never hears back.
    const request = new Request(`http://engine.test/v1/vouchers/${code}/redeem`, {
      method: "POST",
      headers: { authorization: `Bearer ${m.checkout}`, "idempotency-key": key },
    });
    await (await sendThrough(dyingAfter(env.DB, /UPDATE\s+"?vouchers"?/i), request)).text();
    // The client retries with the same key, later than any claim of a dead request is honoured.
    advanceClock(5 * MINUTE_MS);
    try {
      const retry = await call("POST", `/v1/vouchers/${code}/redeem`, { token: m.checkout, idempotencyKey: key });
      expect(retry.status, retry.text).toBe(200);
      expect(retry.body).toMatchObject({ code, status: "redeemed" });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
    } finally {
      resetClock();
    }
  });

  it("pays points for a completed card through the ledger, and concurrent orders never lose or double a stamp", async () => {
    const m = await createMerchant();
    await call("PUT", "/v1/stamp-cards/visits", {
      token: m.admin,
      body: { name: "Every third visit", counts: "orders", stamps: 3, reward: { kind: "points", points: 100 } },
    });
    await postOrder(m, { orderId: "first", memberId: "pt", amount: 100 });
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postOrder(m, { orderId: `v${i}`, memberId: "pt", amount: 100 })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(201));
    // 9 orders: three cards completed, 0 stamps left, 300 bonus points.
    const cards = await call("GET", "/v1/members/pt/stamp-cards", { token: m.admin });
    expect(cards.body.data[0]).toMatchObject({ stamps: 0, completed: 3 });
    const entries = await ledger(m, "pt");
    expect(entries.filter((e) => e.type === "bonus").map((e) => e.points)).toEqual([100, 100, 100]);
    expect((await member(m, "pt")).balance).toBe(300);
  });

  it("validates cards, naming the field, and lists them", async () => {
    const m = await createMerchant();
    const bad = await call("PUT", "/v1/stamp-cards/x", {
      token: m.admin,
      body: { name: "", counts: "visits", stamps: 0, reward: { kind: "voucher", name: "x", value: -1 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.path)).toEqual(expect.arrayContaining(["name", "counts", "stamps", "reward.value"]));
    await call("PUT", "/v1/stamp-cards/a", { token: m.admin, body: teaCard });
    const list = await call("GET", "/v1/stamp-cards", { token: m.read });
    expect(list.body.data.map((c: any) => c.id)).toEqual(["a"]);
  });

  it("warns when a card counts orders without minAmount: a visit refunded all but a little keeps its stamp", async () => {
    const m = await createMerchant();
    const visits = {
      name: "Tenth coffee",
      counts: "orders",
      stamps: 10,
      reward: { kind: "voucher", name: "Coffee", value: 500 },
    };
    const bare = await call("PUT", "/v1/stamp-cards/visits", { token: m.admin, body: visits });
    expect(bare.status, bare.text).toBe(201);
    expect(bare.body.warnings).toEqual([{ code: "visit_kept_on_partial_refund", message: expect.stringContaining("minAmount") }]);
    // What the warning says: 5.00 refunded down to 0.01 keeps the visit's stamp.
    await postOrder(m, { orderId: "coffee", memberId: "v", amount: 500 });
    const back = await call("POST", "/v1/orders/coffee/refunds", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { refundId: "most", amount: 499 },
    });
    expect(back.body.stampsTakenBack).toEqual([]);
    // With minAmount, or counting units: no warning.
    const guarded = await call("PUT", "/v1/stamp-cards/visits", {
      token: m.admin,
      body: { ...visits, match: { minAmount: 300 } },
    });
    expect([guarded.status, guarded.body.warnings]).toEqual([200, []]);
    expect((await call("PUT", "/v1/stamp-cards/tea", { token: m.admin, body: teaCard })).body.warnings).toEqual([]);
  });

  it("two cards activated at once for the last active slot: the second write is refused 422, every active card stamps", async () => {
    const m = await createMerchant();
    const filler = { name: "filler", counts: "orders", match: { skus: ["never-sold"] }, stamps: 10, reward: teaCard.reward };
    for (let i = 1; i < MAX_ACTIVE_STAMP_CARDS; i++) {
      const r = await call("PUT", `/v1/stamp-cards/a-${String(i).padStart(2, "0")}`, { token: m.admin, body: filler });
      expect(r.status, r.text).toBe(201);
    }
    const visit = { name: "one visit", counts: "orders", stamps: 1, reward: { kind: "points", points: 100 } };
    // The other activation commits between this request's read and its write batch.
    const race = onceBefore(env.DB, "stamp_cards", async () => {
      const first = await call("PUT", "/v1/stamp-cards/zz-first", { token: m.admin, body: visit });
      expect(first.status, first.text).toBe(201);
    });
    const second = await sendThrough(
      race.db,
      new Request("http://engine.test/v1/stamp-cards/zz-second", {
        method: "PUT",
        headers: { authorization: `Bearer ${m.admin}`, "content-type": "application/json" },
        body: JSON.stringify(visit),
      }),
    );
    expect(race.fired()).toBe(true);
    const problem = (await second.json()) as { errors?: { path: string }[] };
    expect([second.status, problem.errors?.[0]?.path]).toEqual([422, "active"]);
    const cards = (await call("GET", "/v1/stamp-cards?limit=50", { token: m.admin })).body.data;
    expect(cards.map((c: { id: string }) => c.id)).not.toContain("zz-second");
    expect(cards.filter((c: { active: boolean }) => c.active)).toHaveLength(MAX_ACTIVE_STAMP_CARDS);
    // Every active card reaches the checkout: zz-first completes and pays.
    expect((await postOrder(m, { orderId: uid("o"), memberId: "v", amount: 1000 })).status).toBe(201);
    expect((await member(m, "v")).balance).toBe(100);
  });
});

import { describe, expect, it } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, ledger, member, postOrder, type TestMerchant, uid } from "./support/api";

const refund = (m: TestMerchant, orderId: string, body: Record<string, unknown>, key = uid("k")) =>
  call("POST", `/v1/orders/${orderId}/refunds`, { token: m.checkout, idempotencyKey: key, body });

async function setup() {
  const m = await createMerchant();
  await createRule(m, BASE_RULE);
  await createRule(m, { id: "bonus", name: "bonus", effect: { kind: "fixed", points: 7 } });
  return m;
}

describe("refunds", () => {
  it("partial refunds reverse exactly what one full refund would", async () => {
    const m = await setup();
    // 333 points from 1 per 1.00 on 333.33, plus 7 fixed = 340.
    const order = await postOrder(m, { orderId: "o-1", memberId: "p", amount: 33333 });
    expect(order.body.pointsEarned).toBe(340);
    const parts = [10000, 10000, 10000, 3333];
    let reversed = 0;
    for (const [i, amount] of parts.entries()) {
      const r = await refund(m, "o-1", { refundId: `r-${i}`, amount });
      expect(r.status, r.text).toBe(201);
      reversed += r.body.pointsReversed;
    }
    expect(reversed).toBe(340);
    expect((await member(m, "p")).balance).toBe(0);
    const over = await refund(m, "o-1", { refundId: "r-over", amount: 1 });
    expect(over.status).toBe(422);
    expect(over.body.code).toBe("unprocessable");
  });

  it("refunds by items at their unit price and refuses more than was bought", async () => {
    const m = await setup();
    await postOrder(m, {
      orderId: "o-items",
      memberId: "i",
      amount: 10000,
      items: [
        { sku: "a", quantity: 2, unitPrice: 2500 },
        { sku: "b", quantity: 1, unitPrice: 5000 },
      ],
    });
    const r = await refund(m, "o-items", { refundId: "r-1", items: [{ sku: "a", quantity: 1 }] });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ amount: 2500, pointsReversed: Math.floor((107 * 2500) / 10000) });
    const tooMany = await refund(m, "o-items", { refundId: "r-2", items: [{ sku: "a", quantity: 2 }] });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.errors[0].path).toBe("items.0.quantity");
    const unknown = await refund(m, "o-items", { refundId: "r-3", items: [{ sku: "zzz", quantity: 1 }] });
    expect(unknown.status).toBe(422);
    const rest = await refund(m, "o-items", { refundId: "r-4" });
    expect(rest.body.amount).toBe(7500);
    expect(r.body.pointsReversed + rest.body.pointsReversed).toBe(107);
  });

  it("takes spent points back into debt that the next earnings repay first", async () => {
    const m = await setup();
    await postOrder(m, { orderId: "o-1", memberId: "d", amount: 10000 });
    const spent = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: "d", points: 100 },
    });
    expect(spent.body.member.balance).toBe(7);
    const r = await refund(m, "o-1", { refundId: "r" });
    expect(r.body.pointsReversed).toBe(107);
    expect(r.body.member.balance).toBe(-100);
    // Debt blocks redemption.
    const blocked = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: "d", points: 1 },
    });
    expect(blocked.status).toBe(409);
    const next = await postOrder(m, { orderId: "o-2", memberId: "d", amount: 15000 });
    expect(next.body.member.balance).toBe(57);
    // Only the part left after repaying the debt is spendable.
    expect(
      (
        await call("POST", "/v1/redemptions", {
          token: m.checkout,
          idempotencyKey: uid("k"),
          body: { memberId: "d", points: 58 },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await call("POST", "/v1/redemptions", {
          token: m.checkout,
          idempotencyKey: uid("k"),
          body: { memberId: "d", points: 57 },
        })
      ).status,
    ).toBe(201);
    const entries = await ledger(m, "d");
    expect(entries.reduce((s, e) => s + e.points, 0)).toBe(0);
  });

  it("replays a retried refund and refuses the same refundId under another key", async () => {
    const m = await setup();
    await postOrder(m, { orderId: "o-1", memberId: "k", amount: 10000 });
    const first = await refund(m, "o-1", { refundId: "r-1", amount: 5000 }, "rk");
    const again = await refund(m, "o-1", { refundId: "r-1", amount: 5000 }, "rk");
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const dup = await refund(m, "o-1", { refundId: "r-1", amount: 5000 }, "rk-2");
    expect(dup.status).toBe(409);
    expect((await member(m, "k")).balance).toBe(107 - first.body.pointsReversed);
  });

  it("parallel partial refunds of one order never reverse more than it earned", async () => {
    const m = await setup();
    await postOrder(m, { orderId: "o-p", memberId: "par", amount: 10000 });
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => refund(m, "o-p", { refundId: `r-${i}`, amount: 2000 })),
    );
    const ok = replies.filter((r) => r.status === 201);
    expect(ok).toHaveLength(5);
    expect(replies.filter((r) => r.status !== 201).every((r) => r.status === 422 || r.status === 409)).toBe(true);
    expect(ok.reduce((s, r) => s + r.body.pointsReversed, 0)).toBe(107);
    expect((await member(m, "par")).balance).toBe(0);
  });

  it("refunds an item at its share of what was paid on a discounted order", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    // Two items listed at 100.00 each, paid 100.00 together: each was paid 50.00 and earned 50 points.
    const order = await postOrder(m, {
      orderId: "o-disc",
      memberId: "disc",
      amount: 10000,
      items: [
        { sku: "a", quantity: 1, unitPrice: 10000 },
        { sku: "b", quantity: 1, unitPrice: 10000 },
      ],
    });
    expect(order.body.pointsEarned).toBe(100);
    const a = await refund(m, "o-disc", { refundId: "r-a", items: [{ sku: "a", quantity: 1 }] });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toMatchObject({ amount: 5000, pointsReversed: 50 });
    const b = await refund(m, "o-disc", { refundId: "r-b", items: [{ sku: "b", quantity: 1 }] });
    expect(b.status, b.text).toBe(201);
    expect(b.body).toMatchObject({ amount: 5000, pointsReversed: 50 });
    expect((await member(m, "disc")).balance).toBe(0);
  });

  it("refunds items in parts to exactly the order amount and points, above or below the list price", async () => {
    const m = await setup();
    const items = [
      { sku: "tea", quantity: 3, unitPrice: 3333 },
      { sku: "cup", quantity: 7, unitPrice: 1001 },
      { sku: "tea", quantity: 2, unitPrice: 2999 },
      { sku: "gift", quantity: 1, unitPrice: 0 },
    ];
    // List total 23004 (the free gift included): paid less (a discount), then more (shipping).
    for (const [i, amount] of [9999, 30001].entries()) {
      const orderId = `o-parts-${i}`;
      const order = await postOrder(m, { orderId, memberId: `parts-${i}`, amount, items });
      const parts = [
        [{ sku: "tea", quantity: 1 }],
        [
          { sku: "cup", quantity: 3 },
          { sku: "tea", quantity: 3 },
        ],
        [
          { sku: "gift", quantity: 1 },
          { sku: "cup", quantity: 1 },
        ],
        [
          { sku: "cup", quantity: 3 },
          { sku: "tea", quantity: 1 },
        ],
      ];
      let refunded = 0;
      let reversed = 0;
      for (const [j, part] of parts.entries()) {
        const r = await refund(m, orderId, { refundId: `r-${j}`, items: part });
        expect(r.status, r.text).toBe(201);
        refunded += r.body.amount;
        reversed += r.body.pointsReversed;
      }
      expect(refunded).toBe(amount);
      expect(reversed).toBe(order.body.pointsEarned);
      expect((await member(m, `parts-${i}`)).balance).toBe(0);
      expect((await refund(m, orderId, { refundId: "r-more" })).status).toBe(422);
    }
    const free = await postOrder(m, {
      orderId: "o-free-list",
      memberId: "free",
      amount: 1000,
      items: [
        { sku: "x", quantity: 3, unitPrice: 0 },
        { sku: "y", quantity: 1, unitPrice: 0 },
      ],
    });
    const x = await refund(m, "o-free-list", { refundId: "r-x", items: [{ sku: "x", quantity: 3 }] });
    expect(x.body.amount).toBe(750);
    const y = await refund(m, "o-free-list", { refundId: "r-y", items: [{ sku: "y", quantity: 1 }] });
    expect(y.body.amount).toBe(250);
    expect(x.body.pointsReversed + y.body.pointsReversed).toBe(free.body.pointsEarned);
  });

  describe("an order of amount 0 (fixed-rule points)", () => {
    async function zeroOrder(items?: unknown[]) {
      const m = await createMerchant();
      await createRule(m, BASE_RULE);
      await createRule(m, { id: "visit", name: "50 per visit", effect: { kind: "fixed", points: 50 } });
      const order = await postOrder(m, { orderId: "o-zero", memberId: "zero", amount: 0, ...(items ? { items } : {}) });
      expect(order.body.pointsEarned).toBe(50);
      return m;
    }
    const items = [
      { sku: "sample", quantity: 2, unitPrice: 500 },
      { sku: "bag", quantity: 1, unitPrice: 0 },
    ];

    it("is refunded once, in full, reversing all its points", async () => {
      const m = await zeroOrder();
      const full = await refund(m, "o-zero", { refundId: "r-1" });
      expect(full.status, full.text).toBe(201);
      expect(full.body).toMatchObject({ amount: 0, pointsReversed: 50 });
      expect((await member(m, "zero")).balance).toBe(0);
      const again = await refund(m, "o-zero", { refundId: "r-2" });
      expect(again.status, again.text).toBe(422);
      expect(again.body.detail).toMatch(/already fully refunded/);
      expect((await refund(m, "o-zero", { refundId: "r-3", amount: 0 })).status).toBe(422);
    });

    it("is refunded in full by amount 0 or by all its items, not by some of them", async () => {
      const byAmount = await zeroOrder(items);
      const zero = await refund(byAmount, "o-zero", { refundId: "r-0", amount: 0 });
      expect(zero.status, zero.text).toBe(201);
      expect(zero.body.pointsReversed).toBe(50);
      expect((await refund(byAmount, "o-zero", { refundId: "r-i", items: [{ sku: "bag", quantity: 1 }] })).status).toBe(422);

      const byItems = await zeroOrder(items);
      const some = await refund(byItems, "o-zero", { refundId: "r-some", items: [{ sku: "sample", quantity: 2 }] });
      expect(some.status, some.text).toBe(422);
      expect(some.body.errors[0].path).toBe("items");
      const all = await refund(byItems, "o-zero", {
        refundId: "r-all",
        items: [
          { sku: "sample", quantity: 2 },
          { sku: "bag", quantity: 1 },
        ],
      });
      expect(all.status, all.text).toBe(201);
      expect(all.body).toMatchObject({ amount: 0, pointsReversed: 50 });
      expect((await refund(byItems, "o-zero", { refundId: "r-rest" })).status).toBe(422);
      expect((await member(byItems, "zero")).balance).toBe(0);
    });

    it("reverses its points once when refunded in parallel, also after they were spent", async () => {
      const m = await zeroOrder();
      // Spent: the order's own lot is empty, so only the order row can tell the refunds apart.
      const spent = await call("POST", "/v1/redemptions", {
        token: m.checkout,
        idempotencyKey: uid("k"),
        body: { memberId: "zero", points: 50 },
      });
      expect(spent.status, spent.text).toBe(201);
      const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => refund(m, "o-zero", { refundId: `r-${i}` })));
      const ok = replies.filter((r) => r.status === 201);
      expect(ok).toHaveLength(1);
      expect(replies.filter((r) => r.status !== 201).every((r) => r.status === 422 || r.status === 409)).toBe(true);
      expect(ok[0]!.body.pointsReversed).toBe(50);
      expect((await member(m, "zero")).balance).toBe(-50);
    });

    it("amount 0 refunds only an order of amount 0", async () => {
      const m = await setup();
      await postOrder(m, { orderId: "o-paid", memberId: "paid", amount: 1000 });
      const r = await refund(m, "o-paid", { refundId: "r-0", amount: 0 });
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(["amount"]);
    });
  });

  // Skus that are also names of Object.prototype members must count like any other sku.
  for (const sku of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
    it(`limits refunds of sku ${sku} to the quantity bought`, async () => {
      const m = await setup();
      await postOrder(m, {
        orderId: "o-proto",
        memberId: "proto",
        amount: 10000,
        items: [
          { sku, quantity: 1, unitPrice: 2500 },
          { sku: "other", quantity: 3, unitPrice: 2500 },
        ],
      });
      const first = await refund(m, "o-proto", { refundId: "r-1", items: [{ sku, quantity: 1 }] });
      expect(first.status, first.text).toBe(201);
      expect(first.body.amount).toBe(2500);
      const again = await refund(m, "o-proto", { refundId: "r-2", items: [{ sku, quantity: 1 }] });
      expect(again.status, again.text).toBe(422);
      expect(again.body.errors[0].path).toBe("items.0.quantity");
      const rest = await refund(m, "o-proto", { refundId: "r-3", items: [{ sku: "other", quantity: 3 }] });
      expect(rest.status, rest.text).toBe(201);
      expect(rest.body.amount).toBe(7500);
      expect(first.body.pointsReversed + rest.body.pointsReversed).toBe(107);
      expect((await member(m, "proto")).balance).toBe(0);
    });
  }

  it("404 for an unknown order", async () => {
    const m = await setup();
    expect((await refund(m, "nope", { refundId: "r" })).status).toBe(404);
  });
});

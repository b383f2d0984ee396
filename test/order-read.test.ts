/** GET /v1/orders/{orderId}: the order with its points, refunds and linked redemptions (reconciliation). */
import { describe, expect, it } from "vitest";
import { call, postOrder, uid } from "./support/api";
import { merchantWith, refund } from "./support/flows";

describe("GET /v1/orders/{orderId}", () => {
  it("shows the order, its points, refunds and the redemptions posted with its orderId", async () => {
    const m = await merchantWith({});
    const items = [
      { sku: "longjing-50g", category: "tea", quantity: 2, unitPrice: 6400 },
      { sku: "cup", quantity: 1, unitPrice: 2000 },
    ];
    await postOrder(m, { orderId: "order-1000", memberId: "alice", amount: 50000 });
    const pay = (orderId: string, points: number, hold = false) =>
      call("POST", "/v1/redemptions", {
        token: m.checkout,
        idempotencyKey: uid("pay"),
        body: { memberId: "alice", points, orderId, ...(hold ? { hold } : {}) },
      });
    // Points pay for an order before it is posted; a hold is captured or cancelled first.
    const captured = await pay("order-1001", 100);
    const held = await pay("order-1001", 20, true);
    await pay("order-1002", 10);
    expect([captured.status, held.status]).toEqual([201, 201]);
    const cancel = await call("POST", `/v1/redemptions/${held.body.id}/cancel`, { token: m.checkout, idempotencyKey: uid("c") });
    expect(cancel.status, cancel.text).toBe(200);
    const posted = await postOrder(m, { orderId: "order-1001", memberId: "alice", amount: 14800, items, channel: "web" });
    expect(posted.status, posted.text).toBe(201);
    await postOrder(m, { orderId: "order-1002", memberId: "alice", amount: 5000 });
    const firstRefund = await refund(m, "order-1001", {
      refundId: "refund-1001-a",
      items: [{ sku: "longjing-50g", quantity: 1 }],
    });
    expect(firstRefund.status, firstRefund.text).toBe(201);
    const secondRefund = await refund(m, "order-1001", { refundId: "refund-1001-b", amount: 1000 });
    expect(secondRefund.status, secondRefund.text).toBe(201);

    const r = await call("GET", "/v1/orders/order-1001", { token: m.read });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      orderId: "order-1001",
      memberId: "alice",
      amount: 14800,
      currency: "CNY",
      channel: "web",
      items,
      refundedAmount: 6400 + 1000,
      points: {
        earned: posted.body.pointsEarned,
        awards: posted.body.awards,
        reversed: firstRefund.body.pointsReversed + secondRefund.body.pointsReversed,
        alreadyExpired: 0,
      },
    });
    expect(r.body.refunds).toEqual([
      expect.objectContaining({ refundId: "refund-1001-a", amount: 6400, items: [{ sku: "longjing-50g", quantity: 1 }] }),
      expect.objectContaining({ refundId: "refund-1001-b", amount: 1000, items: null }),
    ]);
    expect(r.body.redemptions.map((x: any) => [x.id, x.status, x.points])).toEqual([
      [captured.body.id, "captured", 100],
      [held.body.id, "cancelled", 20],
    ]);
  });

  it("is 404 for an unknown order and for another merchant's order; checkout and admin keys read it too", async () => {
    const m = await merchantWith({});
    const other = await merchantWith({});
    expect((await postOrder(m, { orderId: "mine", memberId: "bob", amount: 1000 })).status).toBe(201);
    expect((await call("GET", "/v1/orders/mine", { token: other.admin })).status).toBe(404);
    const missing = await call("GET", "/v1/orders/nope", { token: m.read });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("not_found");
    for (const token of [m.admin, m.checkout]) expect((await call("GET", "/v1/orders/mine", { token })).status).toBe(200);
    const bad = await call("GET", `/v1/orders/${encodeURIComponent("bad id!")}`, { token: m.read });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toContain("orderId");
  });
});

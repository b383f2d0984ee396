import { describe, expect, it } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, ledger, member, postOrder, uid } from "./support/api";

describe("checkout happy path", () => {
  it("posts an order, redeems, refunds, and keeps the ledger exact", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const memberId = uid("member");
    const order = await postOrder(m, { orderId: "o-1", memberId, amount: 12800 });
    expect(order.status).toBe(201);
    expect(order.body.pointsEarned).toBe(128);
    expect(order.body.awards).toEqual([{ ruleId: "base", points: 128, ruleVersion: 1 }]);
    expect(order.body.member.balance).toBe(128);

    const redemption = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId, points: 100 },
    });
    expect(redemption.status).toBe(201);
    expect(redemption.body.value).toBe(100);
    expect(redemption.body.member.balance).toBe(28);

    const refund = await call("POST", "/v1/orders/o-1/refunds", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { refundId: "r-1" },
    });
    expect(refund.status, refund.text).toBe(201);
    expect(refund.body.pointsReversed).toBe(128);
    expect(refund.body.member.balance).toBe(-100);

    const entries = await ledger(m, memberId);
    expect(entries.map((e) => e.type)).toEqual(["earn", "redeem", "refund_reversal"]);
    expect(entries.reduce((s, e) => s + e.points, 0)).toBe((await member(m, memberId)).balance);
  });
});

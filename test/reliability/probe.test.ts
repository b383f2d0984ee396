import { it } from "vitest";
import { call, createMerchant, createRule, BASE_RULE, postOrder, uid, PLATFORM_TOKEN } from "../support/api";

it("probe", async () => {
  const m = await createMerchant();
  await createRule(m, { id: "huge", name: "huge", effect: { kind: "per_amount", points: 1000000, per: 1 } });
  await createRule(m, { id: "mult", name: "mult", effect: { kind: "multiplier", factor: 100 } });
  const show = async (label: string, r: any) => console.log(label, r.status, r.text.slice(0, 600));
  await show("order", await postOrder(m, { orderId: "o1", memberId: "big", amount: 1e12 }));
  await show("member", await call("GET", "/v1/members/big", { token: m.admin }));
  await show("ledger", await call("GET", "/v1/members/big/ledger", { token: m.admin }));
  await show("redeem", await call("POST", "/v1/redemptions", { token: m.admin, idempotencyKey: uid(), body: { memberId: "big", points: 1e12 } }));
  await show("refund", await call("POST", "/v1/orders/o1/refunds", { token: m.admin, idempotencyKey: uid(), body: { refundId: "r1", amount: 1 } }));
  await show("member", await call("GET", "/v1/members/big", { token: m.admin }));
  await show("order small", await postOrder(m, { orderId: "o2", memberId: "small", amount: 1 }));
  await show("redeem small", await call("POST", "/v1/redemptions", { token: m.admin, idempotencyKey: uid(), body: { memberId: "small", points: 3 } }));
});

import { describe, expect, it } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, postOrder, uid } from "./support/api";

describe("tenant isolation", () => {
  it("merchant B sees 404 for every resource of merchant A, and A's data never leaks", async () => {
    const a = await createMerchant({ name: "A" });
    const b = await createMerchant({ name: "B" });
    await createRule(a, BASE_RULE);
    await call("PUT", "/v1/members/shared-id", { token: a.admin, body: { email: "secret-a@example.com" } });
    await postOrder(a, { orderId: "order-a", memberId: "shared-id", amount: 5000 });
    const redemption = await call("POST", "/v1/redemptions", {
      token: a.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: "shared-id", points: 10, hold: true },
    });
    const keyA = (await call("GET", "/v1/api-keys", { token: a.admin })).body.data[0].id;

    const probes: [string, string, unknown?][] = [
      ["GET", "/v1/members/shared-id"],
      ["GET", "/v1/members/shared-id/ledger"],
      ["GET", "/v1/members/shared-id/export"],
      ["POST", "/v1/members/shared-id/adjustments", { points: 5, reason: "x" }],
      ["POST", "/v1/members/shared-id/tokens", {}],
      ["DELETE", "/v1/members/shared-id"],
      ["POST", "/v1/orders/order-a/refunds", { refundId: "r" }],
      ["GET", `/v1/redemptions/${redemption.body.id}`],
      ["POST", `/v1/redemptions/${redemption.body.id}/capture`],
      ["POST", `/v1/redemptions/${redemption.body.id}/cancel`],
      ["GET", "/v1/rules/base"],
      ["DELETE", "/v1/rules/base"],
      ["DELETE", `/v1/api-keys/${keyA}`],
      ["POST", "/v1/redemptions", { memberId: "shared-id", points: 1 }],
    ];
    for (const [method, path, body] of probes) {
      const r = await call(method, path, { token: b.admin, body, idempotencyKey: method === "POST" ? uid("k") : undefined });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(404);
      expect(r.text).not.toContain("secret-a@example.com");
      expect(r.text).not.toContain(a.id);
    }
    // B writing the same ids creates B's own resources, leaving A's untouched.
    const own = await call("PUT", "/v1/members/shared-id", { token: b.admin, body: {} });
    expect(own.status).toBe(201);
    expect(own.body.balance).toBe(0);
    expect(
      (await call("PUT", "/v1/rules/base", { token: b.admin, body: { name: "b", effect: { kind: "fixed", points: 1 } } })).status,
    ).toBe(201);
    const orderB = await postOrder(b, { orderId: "order-a", memberId: "shared-id", amount: 100 });
    expect(orderB.status).toBe(201);
    expect(orderB.body.member.balance).toBe(1);
    expect((await call("GET", "/v1/members/shared-id", { token: a.admin })).body).toMatchObject({
      balance: 40,
      email: "secret-a@example.com",
    });
    expect((await call("GET", "/v1/rules/base", { token: a.admin })).body.effect).toEqual(BASE_RULE.effect);
    const bKeys = await call("GET", "/v1/api-keys", { token: b.admin });
    expect(bKeys.text).not.toContain(keyA);
  });
});

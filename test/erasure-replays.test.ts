/**
 * Erasure reaches the responses stored for idempotent replay: a write retried with its key after the member
 * was erased answers without the personal data, while other members' and other merchants' stored responses
 * keep theirs.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, uid } from "./support/api";
import { merchantWith } from "./support/flows";

const PERSONAL = { email: "pat@example.com", name: "Pat Secret", birthday: "1990-05-01", attributes: { vip: true } };

describe("erasure and stored responses", () => {
  it("a retried order or adjustment of an erased member replays without the personal data", async () => {
    const m = await merchantWith({});
    expect((await call("PUT", "/v1/members/pii", { token: m.admin, body: PERSONAL })).status).toBe(201);
    const order = { key: uid("order"), body: { orderId: uid("o"), memberId: "pii", amount: 1000, currency: "CNY" } };
    const adjustment = { key: uid("adj"), body: { points: 5, reason: "goodwill" } };
    const posted = await call("POST", "/v1/orders", { token: m.checkout, idempotencyKey: order.key, body: order.body });
    expect(posted.body.member.email).toBe(PERSONAL.email);
    const adjusted = await call("POST", "/v1/members/pii/adjustments", {
      token: m.admin,
      idempotencyKey: adjustment.key,
      body: adjustment.body,
    });
    expect(adjusted.status).toBe(201);
    expect((await call("DELETE", "/v1/members/pii", { token: m.admin })).status).toBe(204);

    const replays = [
      await call("POST", "/v1/orders", { token: m.checkout, idempotencyKey: order.key, body: order.body }),
      await call("POST", "/v1/members/pii/adjustments", {
        token: m.admin,
        idempotencyKey: adjustment.key,
        body: adjustment.body,
      }),
    ];
    for (const replay of replays) {
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.body.member).toMatchObject({ email: null, name: null, birthday: null, attributes: null, erased: true });
    }
    // What the write did stays as it was answered: only the personal fields go.
    expect(replays[0]?.body).toMatchObject({ orderId: order.body.orderId, pointsEarned: posted.body.pointsEarned });
    expect(replays[0]?.body.member.balance).toBe(posted.body.member.balance);
  });

  it("a member erased before stored responses recorded their member is scrubbed by the migrations", async () => {
    const m = await merchantWith({});
    expect((await call("PUT", "/v1/members/early", { token: m.admin, body: PERSONAL })).status).toBe(201);
    const key = uid("adj");
    const adjustment = { points: 5, reason: "goodwill" };
    expect(
      (await call("POST", "/v1/members/early/adjustments", { token: m.admin, idempotencyKey: key, body: adjustment })).status,
    ).toBe(201);
    // As it stood before migration 0020: no member recorded, so the erasure of the time left the reply as it was.
    await env.DB.prepare("UPDATE idempotency_keys SET member_id = NULL WHERE merchant_id = ?").bind(m.id).run();
    expect((await call("DELETE", "/v1/members/early", { token: m.admin })).status).toBe(204);
    // The data statements of 0020 (record each reply's member) and 0021 (scrub those of erased members).
    for (const name of ["0020", "0021"]) {
      const migration = env.TEST_MIGRATIONS.find((x) => x.name.startsWith(name));
      const updates = migration?.queries.filter((q) => /^\s*(--[^\n]*\n\s*)*UPDATE/i.test(q)) ?? [];
      expect(updates.length, name).toBeGreaterThan(0);
      for (const query of updates) await env.DB.prepare(query).run();
    }
    const replay = await call("POST", "/v1/members/early/adjustments", { token: m.admin, idempotencyKey: key, body: adjustment });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.member).toMatchObject({ email: null, name: null, birthday: null, attributes: null, erased: true });
  });

  it("keeps other members' and other merchants' stored responses as they were", async () => {
    const [m, other] = [await merchantWith({}), await merchantWith({})];
    for (const [merchant, memberId] of [
      [m, "erased"],
      [m, "kept"],
      [other, "erased"],
    ] as const)
      expect((await call("PUT", `/v1/members/${memberId}`, { token: merchant.admin, body: PERSONAL })).status).toBe(201);
    const post = (merchant: typeof m, memberId: string, key: string) =>
      call("POST", "/v1/orders", {
        token: merchant.checkout,
        idempotencyKey: key,
        body: { orderId: `o-${key}`, memberId, amount: 1000, currency: "CNY" },
      });
    const keys = { kept: uid("kept"), otherMerchant: uid("other") };
    await post(m, "kept", keys.kept);
    await post(other, "erased", keys.otherMerchant);
    await post(m, "erased", uid("erased"));
    expect((await call("DELETE", "/v1/members/erased", { token: m.admin })).status).toBe(204);

    for (const [merchant, memberId, key] of [
      [m, "kept", keys.kept],
      [other, "erased", keys.otherMerchant],
    ] as const) {
      const replay = await post(merchant, memberId, key);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.body.member).toMatchObject({ email: PERSONAL.email, name: PERSONAL.name, erased: false });
    }
  });
});

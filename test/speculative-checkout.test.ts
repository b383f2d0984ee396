/**
 * Speculative checkout (earning/member-snapshot.ts): once this isolate has seen a member at the end of a
 * write, the member's next order skips the read round trip and is planned from that snapshot; its batch checks
 * the key, the configuration version, the member side and what points paid of the order, and anything that
 * moved sends the order back to a read. Changes "made by another isolate" are made here with SQL on D1
 * directly, which this isolate cannot see.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { forgetMemberState } from "../src/platform/member-state";
import { BASE_RULE, call, createMerchant, createRule, member, type TestMerchant, uid } from "./support/api";
import { sendCounting } from "./support/d1-trips";

/** A checkout-key POST through this isolate's app, with its D1 round trips counted. */
function post(m: TestMerchant, path: string, body: Record<string, unknown>, key: string) {
  return sendCounting(
    new Request(`http://engine.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${m.checkout}`, "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(body),
    }),
  );
}

function order(m: TestMerchant, body: { orderId: string; memberId: string; amount: number }, key = uid("k")) {
  return post(m, "/v1/orders", { ...body, currency: "CNY" }, key);
}

/** A tier ladder on spend over the calendar year. */
async function spendLadder(m: TestMerchant, tiers: Record<string, unknown>[]) {
  const ladder = { metric: "spend", window: { kind: "calendar_year" }, tiers };
  expect((await call("PUT", "/v1/tiers", { token: m.admin, body: ladder })).status).toBe(200);
}

const sqlOn = (query: string, ...params: unknown[]) =>
  env.DB.prepare(query)
    .bind(...params)
    .run();

describe("speculative checkout", () => {
  it("a member's next order is one round trip and earns what a read would give", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const first = await order(m, { orderId: uid("o"), memberId: "spec", amount: 1000 });
    expect([first.status, first.trips, first.body.pointsEarned]).toEqual([201, 2, 10]);
    for (let i = 0; i < 3; i++) {
      const next = await order(m, { orderId: uid("o"), memberId: "spec", amount: 2500 });
      expect([next.status, next.trips, next.body.pointsEarned]).toEqual([201, 1, 25]);
      // The order, its lot, the member, the ledger entry, the member's periods and the reply: the checks
      // ride on the order's insert (orders.guard), not a statement of their own.
      expect(next.statements).toBe(6);
    }
    expect((await member(m, "spec")).balance).toBe(85);
  });

  it("a member changed by another isolate is planned again from a read, earning what the new state gives", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await createRule(m, {
      id: "vip",
      name: "vip",
      conditions: { expression: "member.attributes.vip == true" },
      effect: { kind: "fixed", points: 500 },
    });
    expect((await order(m, { orderId: uid("o"), memberId: "moved", amount: 1000 })).body.pointsEarned).toBe(10);
    await sqlOn(`UPDATE members SET attributes = '{"vip":true}' WHERE merchant_id = ? AND id = 'moved'`, m.id);
    // The speculative batch aborts on its guard (1), the order is read (2) and written (3) at the new state.
    const next = await order(m, { orderId: uid("o"), memberId: "moved", amount: 1000 });
    expect([next.status, next.trips, next.body.pointsEarned]).toEqual([201, 3, 510]);
    // A rule changed elsewhere moves the configuration version: read again, never planned on stale rules.
    await sqlOn(`UPDATE rules SET active = 0 WHERE merchant_id = ? AND id = 'vip'`, m.id);
    await sqlOn(`UPDATE merchants SET config_version = config_version + 1 WHERE id = ?`, m.id);
    const after = await order(m, { orderId: uid("o"), memberId: "moved", amount: 1000 });
    expect([after.status, after.trips, after.body.pointsEarned]).toEqual([201, 3, 10]);
    // That read brought this isolate's cached configuration to the new version: speculation works again.
    const current = await order(m, { orderId: uid("o"), memberId: "moved", amount: 1000 });
    expect([current.status, current.trips, current.body.pointsEarned]).toEqual([201, 1, 10]);
  });

  it("a tier changed or an upgrade brought within reach by another isolate is planned again, at the new rate", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await spendLadder(m, [
      { id: "member", name: "Member", threshold: 0, earnMultiplier: 1 },
      { id: "gold", name: "Gold", threshold: 100_000, earnMultiplier: 2 },
    ]);
    expect((await order(m, { orderId: uid("o"), memberId: "climber", amount: 1000 })).body.pointsEarned).toBe(10);
    const steady = await order(m, { orderId: uid("o"), memberId: "climber", amount: 1000 });
    expect([steady.status, steady.trips, steady.body.pointsEarned]).toEqual([201, 1, 10]);
    // Placed at gold elsewhere: the speculative batch's guard sees the member row moved, and the order earns
    // at gold's rate. Without that check the plan's rank would be stale and nothing later re-checks it.
    await sqlOn(`UPDATE members SET tier_id = 'gold' WHERE merchant_id = ? AND id = 'climber'`, m.id);
    const gold = await order(m, { orderId: uid("o"), memberId: "climber", amount: 1000 });
    expect([gold.status, gold.trips, gold.body.pointsEarned]).toEqual([201, 3, 20]);
    // Back to member, with spend elsewhere that puts gold one order away: the next order is planned again and
    // upgrades the member, with a history row naming it.
    await sqlOn(`UPDATE members SET tier_id = 'member', tier_spend = 99500 WHERE merchant_id = ? AND id = 'climber'`, m.id);
    const upgrade = await order(m, { orderId: uid("o"), memberId: "climber", amount: 1000 });
    expect([upgrade.status, upgrade.trips]).toEqual([201, 3]);
    const history = await call("GET", "/v1/members/climber/tier/history", { token: m.admin });
    expect(history.body.data[0]).toMatchObject({ to: "gold", reason: "upgrade" });
    const after = await order(m, { orderId: uid("o"), memberId: "climber", amount: 1000 });
    expect([after.status, after.trips, after.body.pointsEarned]).toEqual([201, 1, 20]);
  });

  it("a speculative order writes the tier columns an order planned from a read writes", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await spendLadder(m, [
      { id: "member", name: "Member", threshold: 0 },
      { id: "silver", name: "Silver", threshold: 50_000 },
      { id: "gold", name: "Gold", threshold: 1_000_000, earnMultiplier: 2 },
    ]);
    const tierColumns = (id: string) =>
      env.DB.prepare(
        `SELECT tier_id, tier_spend, tier_points, tier_orders, tier_window_start, tier_qualified_until, tier_manual,
           balance, order_count FROM members WHERE merchant_id = ? AND id = ?`,
      )
        .bind(m.id, id)
        .first();
    // The same orders for two members: one through this isolate's snapshots, one always read first.
    const both = async (amount: number) => {
      const spec = await order(m, { orderId: uid("o"), memberId: "spec", amount });
      forgetMemberState(m.id, "read");
      const read = await order(m, { orderId: uid("o"), memberId: "read", amount });
      expect([spec.status, read.status, spec.body.pointsEarned]).toEqual([201, 201, read.body.pointsEarned]);
      expect(read.trips).toBeGreaterThan(1);
      expect(await tierColumns("spec")).toEqual(await tierColumns("read"));
      expect(spec.body.member.tier).toEqual(read.body.member.tier);
      return spec.trips;
    };
    // Member, then silver; then orders that keep silver and requalify its status, one round trip each.
    expect(await both(30_000)).toBe(2);
    expect(await both(30_000)).toBe(1);
    // A status date is not part of the snapshot: moved back elsewhere, the next speculative order requalifies it.
    for (const id of ["spec", "read"])
      await sqlOn(`UPDATE members SET tier_qualified_until = 1 WHERE merchant_id = ? AND id = ?`, m.id, id);
    expect([await both(30_000), await both(30_000)]).toEqual([1, 1]);
    expect(await tierColumns("spec")).toMatchObject({ tier_id: "silver", tier_qualified_until: expect.any(Number) });
    expect((await tierColumns("spec"))?.tier_qualified_until).toBeGreaterThan(Date.now());
    // Held above what the metric reaches (gold, given by hand, without a status date): kept, not requalified.
    for (const id of ["spec", "read"])
      await sqlOn(
        `UPDATE members SET tier_id = 'gold', tier_manual = 1, tier_qualified_until = NULL WHERE merchant_id = ? AND id = ?`,
        m.id,
        id,
      );
    expect(await both(1000)).toBe(3);
    expect([await both(1000), await both(1000)]).toEqual([1, 1]);
    expect(await tierColumns("spec")).toMatchObject({ tier_id: "gold", tier_qualified_until: null });
  });

  it("a speculative order of a member in debt records what its lot repaid; one owing nothing writes no record", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const repaid = (orderId: string) =>
      env.DB.prepare(
        `SELECT COALESCE(SUM(points), 0) AS points FROM lot_moves
         WHERE lot_id = (SELECT lot_id FROM orders WHERE merchant_id = ? AND id = ?)`,
      )
        .bind(m.id, orderId)
        .first<number>("points");
    await order(m, { orderId: "debt-1", memberId: "debtor", amount: 1000 });
    expect((await post(m, "/v1/redemptions", { memberId: "debtor", points: 10 }, uid("rd"))).status).toBe(201);
    // The refund takes back 10 points the member already spent: the balance is -10.
    const refund = await post(m, "/v1/orders/debt-1/refunds", { refundId: "r-1" }, uid("rf"));
    expect([refund.status, refund.body.member.balance]).toEqual([201, -10]);
    // Planned from the snapshot the refund kept: each lot repays 5 and says so (a later return of those
    // points settles the refund's shortfall first; see ledger/claims.ts).
    for (const orderId of ["debt-2", "debt-3"]) {
      const paying = await order(m, { orderId, memberId: "debtor", amount: 500 });
      expect([paying.status, paying.trips, await repaid(orderId)]).toEqual([201, 1, 5]);
    }
    const clear = await order(m, { orderId: "debt-4", memberId: "debtor", amount: 500 });
    expect([clear.status, clear.trips, clear.body.member.balance, await repaid("debt-4")]).toEqual([201, 1, 5, 0]);
  });

  it("stamps moved by another isolate are seen when a card is active, and cost nothing when none is", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "stamper", amount: 1000 });
    // No active card: the member's stamp rows play no part, so rows written elsewhere keep the speculation.
    await sqlOn(
      `INSERT INTO member_stamps (merchant_id, member_id, card_id, stamps, completed, debt, updated_at) VALUES (?, 'stamper', 'old', 1, 0, 0, 1)`,
      m.id,
    );
    expect((await order(m, { orderId: uid("o"), memberId: "stamper", amount: 1000 })).trips).toBe(1);
    const card = { name: "Every third visit", counts: "orders", stamps: 3, reward: { kind: "points", points: 100 } };
    expect((await call("PUT", "/v1/stamp-cards/visits", { token: m.admin, body: card })).status).toBe(201);
    // The card moved the configuration version: read again (which brings this isolate's cached configuration
    // to the new version), then the card's stamps are in the snapshot and the next order is one round trip.
    expect((await order(m, { orderId: uid("o"), memberId: "stamper", amount: 1000 })).trips).toBe(3);
    expect((await order(m, { orderId: uid("o"), memberId: "stamper", amount: 1000 })).trips).toBe(1);
    // Two stamps, and one more given elsewhere: the next order is planned again from three, completes the card
    // and starts the next one (planned from the snapshot's two, it would have completed nothing).
    await sqlOn(
      `UPDATE member_stamps SET stamps = stamps + 1 WHERE merchant_id = ? AND member_id = 'stamper' AND card_id = 'visits'`,
      m.id,
    );
    const completing = await order(m, { orderId: uid("o"), memberId: "stamper", amount: 1000 });
    expect([completing.status, completing.trips]).toEqual([201, 3]);
    const cards = await call("GET", "/v1/members/stamper/stamp-cards", { token: m.admin });
    expect(cards.body.data.find((c: { cardId: string }) => c.cardId === "visits")).toMatchObject({ stamps: 1, completed: 1 });
  });

  it("points paid toward the order elsewhere are seen: the order earns on the money part only", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "payer", amount: 1_000_000 });
    await sqlOn(
      `INSERT INTO redemptions (id, merchant_id, member_id, points, value, asset, status, order_id, created_at, updated_at)
       VALUES (?, ?, 'payer', 4000, 4000, 'points', 'captured', 'paid-order', 1, 1)`,
      uid("rd"),
      m.id,
    );
    const paid = await order(m, { orderId: "paid-order", memberId: "payer", amount: 10_000 });
    expect([paid.status, paid.trips, paid.body.pointsEarned]).toEqual([201, 3, 60]);
  });

  it("a redemption for the order at checkout sends the order to a read; one without an order keeps the snapshot", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "checkout", amount: 1_000_000 });
    const redeem = (body: Record<string, unknown>) => post(m, "/v1/redemptions", { memberId: "checkout", ...body }, uid("rd"));
    expect((await redeem({ points: 100 })).status).toBe(201);
    const kept = await order(m, { orderId: uid("o"), memberId: "checkout", amount: 1000 });
    expect([kept.status, kept.trips, kept.body.pointsEarned]).toEqual([201, 1, 10]);
    expect((await redeem({ points: 4000, orderId: "mixed" })).status).toBe(201);
    const mixed = await order(m, { orderId: "mixed", memberId: "checkout", amount: 10_000 });
    expect([mixed.status, mixed.trips, mixed.body.pointsEarned]).toEqual([201, 2, 60]);
  });

  it("a key revoked by another isolate is refused in the batch: 401 and nothing written", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "revoked", amount: 1000 });
    await sqlOn(`UPDATE api_keys SET revoked_at = 1 WHERE merchant_id = ? AND scope = 'checkout'`, m.id);
    const refused = await order(m, { orderId: "after-revoke", memberId: "revoked", amount: 1000 });
    expect([refused.status, refused.trips, refused.body.code, refused.body.detail]).toEqual([
      401,
      1,
      "unauthorized",
      "The API key has been revoked.",
    ]);
    expect(refused.headers.get("www-authenticate")).toContain("Bearer");
    expect((await call("GET", "/v1/orders/after-revoke", { token: m.admin })).status).toBe(404);
    expect((await member(m, "revoked")).balance).toBe(10);
  });

  it("a key revoked by another isolate gets 401 for an order refused before its batch, not the refusal", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "refused", amount: 1000 });
    await sqlOn(`UPDATE api_keys SET revoked_at = 1 WHERE merchant_id = ? AND scope = 'checkout'`, m.id);
    // The currency check would tell a revoked key the merchant's currency; a bad amount, the schema's refusal.
    const currency = await post(
      m,
      "/v1/orders",
      { orderId: uid("o"), memberId: "refused", amount: 1000, currency: "USD" },
      uid("k"),
    );
    const amount = await order(m, { orderId: uid("o"), memberId: "refused", amount: -5 });
    for (const refused of [currency, amount])
      expect([refused.status, refused.body.detail]).toEqual([401, "The API key has been revoked."]);
    // Learnt once, the key is no longer taken from the cache: the next request reads it and is refused.
    const next = await order(m, { orderId: uid("o"), memberId: "refused", amount: 1000 });
    expect([next.status, next.trips]).toEqual([401, 1]);
  });

  it("a key revoked through the API is forgotten by this isolate at once", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "forgotten", amount: 1000 });
    const keys = await call("GET", "/v1/api-keys", { token: m.admin });
    const checkout = keys.body.data.find((k: { scope: string }) => k.scope === "checkout");
    expect((await call("DELETE", `/v1/api-keys/${checkout.id}`, { token: m.admin })).status).toBe(204);
    const refused = await post(
      m,
      "/v1/orders",
      { orderId: uid("o"), memberId: "forgotten", amount: 1000, currency: "USD" },
      uid("k"),
    );
    expect([refused.status, refused.trips, refused.body.detail]).toEqual([401, 1, "The API key has been revoked."]);
  });

  it("replays, reused keys and reposted orders answer as they do after a read", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "twice", amount: 1000 });
    const key = uid("k");
    const body = { orderId: "once", memberId: "twice", amount: 2000 };
    const posted = await order(m, body, key);
    expect([posted.status, posted.trips]).toEqual([201, 1]);
    await order(m, { orderId: uid("o"), memberId: "twice", amount: 1000 });
    const replay = await order(m, body, key);
    expect([replay.status, replay.headers.get("idempotent-replayed")]).toEqual([201, "true"]);
    expect(replay.body).toEqual(posted.body);
    await order(m, { orderId: uid("o"), memberId: "twice", amount: 1000 });
    const reused = await order(m, { ...body, orderId: "other" }, key);
    expect([reused.status, reused.body.code]).toEqual([409, "idempotency_key_reused"]);
    await order(m, { orderId: uid("o"), memberId: "twice", amount: 1000 });
    const reposted = await order(m, body);
    expect([reposted.status, reposted.body.code]).toEqual([409, "conflict"]);
    expect((await member(m, "twice")).balance).toBe(10 + 20 + 10 + 10 + 10);
  });

  it("concurrent orders of one member all land, each once, whichever of them plans from the snapshot", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await order(m, { orderId: uid("o"), memberId: "burst", amount: 1000 });
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => order(m, { orderId: uid("o"), memberId: "burst", amount: 1000 })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect((await member(m, "burst")).balance).toBe(90);
  });
});

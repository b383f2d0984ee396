import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { EXPORT_MAX_ROWS } from "../src/members/schemas";
import { resetClock, setClock } from "../src/platform/clock";
import { BASE_RULE, call, createMerchant, createRule, ledger, member, postOrder, uid } from "./support/api";
import { merchantWith } from "./support/flows";

/** The export's truncated flags when no list was cut. */
const NOTHING_CUT = {
  ledger: false,
  orders: false,
  refunds: false,
  redemptions: false,
  referrals: false,
  perkStates: false,
  perkEvents: false,
  perkUses: false,
  tierHistory: false,
  vouchers: false,
  stampCards: false,
  rebateAllocations: false,
};

afterEach(() => resetClock());

describe("members", () => {
  it("creates (201), updates (200) keeping omitted fields, and clears with null", async () => {
    const m = await createMerchant();
    const created = await call("PUT", "/v1/members/ann", {
      token: m.checkout,
      body: { email: "ann@example.com", name: "Ann", attributes: { vip: true } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      id: "ann",
      email: "ann@example.com",
      name: "Ann",
      attributes: { vip: true },
      balance: 0,
      tier: null,
      lastOrderAt: null,
    });
    const updated = await call("PUT", "/v1/members/ann", { token: m.checkout, body: { name: "Ann Lee", email: null } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: "Ann Lee", email: null, attributes: { vip: true } });
    expect(updated.body.enrolledAt).toBe(created.body.enrolledAt);
    expect((await call("GET", "/v1/members/nobody", { token: m.read })).status).toBe(404);
  });

  it("stores attributes named like Object.prototype members as sent, __proto__ included", async () => {
    const m = await createMerchant();
    const attributes = { constructor: "c", toString: 1, hasOwnProperty: true, valueOf: null };
    const stored = await call("PUT", "/v1/members/proto", { token: m.checkout, body: { attributes } });
    expect(stored.status, stored.text).toBe(201);
    expect(stored.body.attributes).toEqual(attributes);
    // JSON.stringify would drop a __proto__ key of an object literal: send the text as a client would.
    const proto = await call("PUT", "/v1/members/proto", {
      token: m.checkout,
      rawBody: '{"attributes":{"__proto__":"x","plan":"gold"}}',
    });
    expect(proto.status, proto.text).toBe(200);
    expect(proto.text).toContain('"attributes":{"__proto__":"x","plan":"gold"}');
  });

  it("pages the ledger newest first with a cursor", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    for (let i = 1; i <= 7; i++) await postOrder(m, { orderId: `o-${i}`, memberId: "pager", amount: i * 100 });
    const first = await call("GET", "/v1/members/pager/ledger?limit=3", { token: m.read });
    expect(first.status).toBe(200);
    expect(first.body.data.map((e: any) => e.orderId)).toEqual(["o-7", "o-6", "o-5"]);
    expect(first.body.data[0]).toMatchObject({ type: "earn", points: 7, balanceAfter: 28 });
    const second = await call("GET", `/v1/members/pager/ledger?limit=3&cursor=${first.body.nextCursor}`, { token: m.read });
    expect(second.body.data.map((e: any) => e.orderId)).toEqual(["o-4", "o-3", "o-2"]);
    const third = await call("GET", `/v1/members/pager/ledger?limit=3&cursor=${second.body.nextCursor}`, { token: m.read });
    expect(third.body.data.map((e: any) => e.orderId)).toEqual(["o-1"]);
    expect(third.body.nextCursor).toBeNull();
    expect((await call("GET", "/v1/members/pager/ledger?cursor=garbage", { token: m.read })).status).toBe(400);
    expect((await call("GET", "/v1/members/pager/ledger?limit=201", { token: m.read })).status).toBe(400);
  });

  it("adjusts with a reason, refuses a negative adjustment beyond the balance", async () => {
    const m = await createMerchant();
    await call("PUT", "/v1/members/adj", { token: m.admin, body: {} });
    const plus = await call("POST", "/v1/members/adj/adjustments", {
      token: m.admin,
      idempotencyKey: uid("k"),
      body: { points: 80, reason: "goodwill: late delivery" },
    });
    expect(plus.status, plus.text).toBe(201);
    expect(plus.body).toMatchObject({
      points: 80,
      reason: "goodwill: late delivery",
      member: { balance: 80, lifetimeEarned: 0 },
    });
    const minus = await call("POST", "/v1/members/adj/adjustments", {
      token: m.admin,
      idempotencyKey: uid("k"),
      body: { points: -50, reason: "correction" },
    });
    expect(minus.body.member.balance).toBe(30);
    const over = await call("POST", "/v1/members/adj/adjustments", {
      token: m.admin,
      idempotencyKey: uid("k"),
      body: { points: -31, reason: "too much" },
    });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe("insufficient_points");
    const entries = await ledger(m, "adj");
    expect(entries.map((e) => [e.type, e.points, e.reason])).toEqual([
      ["adjust", 80, "goodwill: late delivery"],
      ["adjust", -50, "correction"],
    ]);
    const noReason = await call("POST", "/v1/members/adj/adjustments", {
      token: m.admin,
      idempotencyKey: uid("k"),
      body: { points: 5 },
    });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors[0].path).toBe("reason");
  });

  it("cuts each exported list at EXPORT_MAX_ROWS, newest first, and says which were cut", async () => {
    const m = await createMerchant();
    await call("PUT", "/v1/members/long", { token: m.admin, body: {} });
    // One row more than the export carries, written directly: through the API this would take minutes.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       INSERT INTO redemptions (id, merchant_id, member_id, points, value, status, order_id, hold_expires_at, created_at, updated_at)
       SELECT printf('rd_%026d', i), ?1, ?2, 1, 1, 'cancelled', NULL, NULL, i, i FROM n`,
    )
      .bind(m.id, "long", EXPORT_MAX_ROWS + 1)
      .run();
    // And as many perk uses: the lists added for perks, tiers, stamps and rebates are bounded the same way.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       INSERT INTO perk_uses (id, merchant_id, member_id, perk_id, period, created_at)
       SELECT printf('pu_%026d', i), ?1, ?2, 'p', NULL, i FROM n`,
    )
      .bind(m.id, "long", EXPORT_MAX_ROWS + 1)
      .run();
    const exported = await call("GET", "/v1/members/long/export", { token: m.admin });
    expect(exported.status, exported.text).toBe(200);
    expect(exported.body.truncated).toEqual({ ...NOTHING_CUT, redemptions: true, perkUses: true });
    expect(exported.body.perkUses).toHaveLength(EXPORT_MAX_ROWS);
    expect(exported.body.perkUses[0].id).toBe(`pu_${String(EXPORT_MAX_ROWS + 1).padStart(26, "0")}`);
    expect(exported.body.redemptions).toHaveLength(EXPORT_MAX_ROWS);
    // The oldest row is the one left out.
    expect(exported.body.redemptions[0].id).toBe(`rd_${String(EXPORT_MAX_ROWS + 1).padStart(26, "0")}`);
    expect(exported.body.redemptions.some((r: { id: string }) => r.id === `rd_${"1".padStart(26, "0")}`)).toBe(false);
  });

  it("exports everything held and erases personal data keeping totals", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await call("PUT", "/v1/members/gdpr", {
      token: m.admin,
      body: { email: "g@example.com", name: "G", birthday: "1990-05-01" },
    });
    await postOrder(m, { orderId: "o-g", memberId: "gdpr", amount: 2500 });
    const exported = await call("GET", "/v1/members/gdpr/export", { token: m.admin });
    expect(exported.status).toBe(200);
    expect(exported.body.member).toMatchObject({ email: "g@example.com", birthday: "1990-05-01", balance: 25 });
    expect(exported.body.ledger).toHaveLength(1);
    expect(exported.body.orders[0]).toMatchObject({ orderId: "o-g", pointsEarned: 25 });
    expect(exported.body.truncated).toEqual(NOTHING_CUT);

    const token = await call("POST", "/v1/members/gdpr/tokens", { token: m.checkout });
    expect((await call("DELETE", "/v1/members/gdpr", { token: m.admin })).status).toBe(204);
    const after = await member(m, "gdpr");
    expect(after).toMatchObject({
      email: null,
      name: null,
      birthday: null,
      attributes: null,
      erased: true,
      balance: 25,
      lifetimeEarned: 25,
    });
    expect((await ledger(m, "gdpr")).reduce((s, e) => s + e.points, 0)).toBe(25);
    expect((await call("GET", "/v1/me", { token: token.body.token })).status).toBe(401);
    expect((await call("DELETE", "/v1/members/ghost", { token: m.admin })).status).toBe(404);
  });

  it("exports the member's perk states, events and uses, tier history, vouchers, stamp cards and rebate shares", async () => {
    setClock(Date.parse("2026-04-20T04:00:00.000Z"));
    const m = await merchantWith({});
    const ladder = {
      metric: "spend",
      window: { kind: "calendar_year" },
      tiers: [
        { id: "member", name: "Member", threshold: 0 },
        { id: "gold", name: "Gold", threshold: 1000 },
      ],
    };
    expect((await call("PUT", "/v1/tiers", { token: m.admin, body: ladder })).status).toBe(200);
    const card = { name: "Every order", counts: "orders", stamps: 1, reward: { kind: "voucher", name: "Free tea", value: 1500 } };
    expect((await call("PUT", "/v1/stamp-cards/c1", { token: m.admin, body: card })).status).toBe(201);
    const perk = { name: "Delivery", value: 800, unlock: {}, quota: { uses: 2, per: "month" } };
    expect((await call("PUT", "/v1/perks/p1", { token: m.admin, body: perk })).status).toBe(201);
    const program = { name: "Profit share", period: "month", shareBps: 1000, payout: "credit" };
    expect((await call("PUT", "/v1/rebate-programs/share", { token: m.admin, body: program })).status).toBe(201);
    await call("PUT", "/v1/members/ex", { token: m.admin, body: { email: "ex@example.com" } });
    // One order: gold, a completed card and its voucher.
    expect((await postOrder(m, { orderId: "ex-o", memberId: "ex", amount: 5000 })).status).toBe(201);
    const used = await call("POST", "/v1/members/ex/perks/p1/uses", { token: m.checkout, idempotencyKey: uid("k") });
    expect(used.status, used.text).toBe(201);
    // A read of the member's perks records the unlock it observes.
    expect((await call("GET", "/v1/members/ex/perks", { token: m.admin })).status).toBe(200);
    // May: April closes, 10% of 100.00 = 10.00, all of it to ex.
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const close = await call("POST", "/v1/rebate-programs/share/periods/2026-04/close", {
      token: m.admin,
      idempotencyKey: uid("k"),
      body: { netProfit: 10_000 },
    });
    expect(close.status, close.text).toBe(200);

    const exported = await call("GET", "/v1/members/ex/export", { token: m.admin });
    expect(exported.status, exported.text).toBe(200);
    const body = exported.body;
    // The clock runs on from where it was set.
    const april20 = expect.stringMatching(/^2026-04-20T04:00/);
    expect(body.perkUses).toEqual([
      {
        id: used.body.id,
        perkId: "p1",
        period: "m2026-04",
        createdAt: used.body.createdAt,
        reversedAt: null,
        reverseReason: null,
      },
    ]);
    expect(body.perkStates).toEqual([{ perkId: "p1", unlocked: true, lapsedAt: null, changedAt: april20 }]);
    expect(body.perkEvents).toEqual([
      { id: expect.any(String), perkId: "p1", kind: "unlocked", reason: expect.any(String), at: april20 },
    ]);
    // The same bodies as the member's own lists.
    expect(body.tierHistory).toEqual((await call("GET", "/v1/members/ex/tier/history", { token: m.admin })).body.data);
    expect(body.tierHistory[0]).toMatchObject({ to: "gold", reason: "upgrade" });
    expect(body.vouchers).toEqual((await call("GET", "/v1/members/ex/vouchers", { token: m.admin })).body.data);
    expect(body.vouchers).toHaveLength(1);
    expect(body.stampCards).toEqual([{ cardId: "c1", stamps: 0, stampDebt: 0, completed: 1, updatedAt: april20 }]);
    expect(body.rebateAllocations).toEqual([
      {
        programId: "share",
        periodKey: "2026-04",
        spend: 5000,
        amount: 1000,
        units: 1000,
        paid: true,
        paidAt: expect.stringMatching(/^2026-05-10T04:00/),
      },
    ]);
    expect(body.truncated).toEqual(NOTHING_CUT);
  });

  it("mints member tokens that reach only /v1/me of their member", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await postOrder(m, { orderId: "o-me", memberId: "me", amount: 1200 });
    const minted = await call("POST", "/v1/members/me/tokens", { token: m.checkout, body: { ttlSeconds: 600 } });
    expect(minted.status, minted.text).toBe(201);
    expect(minted.body.token).toMatch(/^mt_/);
    expect(Date.parse(minted.body.expiresAt) - Date.now()).toBeGreaterThan(590_000);
    const me = await call("GET", "/v1/me", { token: minted.body.token });
    expect(me.body).toMatchObject({ id: "me", balance: 12 });
    const myLedger = await call("GET", "/v1/me/ledger", { token: minted.body.token });
    expect(myLedger.body.data).toHaveLength(1);
    expect((await call("GET", "/v1/members/me", { token: minted.body.token })).status).toBe(403);
    expect((await call("GET", "/v1/me", { token: m.admin })).status).toBe(403);
    expect((await call("POST", "/v1/members/unknown/tokens", { token: m.checkout })).status).toBe(404);
  });

  // Was: the key was stored only after the handler, so parallel copies of one token request minted several
  // live tokens.
  it("mints one token from 15 parallel copies of one request", async () => {
    const m = await createMerchant();
    await call("PUT", "/v1/members/twin", { token: m.admin, body: {} });
    const key = uid("token-key");
    const replies = await Promise.all(
      Array.from({ length: 15 }, () =>
        call("POST", "/v1/members/twin/tokens", { token: m.checkout, idempotencyKey: key, body: { ttlSeconds: 600 } }),
      ),
    );
    const minted = await env.DB.prepare("SELECT COUNT(*) AS n FROM member_tokens WHERE merchant_id = ?1 AND member_id = 'twin'")
      .bind(m.id)
      .first<{ n: number }>();
    expect(minted!.n).toBe(1);
    const fresh = replies.filter((r) => r.status === 201 && r.headers.get("idempotent-replayed") !== "true");
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.body.token).toMatch(/^mt_/);
    for (const r of replies.filter((r) => r !== fresh[0])) {
      if (r.status === 409) expect(r.body.code).toBe("conflict");
      else
        expect([r.status, r.headers.get("idempotent-replayed"), r.body]).toEqual([
          201,
          "true",
          { ...fresh[0]!.body, token: null },
        ]);
    }
  });

  // Was: after DELETE /v1/members/{id}, PUT put personal data back and new member tokens were minted.
  it("keeps an erased member erased: no personal data, no tokens; points still move", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await call("PUT", "/v1/members/gone", { token: m.admin, body: { email: "gone@example.com", name: "Gone" } });
    expect((await call("DELETE", "/v1/members/gone", { token: m.admin })).status).toBe(204);

    for (const body of [{ email: "back@example.com" }, { name: "Back" }, { birthday: "1990-01-01" }, { attributes: { a: 1 } }]) {
      const put = await call("PUT", "/v1/members/gone", { token: m.checkout, body });
      expect(put.status, put.text).toBe(409);
      expect(put.body.code).toBe("conflict");
      expect(put.body.detail).toMatch(/erased/);
    }
    // Nothing personal to add: an upsert without data is still answered with the (erased) member.
    const empty = await call("PUT", "/v1/members/gone", { token: m.checkout, body: { email: null } });
    expect(empty.status, empty.text).toBe(200);
    expect(empty.body).toMatchObject({ erased: true, email: null, name: null });

    const token = await call("POST", "/v1/members/gone/tokens", { token: m.checkout, body: {} });
    expect(token.status, token.text).toBe(409);
    expect(token.body.code).toBe("conflict");
    const tokens = await env.DB.prepare("SELECT COUNT(*) AS n FROM member_tokens WHERE merchant_id = ?1 AND member_id = 'gone'")
      .bind(m.id)
      .first<{ n: number }>();
    expect(tokens!.n).toBe(0);
    expect(await member(m, "gone")).toMatchObject({ erased: true, email: null, name: null, birthday: null, attributes: null });

    // The account stays: orders still earn, so the ledger keeps adding up.
    const order = await postOrder(m, { orderId: "after-erasure", memberId: "gone", amount: 300 });
    expect(order.status, order.text).toBe(201);
    expect(order.body.member).toMatchObject({ balance: 3, erased: true, email: null });
  });
});

/**
 * A rule, the program or the ladder changed between an order's read and its write batch: the batch finds the
 * merchant's configuration version moved and the order is planned again from a fresh read, on either path
 * (planned from a read, or from the isolate's member snapshot).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, member, type TestMerchant, uid } from "./support/api";
import { onceBefore, postThrough } from "./support/d1-faults";

interface OrderReply {
  pointsEarned: number;
  awards: { ruleId: string; ruleVersion?: number }[];
}

/**
 * Posts an order whose write batch meets `change` committed just before it (an admin's PUT answering
 * `status`); returns the order's status and reply.
 */
async function orderMeeting(
  m: TestMerchant,
  change: { path: string; body: unknown; status?: number },
  order: { memberId: string; amount: number },
): Promise<{ status: number; body: OrderReply }> {
  const race = onceBefore(env.DB, "INSERT INTO orders", async () => {
    const r = await call("PUT", change.path, { token: m.admin, body: change.body });
    expect(r.status, r.text).toBe(change.status ?? 200);
  });
  const response = await postThrough(race.db, "/v1/orders", m.checkout, { orderId: uid("o"), currency: "CNY", ...order });
  expect(race.fired()).toBe(true);
  return { status: response.status, body: (await response.json()) as OrderReply };
}

const promo = { id: "promo", name: "promo", effect: { kind: "fixed", points: 500 } };
const promoOff = { path: "/v1/rules/promo", body: { name: "promo", active: false, effect: promo.effect } };

describe("configuration changed between an order's read and its write", () => {
  it("a rule deactivated meanwhile awards nothing (planned from a read)", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await createRule(m, promo);
    const { status, body } = await orderMeeting(m, promoOff, { memberId: uid("new"), amount: 1000 });
    expect(status).toBe(201);
    // The rule was inactive (version 2) when the order committed: only the base rule awards.
    expect({ pointsEarned: body.pointsEarned, awards: body.awards.map((a) => a.ruleId) }).toEqual({
      pointsEarned: 10,
      awards: ["base"],
    });
  });

  it("a rule edited meanwhile awards at its new version (planned from a read)", async () => {
    const m = await createMerchant();
    await createRule(m, { ...BASE_RULE });
    const edit = { path: "/v1/rules/base", body: { name: "base", effect: { kind: "per_amount", points: 1, per: 1000 } } };
    const { status, body } = await orderMeeting(m, edit, { memberId: uid("new"), amount: 10000 });
    expect([status, body.pointsEarned, body.awards[0]?.ruleVersion]).toEqual([201, 10, 2]);
  });

  it("a return window set meanwhile makes the points pending (planned from a read)", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const program = { pointValue: { points: 100, amount: 100 }, pendingDays: 0, expiry: { policy: "none" }, autoEnroll: true };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: program })).status).toBe(200);
    const memberId = uid("new");
    const window = { path: "/v1/program", body: { ...program, pendingDays: 30 } };
    expect((await orderMeeting(m, window, { memberId, amount: 10000 })).status).toBe(201);
    const after = await member(m, memberId);
    // A 30-day return window was in force when the order committed: its points are pending.
    expect({ balance: after.balance, pending: after.pending }).toEqual({ balance: 0, pending: 100 });
  });

  it("a tier multiplier lowered meanwhile earns at the new one (planned from a read)", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const ladder = (bronzeBps: number) => ({
      metric: "spend",
      window: { kind: "calendar_year" },
      tiers: [
        { id: "bronze", name: "Bronze", threshold: 0, earnMultiplier: bronzeBps },
        { id: "gold", name: "Gold", threshold: 10_000_000 },
      ],
    });
    expect((await call("PUT", "/v1/tiers", { token: m.admin, body: ladder(3) })).status).toBe(200);
    const { status, body } = await orderMeeting(
      m,
      { path: "/v1/tiers", body: ladder(1) },
      { memberId: uid("new"), amount: 10000 },
    );
    expect([status, body.pointsEarned]).toEqual([201, 100]);
  });

  it("a rule deactivated meanwhile awards nothing (planned from the member's snapshot)", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await createRule(m, promo);
    const memberId = uid("spec");
    // First order through the same module instance keeps a snapshot for the member.
    const first = await postThrough(env.DB, "/v1/orders", m.checkout, {
      orderId: uid("o"),
      memberId,
      amount: 1000,
      currency: "CNY",
    });
    expect(first.status).toBe(201);
    const { status, body } = await orderMeeting(m, promoOff, { memberId, amount: 1000 });
    expect([status, body.pointsEarned]).toEqual([201, 10]);
  });
});

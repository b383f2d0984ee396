import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { runScheduledJobs } from "../src/jobs/scheduled";
import { advanceClock, MINUTE_MS, resetClock } from "../src/platform/clock";
import { BASE_RULE, call, createMerchant, createRule, ledger, member, postOrder, type TestMerchant, uid } from "./support/api";

afterEach(() => resetClock());

async function funded(points: number): Promise<{ m: TestMerchant; memberId: string }> {
  const m = await createMerchant();
  await createRule(m, BASE_RULE);
  const memberId = uid("member");
  const r = await postOrder(m, { orderId: uid("o"), memberId, amount: points * 100 });
  expect(r.body.member.balance).toBe(points);
  return { m, memberId };
}

const redeem = (m: TestMerchant, body: Record<string, unknown>, key = uid("k")) =>
  call("POST", "/v1/redemptions", { token: m.checkout, idempotencyKey: key, body });

function sumOf(entries: { points: number }[]): number {
  return entries.reduce((s, e) => s + e.points, 0);
}

describe("redemptions", () => {
  it("captures at once, values points by pointValue, and cancel returns them", async () => {
    const { m, memberId } = await funded(500);
    await call("PUT", "/v1/program", {
      token: m.admin,
      body: { pointValue: { points: 10, amount: 1 }, pendingDays: 0, expiry: { policy: "none" }, autoEnroll: true },
    });
    const r = await redeem(m, { memberId, points: 205, orderId: "basket-1" });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ status: "captured", points: 205, value: 20, orderId: "basket-1", holdExpiresAt: null });
    expect(r.body.member).toMatchObject({ balance: 295, lifetimeRedeemed: 205 });

    const cancelled = await call("POST", `/v1/redemptions/${r.body.id}/cancel`, { token: m.checkout });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "cancelled", member: { balance: 500, lifetimeRedeemed: 0 } });
    const again = await call("POST", `/v1/redemptions/${r.body.id}/cancel`, { token: m.checkout });
    expect(again.status).toBe(409);

    const entries = await ledger(m, memberId);
    expect(entries.map((e) => e.type)).toEqual(["earn", "redeem", "redemption_return"]);
    expect(sumOf(entries)).toBe(500);
  });

  it("holds, then captures; a second capture is a conflict", async () => {
    const { m, memberId } = await funded(300);
    const held = await redeem(m, { memberId, points: 120, hold: true });
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ status: "held", member: { balance: 180, held: 120, lifetimeRedeemed: 0 } });
    expect(Date.parse(held.body.holdExpiresAt) - Date.now()).toBeGreaterThan(14 * MINUTE_MS);

    const captured = await call("POST", `/v1/redemptions/${held.body.id}/capture`, { token: m.checkout });
    expect(captured.status, captured.text).toBe(200);
    expect(captured.body).toMatchObject({ status: "captured", member: { balance: 180, held: 0, lifetimeRedeemed: 120 } });
    expect((await call("POST", `/v1/redemptions/${held.body.id}/capture`, { token: m.checkout })).status).toBe(409);

    const entries = await ledger(m, memberId);
    expect(entries.map((e) => e.type)).toEqual(["earn", "hold", "release", "redeem"]);
    expect(sumOf(entries)).toBe(180);
    expect(entries.at(-1).balanceAfter).toBe(180);
  });

  it("cancelling a hold releases the points", async () => {
    const { m, memberId } = await funded(100);
    const held = await redeem(m, { memberId, points: 100, hold: true });
    const cancelled = await call("POST", `/v1/redemptions/${held.body.id}/cancel`, { token: m.checkout });
    expect(cancelled.body).toMatchObject({ status: "cancelled", member: { balance: 100, held: 0 } });
    expect((await ledger(m, memberId)).map((e) => e.type)).toEqual(["earn", "hold", "release"]);
  });

  it("releases holds by itself after 15 minutes, once, even when the job runs twice at once", async () => {
    const { m, memberId } = await funded(100);
    const held = await redeem(m, { memberId, points: 60, hold: true });
    await runScheduledJobs(env);
    expect((await member(m, memberId)).held).toBe(60);

    advanceClock(15 * MINUTE_MS + 1);
    const captureLate = await call("POST", `/v1/redemptions/${held.body.id}/capture`, { token: m.checkout });
    expect(captureLate.status).toBe(409);
    await Promise.all([runScheduledJobs(env), runScheduledJobs(env)]);
    await runScheduledJobs(env);
    const after = await member(m, memberId);
    expect(after).toMatchObject({ balance: 100, held: 0 });
    const entries = await ledger(m, memberId);
    expect(entries.map((e) => e.type)).toEqual(["earn", "hold", "release"]);
    const r = await call("GET", `/v1/redemptions/${held.body.id}`, { token: m.checkout });
    expect(r.body.status).toBe("released");
  });

  it("refuses to overdraw and writes nothing", async () => {
    const { m, memberId } = await funded(50);
    const r = await redeem(m, { memberId, points: 51 });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("insufficient_points");
    expect(await ledger(m, memberId)).toHaveLength(1);
    expect((await member(m, memberId)).balance).toBe(50);
    // A refused key can be retried once the member can pay.
    expect((await redeem(m, { memberId, points: 50 })).status).toBe(201);
  });

  it("20 parallel redemptions against a balance that covers 5: exactly 5 succeed", async () => {
    const { m, memberId } = await funded(500);
    const replies = await Promise.all(Array.from({ length: 20 }, () => redeem(m, { memberId, points: 100 })));
    const ok = replies.filter((r) => r.status === 201);
    const refused = replies.filter((r) => r.status === 409);
    expect(ok).toHaveLength(5);
    expect(refused).toHaveLength(15);
    expect(refused.every((r) => r.body.code === "insufficient_points")).toBe(true);
    for (const r of ok) expect(r.body.member.balance).toBeGreaterThanOrEqual(0);
    const entries = await ledger(m, memberId);
    expect(entries.every((e) => e.balanceAfter >= 0)).toBe(true);
    expect((await member(m, memberId)).balance).toBe(0);
    expect(sumOf(entries)).toBe(0);
  });

  // Was: with pointValue 100 points = 1 fen, redeeming 99 points was worth 0 and still took the points.
  it("refuses a redemption worth nothing in money, writing nothing", async () => {
    const { m, memberId } = await funded(500);
    await call("PUT", "/v1/program", {
      token: m.admin,
      body: { pointValue: { points: 100, amount: 1 }, pendingDays: 0, expiry: { policy: "none" }, autoEnroll: true },
    });
    const before = await ledger(m, memberId);
    for (const hold of [false, true]) {
      const r = await redeem(m, { memberId, points: 99, hold });
      expect(r.status, r.text).toBe(422);
      expect(r.body.code).toBe("unprocessable");
      expect(r.body.errors.map((e: any) => e.path)).toEqual(["points"]);
      expect(r.body.detail).toMatch(/at least 100 points/);
    }
    expect(await ledger(m, memberId)).toEqual(before);
    expect((await member(m, memberId)).balance).toBe(500);
    const ok = await redeem(m, { memberId, points: 100 });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.value).toBe(1);
  });

  it("returns 404 for an unknown member or redemption", async () => {
    const { m } = await funded(10);
    expect((await redeem(m, { memberId: "ghost", points: 1 })).status).toBe(404);
    expect((await call("POST", "/v1/redemptions/rd_0000000000000000000000000a/capture", { token: m.checkout })).status).toBe(404);
  });
});

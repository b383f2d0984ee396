/**
 * Money bugs found by attacking the engine with a moving clock and odd input. Each test reproduces one
 * finding exactly as it was reported and failed before its fix.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { holdReleaseJob } from "../src/jobs/hold-release";
import { runJob } from "../src/jobs/runner";
import { advanceClock, DAY_MS, MINUTE_MS, resetClock } from "../src/platform/clock";
import { call, member, postOrder, uid } from "./support/api";
import { adjust, cancel, merchantWith, redeem, refund, runFor } from "./support/flows";
import { checkMemberInvariants } from "./support/invariants";

afterEach(() => resetClock());

describe("inactivity runs from the member's last activity as posted", () => {
  it("a backdated order does not wipe points earned today", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 365 } });
    expect((await call("PUT", "/v1/members/put1", { token: m.admin, body: {} })).status).toBe(201);
    expect((await adjust(m, "put1", 1000)).status).toBe(201);
    const twoYearsAgo = new Date(Date.now() - 730 * DAY_MS).toISOString();
    expect((await postOrder(m, { orderId: "old-1", memberId: "put1", amount: 5000, occurredAt: twoYearsAgo })).status).toBe(201);
    expect((await redeem(m, "put1", 10)).status).toBe(201);
    expect((await runFor(m, "inactivity-expiry")).body.processed).toBe(0);
    expect(await member(m, "put1")).toMatchObject({ balance: 1040, pending: 0 });
    await checkMemberInvariants(m.id, "put1");
  });

  it("a read settles an inactivity wipe that is due, so a balance shown can be spent", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    await postOrder(m, { orderId: "i-1", memberId: "idle", amount: 10000 });
    advanceClock(32 * DAY_MS);
    const expiring = await call("GET", "/v1/members/idle/expiring?withinDays=30", { token: m.admin });
    expect(expiring.body.total).toBe(0);
    const shown = await member(m, "idle");
    expect(shown.balance).toBe(0);
    expect((await redeem(m, "idle", 1)).status).toBe(409);
    await checkMemberInvariants(m.id, "idle");
  });

  it("spends count as activity: a member who redeems keeps the rest", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    await postOrder(m, { orderId: "s-1", memberId: "spender", amount: 10000 });
    advanceClock(20 * DAY_MS);
    expect((await redeem(m, "spender", 10)).status).toBe(201);
    advanceClock(20 * DAY_MS);
    expect(await member(m, "spender")).toMatchObject({ balance: 90 });
    expect((await redeem(m, "spender", 90)).status).toBe(201);
  });
});

describe("refunds decide what they reverse inside their own transaction", () => {
  it("a refund racing the cancel of a redemption of expired points never charges twice", async () => {
    for (const race of ["cancel", "hold-release"] as const) {
      const m = await merchantWith({ expiry: { policy: "after_earn", days: 30 } });
      const memberId = uid("racer");
      await postOrder(m, { orderId: `${memberId}-o`, memberId, amount: 10000 });
      const spent = await redeem(m, memberId, 100, race === "hold-release");
      expect(spent.status).toBe(201);
      advanceClock(35 * DAY_MS);
      const other =
        race === "cancel"
          ? cancel(m, spent.body.id)
          : runJob(env.DB, holdReleaseJob, { trigger: "cron", scope: { merchantId: m.id } });
      const [r] = await Promise.all([refund(m, `${memberId}-o`), other]);
      expect(r.status, r.text).toBe(201);
      expect((await member(m, memberId)).balance, race).toBe(0);
      await checkMemberInvariants(m.id, memberId);
    }
  });

  it("refund then cancel ends where cancel then refund does, when the refund drained another lot", async () => {
    const ends: number[] = [];
    for (const first of ["refund", "cancel"] as const) {
      const m = await merchantWith({ expiry: { policy: "after_earn", days: 10 } });
      const memberId = uid("drained");
      await postOrder(m, { orderId: `${memberId}-a`, memberId, amount: 13000 });
      const spent = await redeem(m, memberId, 130);
      // A never-expiring goodwill lot the refund can drain while the order's points are out.
      expect((await adjust(m, memberId, 49)).status).toBe(201);
      await env.DB.prepare(
        `UPDATE point_lots SET expires_at = NULL, expire_key = 8640000000000000 WHERE merchant_id = ?1 AND member_id = ?2 AND order_id IS NULL`,
      )
        .bind(m.id, memberId)
        .run();
      advanceClock(12 * DAY_MS);
      if (first === "refund") {
        expect((await refund(m, `${memberId}-a`)).status).toBe(201);
        expect((await cancel(m, spent.body.id)).status).toBe(200);
      } else {
        expect((await cancel(m, spent.body.id)).status).toBe(200);
        expect((await refund(m, `${memberId}-a`)).status).toBe(201);
      }
      await checkMemberInvariants(m.id, memberId);
      ends.push((await member(m, memberId)).balance);
      resetClock();
    }
    expect(ends).toEqual([49, 49]);
  });

  it("refund then cancel gives back what later earnings repaid of the refund's debt", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 10 } });
    await postOrder(m, { orderId: "debt-a", memberId: "repaid", amount: 6300 });
    const spent = await redeem(m, "repaid", 63);
    advanceClock(12 * DAY_MS);
    // The order's points are out: the refund makes debt, which the next order repays.
    expect((await refund(m, "debt-a")).body.member.balance).toBe(-63);
    expect((await postOrder(m, { orderId: "debt-b", memberId: "repaid", amount: 5500 })).body.member.balance).toBe(-8);
    // The spent points come back (to a lot past its date): they settle the refund's debt and give the
    // next order's 55 back, as if the cancel had come first.
    expect((await cancel(m, spent.body.id)).body.member.balance).toBe(55);
    await checkMemberInvariants(m.id, "repaid");
    advanceClock(5 * DAY_MS);
    expect((await member(m, "repaid")).balance).toBe(55);
  });

  it("a refund touching a pending lot both due for release and expired keeps the debt it repaid", async () => {
    const m = await merchantWith({});
    // A member in debt 100: earn 100, spend it, refund that order.
    await postOrder(m, { orderId: "d-0", memberId: "debtor", amount: 10000 });
    expect((await redeem(m, "debtor", 100)).status).toBe(201);
    expect((await refund(m, "d-0")).body.member.balance).toBe(-100);
    const settings = {
      pointValue: { points: 100, amount: 100 },
      pendingDays: 7,
      expiry: { policy: "after_earn", days: 8 },
      autoEnroll: true,
    };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: settings })).status).toBe(200);
    await postOrder(m, { orderId: "d-1", memberId: "debtor", amount: 30000 });
    advanceClock(15 * DAY_MS);
    const r = await refund(m, "d-1");
    expect(r.status, r.text).toBe(201);
    // Released on day 7, 100 repaid the debt; on day 9 the other 200 expired. Processed together on day 15, in
    // that order. The refund reverses 300: 200 already gone, 100 taken.
    expect(r.body).toMatchObject({ pointsReversed: 100, pointsAlreadyExpired: 200, member: { balance: -100, pending: 0 } });
    await checkMemberInvariants(m.id, "debtor");
  });
});

describe("totals stay exact integers", () => {
  it("refuses a credit that would take a balance past 2^53 - 1", async () => {
    const m = await merchantWith({});
    await call("PUT", "/v1/members/rich", { token: m.admin, body: {} });
    // Lift the balance close to the limit directly, as 9,000 adjustments of 1e12 would.
    await env.DB.prepare(`UPDATE members SET balance = ?1, lifetime_earned = 0 WHERE merchant_id = ?2 AND id = 'rich'`)
      .bind(Number.MAX_SAFE_INTEGER - 1_000_000_000_000 - 5, m.id)
      .run();
    await env.DB.prepare(
      `INSERT INTO point_lots (id, merchant_id, member_id, entry_id, points, remaining, is_pending, created_at, available_at, expire_key)
       VALUES ('lot-rich', ?1, 'rich', 'lot-rich', ?2, ?2, 0, 0, 0, 8640000000000000)`,
    )
      .bind(m.id, Number.MAX_SAFE_INTEGER - 1_000_000_000_000 - 5)
      .run();
    expect((await adjust(m, "rich", 1_000_000_000_000)).status).toBe(201);
    const over = await adjust(m, "rich", 6);
    expect(over.status, over.text).toBe(422);
    expect(over.body.code).toBe("unprocessable");
    const after = await member(m, "rich");
    expect(after.balance).toBe(Number.MAX_SAFE_INTEGER - 5);
    expect((await redeem(m, "rich", 1)).body.member.balance).toBe(Number.MAX_SAFE_INTEGER - 6);
  });

  it("refuses a redemption whose money value would pass 2^53 - 1", async () => {
    const m = await merchantWith({ pointValue: { points: 1, amount: 999_999 } });
    await call("PUT", "/v1/members/v", { token: m.admin, body: {} });
    await adjust(m, "v", 999_999_999_999);
    const r = await redeem(m, "v", 999_999_999_999);
    expect(r.status, r.text).toBe(422);
    expect(r.body.errors?.[0]?.path).toBe("points");
    expect((await member(m, "v")).balance).toBe(999_999_999_999);
  });
});

describe("due holds are released inline", () => {
  it("a read or a spend 16 minutes after a hold finds its points back", async () => {
    const m = await merchantWith({});
    await postOrder(m, { orderId: "h-1", memberId: "holder", amount: 10000 });
    const held = await redeem(m, "holder", 100, true);
    expect(held.body.member).toMatchObject({ balance: 0, held: 100 });
    advanceClock(16 * MINUTE_MS);
    expect(await member(m, "holder")).toMatchObject({ balance: 100, held: 0 });
    const capture = await call("POST", `/v1/redemptions/${held.body.id}/capture`, { token: m.checkout });
    expect(capture.status).toBe(409);
    expect((await call("GET", `/v1/redemptions/${held.body.id}`, { token: m.checkout })).body.status).toBe("released");

    const again = await redeem(m, "holder", 100, true);
    expect(again.status, again.text).toBe(201);
    advanceClock(16 * MINUTE_MS);
    const spend = await redeem(m, "holder", 100);
    expect(spend.status, spend.text).toBe(201);
    expect((await call("GET", `/v1/redemptions/${again.body.id}`, { token: m.checkout })).body.status).toBe("released");
    expect((await runJob(env.DB, holdReleaseJob, { trigger: "cron", scope: { merchantId: m.id } })).processed).toBe(0);
    await checkMemberInvariants(m.id, "holder");
  });
});

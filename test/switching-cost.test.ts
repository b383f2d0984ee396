/**
 * The switching-cost statement with every component computed by hand: points and pending points at the
 * program's pointValue, store credit, perks, the tier's extra earning, the streak, and the accrued rebate;
 * what is due settled before it is valued (by the statement and by the job), and values bounded.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_TOTAL } from "../src/platform/assert";
import { advanceClock, DAY_MS, MINUTE_MS, resetClock, setClock } from "../src/platform/clock";
import { call, ledger, member, postOrder, type TestMerchant, uid } from "./support/api";
import { merchantWith, PROGRAM_DEFAULTS, redeem, refund, runFor } from "./support/flows";

afterEach(() => resetClock());

describe("switching cost", () => {
  it("values each component as computed by hand, and the total is their sum", async () => {
    // 100 points are worth 0.50: one point is half a fen, rounded down.
    const m = await merchantWith({ pointValue: { points: 100, amount: 50 }, pendingDays: 7 });
    const ladder = {
      metric: "spend",
      window: { kind: "calendar_year" },
      tiers: [
        { id: "member", name: "Member", threshold: 0 },
        { id: "gold", name: "Gold", threshold: 50_000, earnMultiplier: 2 },
      ],
    };
    expect((await call("PUT", "/v1/tiers", { token: m.admin, body: ladder })).status).toBe(200);
    await call("PUT", "/v1/perks/delivery", {
      token: m.admin,
      body: { name: "Free delivery", value: 800, quota: { uses: 2, per: "month" } },
    });
    await call("PUT", "/v1/perks/lounge", { token: m.admin, body: { name: "Lounge", value: 5000, unlock: { tier: "gold" } } });
    await call("PUT", "/v1/perks/loyal", {
      token: m.admin,
      body: { name: "Loyal gift", value: 3000, unlock: { streakMonths: 4 } },
    });
    const program = { name: "Credit back", period: "month", shareBps: 1000, payout: "credit" };
    expect((await call("PUT", "/v1/rebate-programs/back", { token: m.admin, body: program })).status).toBe(201);

    // April: 600.00 at the member tier's 1x = 600 points, and the order reaches gold.
    setClock(Date.parse("2026-04-20T04:00:00.000Z"));
    expect((await postOrder(m, { orderId: "april", memberId: "ann", amount: 60_000 })).body.pointsEarned).toBe(600);
    // May: 200.00 at gold's 2x = 400 points, still pending; April's 600 are spendable by now.
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    expect((await postOrder(m, { orderId: "may", memberId: "ann", amount: 20_000 })).body.pointsEarned).toBe(400);
    // April's close: 10% of 1,000.00 = 100.00, all of it to ann as credit.
    const close = await call("POST", "/v1/rebate-programs/back/periods/2026-04/close", {
      token: m.admin,
      idempotencyKey: uid("k"),
      body: { netProfit: 100_000 },
    });
    expect(close.status, close.text).toBe(200);

    const r = await call("GET", "/v1/members/ann/switching-cost", { token: m.read });
    expect(r.status, r.text).toBe(200);
    const value = Object.fromEntries(r.body.components.map((c: { kind: string; value: number }) => [c.kind, c.value]));
    expect(value).toEqual({
      points: 300, // 600 points x 0.50 / 100
      pending_points: 200, // 400 points x 0.50 / 100
      credit: 10_000, // the April rebate
      perks: 6600, // 2 deliveries left this month x 8.00 + the lounge once (no quota) x 50.00
      tier: 400, // 800.00 spent in 12 months: 1,600 points at gold, 800 at the lowest tier; 800 x 0.50 / 100
      streak: 0, // April and May: 2 months, 2 more unlock the gift
      rebate_accrued: 3333, // April's pool 100.00 x May's 200.00 so far / April's 600.00
    });
    expect(r.body.total).toBe(300 + 200 + 10_000 + 6600 + 400 + 0 + 3333);
    expect(r.body.currency).toBe("CNY");
    const streak = r.body.components.find((c: { kind: string }) => c.kind === "streak");
    expect(streak.detail).toContain("2 consecutive months");
    expect(streak.detail).toContain("2 more unlock Loyal gift");

    // The member API answers the same statement for the token's member only.
    const token = await call("POST", "/v1/members/ann/tokens", { token: m.admin, idempotencyKey: uid("k"), body: {} });
    const mine = await call("GET", "/v1/me/switching-cost", { token: token.body.token });
    expect(mine.body).toEqual(r.body);
  });

  it("counts the streak as the perk it unlocks does: a lapse starts it over", async () => {
    const m = await merchantWith({});
    await call("PUT", "/v1/perks/loyal", {
      token: m.admin,
      body: { name: "Loyal gift", value: 3000, unlock: { streakMonths: 2 }, lapseAfterInactiveDays: 10 },
    });
    // April and May each have an order, but 38 days apart: the gift lapsed on 16 April, so only May counts.
    setClock(Date.parse("2026-04-05T04:00:00.000Z"));
    await postOrder(m, { orderId: "april", memberId: "gap", amount: 1000 });
    setClock(Date.parse("2026-05-13T04:00:00.000Z"));
    await postOrder(m, { orderId: "may", memberId: "gap", amount: 1000 });
    const perks = await call("GET", "/v1/members/gap/perks", { token: m.read });
    expect(perks.body.data[0]).toMatchObject({ unlocked: false, progress: [{ condition: "streakMonths", current: 1 }] });
    const r = await call("GET", "/v1/members/gap/switching-cost", { token: m.read });
    const streak = r.body.components.find((c: { kind: string }) => c.kind === "streak");
    expect(streak.detail).toContain("1 consecutive months");
    expect(streak.detail).toContain("1 more unlock Loyal gift");
  });

  it("estimates the accrued rebate from the period that ended last, after the program changed its period kind", async () => {
    const m = await merchantWith({});
    const program = { name: "Credit back", period: "quarter", shareBps: 1000, payout: "credit" };
    expect((await call("PUT", "/v1/rebate-programs/back", { token: m.admin, body: program })).status).toBe(201);
    const close = async (periodKey: string, netProfit: number) => {
      const r = await call("POST", `/v1/rebate-programs/back/periods/${periodKey}/close`, {
        token: m.admin,
        idempotencyKey: uid("k"),
        body: { netProfit },
      });
      expect(r.status, r.text).toBe(200);
    };
    // Q1 closes quarterly (pool 100.00 over 300.00); then the program goes monthly and April closes (50.00 over 600.00).
    setClock(Date.parse("2026-01-20T04:00:00.000Z"));
    await postOrder(m, { orderId: "jan", memberId: "kim", amount: 30_000 });
    setClock(Date.parse("2026-04-05T04:00:00.000Z"));
    await close("2026-Q1", 100_000);
    expect(
      (await call("PUT", "/v1/rebate-programs/back", { token: m.admin, body: { ...program, period: "month" } })).status,
    ).toBe(200);
    setClock(Date.parse("2026-04-20T04:00:00.000Z"));
    await postOrder(m, { orderId: "apr", memberId: "kim", amount: 60_000 });
    setClock(Date.parse("2026-05-02T04:00:00.000Z"));
    await close("2026-04", 50_000);
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    await postOrder(m, { orderId: "may", memberId: "kim", amount: 20_000 });
    const r = await call("GET", "/v1/members/kim/switching-cost", { token: m.read });
    const accrued = r.body.components.find((c: { kind: string }) => c.kind === "rebate_accrued");
    // April's pool 50.00 x May's 200.00 so far / April's 600.00 (text order would take Q1: '2026-Q1' > '2026-04').
    expect(accrued?.value, r.text).toBe(1666);
  });

  it("an unknown member is 404, and a member with nothing has a zero statement", async () => {
    const m = await merchantWith({});
    expect((await call("GET", "/v1/members/nobody/switching-cost", { token: m.read })).status).toBe(404);
    await call("PUT", "/v1/members/fresh", { token: m.admin, body: {} });
    const r = await call("GET", "/v1/members/fresh/switching-cost", { token: m.read });
    expect(r.status, r.text).toBe(200);
    expect(r.body.total).toBe(0);
  });
});

/** The statement's value of one component, by kind. */
const componentOf = async (m: TestMerchant, memberId: string, kind: string) => {
  const r = await call("GET", `/v1/members/${memberId}/switching-cost`, { token: m.read });
  expect(r.status, r.text).toBe(200);
  return r.body.components.find((c: { kind: string }) => c.kind === kind) as { value: number; detail: string };
};

describe("what is due is settled before it is valued", () => {
  it("points past their date are not valued, though the expiry job has not run", async () => {
    setClock(Date.parse("2026-03-01T04:00:00.000Z"));
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 30 } });
    expect((await postOrder(m, { orderId: "e1", memberId: "exp", amount: 10_000 })).body.pointsEarned).toBe(100);
    setClock(Date.parse("2026-05-01T04:00:00.000Z"));
    expect((await componentOf(m, "exp", "points")).value).toBe(0);
    // The statement settled the expiry, as GET /v1/members/{memberId} would: the ledger says so.
    expect((await ledger(m, "exp")).map((e) => [e.type, e.points])).toEqual([
      ["earn", 100],
      ["expire", -100],
    ]);
    expect((await member(m, "exp")).balance).toBe(0);
  });

  it("points past the inactivity deadline are not valued, though the inactivity job has not run", async () => {
    setClock(Date.parse("2026-03-01T04:00:00.000Z"));
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    expect((await postOrder(m, { orderId: "i1", memberId: "idle", amount: 10_000 })).body.pointsEarned).toBe(100);
    setClock(Date.parse("2026-05-01T04:00:00.000Z"));
    expect((await componentOf(m, "idle", "points")).value).toBe(0);
    expect((await member(m, "idle")).balance).toBe(0);
  });

  it("a hold past its 15 minutes is released: its points are valued again, on the member API too", async () => {
    const m = await merchantWith({});
    expect((await postOrder(m, { orderId: "h1", memberId: "hold", amount: 10_000 })).body.pointsEarned).toBe(100);
    expect((await redeem(m, "hold", 60, true)).status).toBe(201);
    expect((await componentOf(m, "hold", "points")).value).toBe(40);
    advanceClock(20 * MINUTE_MS);
    const token = await call("POST", "/v1/members/hold/tokens", { token: m.admin, idempotencyKey: uid("k"), body: {} });
    const mine = await call("GET", "/v1/me/switching-cost", { token: token.body.token });
    expect(mine.body.components.find((c: { kind: string }) => c.kind === "points").value).toBe(100);
    expect((await member(m, "hold")).balance).toBe(100);
  });

  it("values pending points net of the debt they repay when released", async () => {
    const m = await merchantWith({});
    // 100 points earned and spent, then the order refunded: the balance is a debt of 100 points.
    expect((await postOrder(m, { orderId: "d1", memberId: "debt", amount: 10_000 })).body.pointsEarned).toBe(100);
    expect((await redeem(m, "debt", 100)).status).toBe(201);
    expect((await refund(m, "d1")).status).toBe(201);
    const program = { ...PROGRAM_DEFAULTS, pendingDays: 7 };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: program })).status).toBe(200);
    expect((await postOrder(m, { orderId: "d2", memberId: "debt", amount: 15_000 })).body.pointsEarned).toBe(150);
    expect(await member(m, "debt")).toMatchObject({ balance: -100, pending: 150 });
    const pending = await componentOf(m, "debt", "pending_points");
    // 150 pending, 100 of them repay the debt: 50 points are the member's, worth 0.50.
    expect(pending.value).toBe(50);
    expect(pending.detail).toContain("100 of them repay a debt of 100 points");
    const r = await call("GET", "/v1/members/debt/switching-cost", { token: m.read });
    expect(r.body.total).toBe(50);
    // Released, the points land as valued: a balance of 50.
    advanceClock(8 * DAY_MS);
    expect(await member(m, "debt")).toMatchObject({ balance: 50, pending: 0 });
    expect((await componentOf(m, "debt", "points")).value).toBe(50);
  });
});

describe("bounds", () => {
  it("shows a value or total past MAX_TOTAL as MAX_TOTAL, never as an inexact integer", async () => {
    // 1 point is worth 10,000.00: a balance of MAX_TOTAL points is worth far more than JSON numbers hold exactly.
    const m = await merchantWith({ pointValue: { points: 1, amount: 1_000_000 } });
    await call("PUT", "/v1/members/rich", { token: m.admin, body: {} });
    // Written directly: through the API it would take more orders than a test can post.
    await env.DB.prepare("UPDATE members SET balance = ?1, credit = ?1 WHERE merchant_id = ?2 AND id = 'rich'")
      .bind(MAX_TOTAL, m.id)
      .run();
    const r = await call("GET", "/v1/members/rich/switching-cost", { token: m.read });
    expect(r.status, r.text).toBe(200);
    const value = Object.fromEntries(r.body.components.map((c: { kind: string; value: number }) => [c.kind, c.value]));
    expect(value).toMatchObject({ points: MAX_TOTAL, credit: MAX_TOTAL });
    expect(r.body.total).toBe(MAX_TOTAL);
    expect(r.text).toContain(`"total":${MAX_TOTAL},`);
  });
});

describe("the merchant's distribution", () => {
  it("the job values every member once a day, in chunks, and the distribution reads its values", async () => {
    setClock(Date.parse("2026-06-01T04:00:00.000Z"));
    const m = await merchantWith({});
    // Balances of 100, 200, ..., 1000 points: worth 1.00 ... 10.00 (100 points = 1.00).
    for (let i = 1; i <= 10; i++) await postOrder(m, { orderId: `d-${i}`, memberId: `d-${i}`, amount: i * 10_000 });
    const before = await call("GET", "/v1/switching-cost", { token: m.read });
    expect(before.body).toMatchObject({ members: 10, valued: 0, min: 0, max: 0, valuedFrom: null });
    const run = await call("POST", "/v1/jobs/switching-cost/runs", { token: m.admin });
    expect(run.body).toMatchObject({ status: "succeeded", processed: 10 });
    // Nothing is due again until a day has passed.
    expect((await call("POST", "/v1/jobs/switching-cost/runs", { token: m.admin })).body.processed).toBe(0);
    const after = await call("GET", "/v1/switching-cost", { token: m.read });
    expect(after.status, after.text).toBe(200);
    expect(after.body).toMatchObject({
      currency: "CNY",
      members: 10,
      valued: 10,
      min: 100,
      median: 500, // nearest rank: the 5th of 10
      p90: 900,
      max: 1000,
    });
    expect(after.body.valuedTo.slice(0, 16)).toBe("2026-06-01T04:00");
    // The job's value of a member is the member's own statement.
    const one = await call("GET", "/v1/members/d-7/switching-cost", { token: m.read });
    expect(one.body.total).toBe(700);
  });

  it("the job values what is due: points past their date and holds past their time are settled first", async () => {
    setClock(Date.parse("2026-03-01T04:00:00.000Z"));
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 30 } });
    expect((await postOrder(m, { orderId: "old", memberId: "lapsed", amount: 10_000 })).body.pointsEarned).toBe(100);
    setClock(Date.parse("2026-05-01T04:00:00.000Z"));
    expect((await postOrder(m, { orderId: "new", memberId: "holder", amount: 10_000 })).body.pointsEarned).toBe(100);
    expect((await redeem(m, "holder", 60, true)).status).toBe(201);
    advanceClock(20 * MINUTE_MS);
    // Only this job runs: neither expiry nor hold-release has settled anything yet.
    const run = await runFor(m, "switching-cost");
    expect(run.body, run.text).toMatchObject({ status: "succeeded", processed: 2 });
    const after = await call("GET", "/v1/switching-cost", { token: m.read });
    // lapsed: 100 points expired, worth 0; holder: the hold released, 100 points worth 1.00.
    expect(after.body).toMatchObject({ valued: 2, min: 0, max: 100 });
  });
});

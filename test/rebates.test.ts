/**
 * Profit-sharing rebates through HTTP with real D1: the restaurant case with figures worked out by hand,
 * points conversion, eligibility, refunds, the timezone edge of a period, closing once (retries, another key,
 * concurrent closes), zero profit, and credit spent through redemptions without overdraw.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { advanceClock, DAY_MS, resetClock } from "../src/platform/clock";
import { closeTuning } from "../src/rebates/engine";
import { call, member, type TestMerchant, uid } from "./support/api";
import { merchantWith } from "./support/flows";
import { checkMemberInvariants } from "./support/invariants";
import { close, orderAt, preview, putProgram, rebateEntries, report, spendRebateCredit } from "./support/rebates";

const TUNING = { ...closeTuning };
afterEach(() => {
  Object.assign(closeTuning, TUNING);
  resetClock();
});

const JULY = "2026-07-15T04:00:00.000Z";

/** The restaurant: three regulars, each spent 1.00 in July (ids sort alice < bob < carol). */
async function restaurant(payout: "credit" | "points", pointValue = { points: 100, amount: 100 }) {
  const m = await merchantWith({ pointValue });
  for (const id of ["carol", "alice", "bob"]) expect((await orderAt(m, id, 100, JULY)).status).toBe(201);
  expect((await putProgram(m, "share", { name: "Profit share", period: "month", shareBps: 1000, payout })).status).toBe(201);
  return m;
}

describe("rebate closes", () => {
  it("the restaurant: 10% of 1,000,000.00 among three equal spenders, largest remainder to the smallest id", async () => {
    const m = await restaurant("credit");
    // pool = floor(100,000,000 * 1000 / 10000) = 10,000,000 (100,000.00); each floor share is
    // floor(10,000,000 * 100 / 300) = 3,333,333 with remainder 100; one unit is left, and with equal
    // remainders it goes to the smallest memberId: alice.
    const seen = await preview(m, "share", "2026-07", 100_000_000);
    expect(seen.status, seen.text).toBe(200);
    expect(seen.body).toMatchObject({
      pool: 10_000_000,
      members: 3,
      totalNetSpend: 300,
      allocated: 10_000_000,
      periodEnded: true,
    });
    expect(seen.body.top).toEqual([
      { memberId: "alice", netSpend: 100, amount: 3_333_334 },
      { memberId: "bob", netSpend: 100, amount: 3_333_333 },
      { memberId: "carol", netSpend: 100, amount: 3_333_333 },
    ]);
    expect(seen.body.distribution).toEqual({ min: 3_333_333, median: 3_333_333, max: 3_333_334 });
    expect(await rebateEntries(m.id)).toEqual([]); // a preview writes nothing

    const closed = await close(m, "share", "2026-07", 100_000_000);
    expect(closed.status, closed.text).toBe(200);
    expect(closed.body).toMatchObject({
      status: "closed",
      pool: 10_000_000,
      members: 3,
      allocated: 10_000_000,
      paid: 10_000_000,
    });
    expect(closed.body.processed).toBe(3);
    const entries = await rebateEntries(m.id);
    expect(entries.map((e) => [e.memberId, e.asset, e.points])).toEqual([
      ["alice", "credit", 3_333_334],
      ["bob", "credit", 3_333_333],
      ["carol", "credit", 3_333_333],
    ]);
    expect(entries[0]?.reason).toBe("rebate share 2026-07");
    const alice = await call("GET", "/v1/members/alice", { token: m.admin });
    expect(alice.body.credit).toBe(3_333_334);
    for (const id of ["alice", "bob", "carol"]) await checkMemberInvariants(m.id, id);

    const statement = await call("GET", "/v1/members/alice/rebates", { token: m.read });
    expect(statement.body.data).toEqual([
      {
        programId: "share",
        periodKey: "2026-07",
        amount: 3_333_334,
        payout: "credit",
        units: 3_333_334,
        createdAt: expect.any(String),
      },
    ]);
    const token = await call("POST", "/v1/members/alice/tokens", { token: m.checkout, idempotencyKey: uid("k") });
    const mine = await call("GET", "/v1/me/rebates", { token: token.body.token });
    expect(mine.body).toEqual(statement.body);
    const rep = await report(m, "share", "2026-07");
    expect(rep.body).toMatchObject({
      status: "closed",
      paid: 10_000_000,
      distribution: { min: 3_333_333, median: 3_333_333, max: 3_333_334 },
    });
  });

  it("a points payout converts at pointValue, rounding down, and reports the money left unconverted", async () => {
    // 1 point is worth 1.00 (100 minor units): 3,333,334 buys 33,333 points (34 left), 3,333,333 also 33,333 (33 left).
    const m = await restaurant("points", { points: 1, amount: 100 });
    const closed = await close(m, "share", "2026-07", 100_000_000);
    expect(closed.status, closed.text).toBe(200);
    expect(closed.body).toMatchObject({ paid: 10_000_000, pointsPaid: 99_999, unconverted: 34 + 33 + 33 });
    expect((await rebateEntries(m.id)).map((e) => [e.memberId, e.asset, e.points])).toEqual([
      ["alice", "points", 33_333],
      ["bob", "points", 33_333],
      ["carol", "points", 33_333],
    ]);
    const alice = await call("GET", "/v1/members/alice", { token: m.admin });
    expect(alice.body.balance).toBe(1 + 33_333); // the base rule's point for the order of 1.00, then the rebate
  });

  it("eligibility: net spend of at least minSpend, and a current tier among the program's (no tier: the lowest)", async () => {
    const m = await merchantWith({});
    // A ladder written straight to D1 (its API is another capability): bronze is the lowest tier.
    await env.DB.batch(
      [
        ["bronze", "Bronze", 0, 0],
        ["gold", "Gold", 100_000, 1],
      ].map(([id, name, threshold, position]) =>
        env.DB.prepare("INSERT INTO tiers (merchant_id, id, name, threshold, position) VALUES (?, ?, ?, ?, ?)").bind(
          m.id,
          id,
          name,
          threshold,
          position,
        ),
      ),
    );
    for (const [id, amount] of [
      ["e-gold", 60_000],
      ["e-none", 50_000],
      ["e-small", 9_999],
    ] as const)
      expect((await orderAt(m, id, amount, JULY)).status).toBe(201);
    await env.DB.prepare("UPDATE members SET tier_id = 'gold' WHERE merchant_id = ? AND id = 'e-gold'").bind(m.id).run();
    expect(
      (await putProgram(m, "gold", { name: "Gold only", period: "month", shareBps: 100, payout: "credit", tiers: ["gold"] }))
        .status,
    ).toBe(201);
    expect(
      (
        await putProgram(m, "base", {
          name: "Bronze",
          period: "month",
          shareBps: 100,
          payout: "credit",
          tiers: ["bronze"],
          minSpend: 10_000,
        })
      ).status,
    ).toBe(201);
    const unknown = await putProgram(m, "bad", {
      name: "x",
      period: "month",
      shareBps: 1,
      payout: "credit",
      tiers: ["platinum"],
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].path).toBe("tiers.0");

    const gold = await preview(m, "gold", "2026-07", 1_000_000);
    expect(gold.body).toMatchObject({ members: 1, totalNetSpend: 60_000, pool: 10_000 });
    expect(gold.body.top).toEqual([{ memberId: "e-gold", netSpend: 60_000, amount: 10_000 }]);
    // Bronze (no tier yet = the lowest) with minSpend 10,000: e-none only; e-small spent 9,999.
    const bronze = await preview(m, "base", "2026-07", 1_000_000);
    expect(bronze.body.top).toEqual([{ memberId: "e-none", netSpend: 50_000, amount: 10_000 }]);
  });

  it("counts refunds inside the period; orders and refunds after the close change nothing it paid", async () => {
    const m = await merchantWith({});
    expect((await orderAt(m, "r-a", 30_000, JULY, "r-a-1")).status).toBe(201);
    expect((await orderAt(m, "r-b", 10_000, JULY, "r-b-1")).status).toBe(201);
    const partial = await call("POST", "/v1/orders/r-a-1/refunds", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { refundId: "x1", amount: 20_000 },
    });
    expect(partial.status, partial.text).toBe(201);
    expect((await putProgram(m, "p", { name: "p", period: "month", shareBps: 10_000, payout: "credit" })).status).toBe(201);
    // Net spend 10,000 each: the pool of 1,001 splits 501 / 500 (the tie goes to r-a).
    const closed = await close(m, "p", "2026-07", 1_001);
    expect(closed.body).toMatchObject({ status: "closed", totalNetSpend: 20_000, paid: 1_001 });
    expect((await rebateEntries(m.id)).map((e) => e.points)).toEqual([501, 500]);
    // Late activity for July: a new order and a refund of r-b's order. The close stays as it was.
    expect((await orderAt(m, "r-c", 99_000, JULY)).status).toBe(201);
    expect(
      (await call("POST", "/v1/orders/r-b-1/refunds", { token: m.checkout, idempotencyKey: uid("k"), body: { refundId: "x2" } }))
        .status,
    ).toBe(201);
    const after = await report(m, "p", "2026-07");
    expect(after.body).toMatchObject({ totalNetSpend: 20_000, paid: 1_001, members: 2 });
    expect((await rebateEntries(m.id)).map((e) => e.points)).toEqual([501, 500]);
  });

  it("the period edge is local: 23:59 on 31 July and 00:01 on 1 August in Asia/Shanghai fall in different months", async () => {
    const m = await merchantWith({}, "Asia/Shanghai");
    expect((await orderAt(m, "tz-late", 5_000, "2026-07-31T15:59:00.000Z")).status).toBe(201); // 23:59 local, 31 July
    expect((await orderAt(m, "tz-early", 7_000, "2026-07-31T16:01:00.000Z")).status).toBe(201); // 00:01 local, 1 August
    expect((await putProgram(m, "m", { name: "m", period: "month", shareBps: 1000, payout: "credit" })).status).toBe(201);
    const july = await preview(m, "m", "2026-07", 100_000);
    expect(july.body.top).toEqual([{ memberId: "tz-late", netSpend: 5_000, amount: 10_000 }]);
    const august = await preview(m, "m", "2026-08", 100_000);
    expect(august.body.top).toEqual([{ memberId: "tz-early", netSpend: 7_000, amount: 10_000 }]);
    // A quarter and a year program read three and twelve month rows.
    expect((await putProgram(m, "q", { name: "q", period: "quarter", shareBps: 1000, payout: "credit" })).status).toBe(201);
    expect((await preview(m, "q", "2026-Q3", 100_000)).body).toMatchObject({ members: 2, totalNetSpend: 12_000 });
    expect((await putProgram(m, "y", { name: "y", period: "year", shareBps: 1000, payout: "credit" })).status).toBe(201);
    expect((await preview(m, "y", "2026", 100_000)).body).toMatchObject({ members: 2, totalNetSpend: 12_000 });
  });

  it("refuses period keys of another kind, malformed ones, and closing a period that has not ended", async () => {
    const m = await restaurant("credit");
    const wrongKind = await preview(m, "share", "2026-Q3", 1);
    expect(wrongKind.status).toBe(422);
    expect(wrongKind.body.errors[0].path).toBe("periodKey");
    const malformed = await preview(m, "share", "2026-13", 1);
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body.errors)).toContain("periodKey");
    // November 2026 has not ended (the clock is real): preview yes, close no.
    expect((await preview(m, "share", "2099-11", 1)).status).toBe(200);
    const early = await close(m, "share", "2099-11", 1);
    expect(early.status).toBe(422);
    expect(early.body.errors[0].path).toBe("periodKey");
    const badProfit = await preview(m, "share", "2026-07", 1.5);
    expect(badProfit.status).toBe(400);
    expect(badProfit.body.errors[0].path).toBe("netProfit");
    expect((await close(m, "nope", "2026-07", 1)).status).toBe(404);
    const other = await merchantWith({});
    expect((await preview(other, "share", "2026-07", 1)).status).toBe(404);
    expect((await report(m, "share", "2026-07")).status).toBe(404); // not closed yet
  });

  it("closes once: the same key replays, another key is 409, concurrent closes pay once", async () => {
    const m = await restaurant("credit");
    const key = uid("close");
    const closes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => close(m, "share", "2026-07", 100_000_000, i < 4 ? key : uid("other"))),
    );
    const statuses = closes.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length + statuses.filter((s) => s === 409).length).toBe(8);
    const winners = closes.filter((r) => r.status === 200);
    expect(new Set(winners.map((r) => r.body.paid))).toEqual(new Set([10_000_000]));
    expect((await rebateEntries(m.id)).map((e) => e.points)).toEqual([3_333_334, 3_333_333, 3_333_333]);
    const first = winners[0]!;
    const replay = await close(m, "share", "2026-07", 100_000_000, key);
    if (replay.status === 200) expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const again = await close(m, "share", "2026-07", 100_000_000);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("conflict");
    expect(first.body.status).toBe("closed");
    expect((await rebateEntries(m.id)).length).toBe(3);
  });

  it("a month's spend shares once: after the program changes its period kind, overlapping closes are 409", async () => {
    const m = await restaurant("credit");
    expect((await orderAt(m, "alice", 100, "2026-04-15T04:00:00.000Z")).status).toBe(201);
    expect((await close(m, "share", "2026-07", 30_000)).body).toMatchObject({ status: "closed", paid: 3_000 });
    // The marketer moves the program to quarters: Q3 holds July, already shared; so does the year 2026.
    expect((await putProgram(m, "share", { name: "q", period: "quarter", shareBps: 1000, payout: "credit" })).status).toBe(200);
    const q3 = await close(m, "share", "2026-Q3", 30_000);
    expect(q3.status, q3.text).toBe(409);
    expect(q3.body.detail).toContain("2026-07");
    // The close it names stays readable under the new kind.
    expect((await report(m, "share", "2026-07")).body).toMatchObject({ status: "closed", paid: 3_000 });
    expect((await report(m, "share", "2026-Q3")).status).toBe(404); // nothing started
    // Q2 shares no month with July: it closes.
    const q2 = await close(m, "share", "2026-Q2", 30_000);
    expect(q2.body, q2.text).toMatchObject({ status: "closed", paid: 3_000, members: 1 });
    expect((await putProgram(m, "share", { name: "y", period: "year", shareBps: 1000, payout: "credit" })).status).toBe(200);
    advanceClock(400 * 86_400_000); // past the end of 2026, whenever the test runs
    expect((await close(m, "share", "2026", 30_000)).status).toBe(409);
    expect((await rebateEntries(m.id)).map((e) => [e.memberId, e.points, e.reason])).toEqual([
      ["alice", 1_000, "rebate share 2026-07"],
      ["alice", 3_000, "rebate share 2026-Q2"],
      ["bob", 1_000, "rebate share 2026-07"],
      ["carol", 1_000, "rebate share 2026-07"],
    ]);
  });

  it("a pool that would take a member's credit or points past 2^53 - 1 is 422 naming netProfit, not a close stuck running", async () => {
    const MAX = Number.MAX_SAFE_INTEGER;
    const m = await restaurant("credit");
    expect((await orderAt(m, "alice", 100, "2026-08-15T04:00:00.000Z")).status).toBe(201);
    expect((await close(m, "share", "2026-07", 30)).status).toBe(200); // alice holds 1 unit of credit
    expect((await putProgram(m, "all", { name: "all", period: "month", shareBps: 10_000, payout: "credit" })).status).toBe(201);
    // The whole pool of 2^53 - 1 would go to alice, on top of her credit: her pay chunk could never commit.
    const huge = await close(m, "all", "2026-08", MAX);
    expect(huge.status, huge.text).toBe(422);
    expect(huge.body.errors[0].path).toBe("netProfit");
    expect((await report(m, "all", "2026-08")).status).toBe(404); // nothing started, nothing stuck
    expect((await close(m, "all", "2026-08", 5_000)).body).toMatchObject({ status: "closed", paid: 5_000 });

    // Points: at 1 point per minor unit the pool buys 2^53 - 1 points, past the member's points from the order.
    const p = await restaurant("points", { points: 1, amount: 1 });
    expect((await putProgram(p, "all", { name: "all", period: "month", shareBps: 10_000, payout: "points" })).status).toBe(201);
    const points = await close(p, "all", "2026-07", MAX);
    expect(points.status, points.text).toBe(422);
    expect(points.body.errors[0].path).toBe("netProfit");
    expect((await report(p, "all", "2026-07")).status).toBe(404);
    for (const id of ["alice", "bob", "carol"]) await checkMemberInvariants(p.id, id);
  });

  it("points on hold count in that room: they come back, and a hold can always be given back", async () => {
    const MAX = Number.MAX_SAFE_INTEGER;
    const m = await merchantWith({ pointValue: { points: 1, amount: 1 } });
    expect((await orderAt(m, "big", 100, "2026-07-15T04:00:00.000Z")).status).toBe(201); // 1 point
    expect(
      (
        await call("POST", "/v1/members/big/adjustments", {
          token: m.admin,
          idempotencyKey: uid("a"),
          body: { points: 1_000, reason: "goodwill" },
        })
      ).status,
    ).toBe(201);
    const held = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("h"),
      body: { memberId: "big", points: 1_000, hold: true },
    });
    expect(held.status, held.text).toBe(201);
    expect((await putProgram(m, "all", { name: "all", period: "month", shareBps: 10_000, payout: "points" })).status).toBe(201);
    // Paid, the pool would leave 1,000 points that can never come back from the hold.
    const closed = await close(m, "all", "2026-07", MAX - 1);
    expect(closed.status, closed.text).toBe(422);
    expect(closed.body.errors[0].path).toBe("netProfit");
    const cancel = await call("POST", `/v1/redemptions/${held.body.id}/cancel`, { token: m.checkout, idempotencyKey: uid("c") });
    expect(cancel.status, cancel.text).toBe(200);
    expect(await member(m, "big")).toMatchObject({ balance: 1_001, held: 0 });
    await checkMemberInvariants(m.id, "big");
  });

  it("zero or negative profit, or nobody eligible, pays nothing and says so", async () => {
    const m = await restaurant("credit");
    const none = await close(m, "share", "2026-07", -5_000);
    expect(none.status, none.text).toBe(200);
    expect(none.body).toMatchObject({ status: "closed", pool: 0, allocated: 0, paid: 0, members: 3 });
    expect(none.body.note).toContain("No profit");
    expect((await putProgram(m, "empty", { name: "e", period: "month", shareBps: 1000, payout: "credit" })).status).toBe(201);
    const nobody = await close(m, "empty", "2025-01", 1_000_000);
    expect(nobody.body).toMatchObject({ status: "closed", pool: 100_000, members: 0, allocated: 0, paid: 0 });
    expect(nobody.body.note).toContain("No member");
    expect(await rebateEntries(m.id)).toEqual([]);
  });
});

describe("store credit", () => {
  async function creditOf(amount: number): Promise<TestMerchant> {
    const m = await merchantWith({});
    expect((await orderAt(m, "cr", 100, JULY)).status).toBe(201);
    expect((await putProgram(m, "c", { name: "c", period: "month", shareBps: 10_000, payout: "credit" })).status).toBe(201);
    expect((await close(m, "c", "2026-07", amount)).status).toBe(200);
    return m;
  }
  const redeemCredit = (m: TestMerchant, credit: number, hold = false) =>
    call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: "cr", credit, ...(hold ? { hold } : {}) },
    });

  it("20 parallel credit redemptions against credit that covers 5: exactly 5 succeed, never overdrawn", async () => {
    const m = await creditOf(500);
    const replies = await Promise.all(Array.from({ length: 20 }, () => redeemCredit(m, 100)));
    expect(replies.filter((r) => r.status === 201).length).toBe(5);
    for (const r of replies.filter((x) => x.status !== 201)) expect(r.body.code).toBe("insufficient_points");
    const member = await call("GET", "/v1/members/cr", { token: m.admin });
    expect(member.body.credit).toBe(0);
    expect(member.body.balance).toBe(1); // points untouched
    await checkMemberInvariants(m.id, "cr");
  });

  it("holds, captures and cancels credit as points; exactly one of points and credit", async () => {
    const m = await creditOf(1_000);
    const held = await redeemCredit(m, 300, true);
    expect(held.status, held.text).toBe(201);
    expect(held.body).toMatchObject({ asset: "credit", credit: 300, points: 0, value: 300, status: "held" });
    expect(held.body.member.credit).toBe(700);
    expect((await call("POST", `/v1/redemptions/${held.body.id}/capture`, { token: m.checkout })).body.member.credit).toBe(700);
    const returned = await call("POST", `/v1/redemptions/${held.body.id}/cancel`, { token: m.checkout });
    expect(returned.body.member.credit).toBe(1_000);
    const other = await redeemCredit(m, 200, true);
    expect((await call("POST", `/v1/redemptions/${other.body.id}/cancel`, { token: m.checkout })).body.member.credit).toBe(1_000);
    await checkMemberInvariants(m.id, "cr");
    const both = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: "cr", points: 1, credit: 1 },
    });
    expect(both.status).toBe(400);
    expect(both.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["credit", "points"]);
    const neither = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: "cr" },
    });
    expect(neither.status).toBe(400);
    const types = (await call("GET", "/v1/members/cr/ledger", { token: m.admin })).body.data
      .filter((e: { asset: string }) => e.asset === "credit")
      .map((e: { type: string; points: number; balanceAfter: number }) => [e.type, e.points, e.balanceAfter]);
    expect(types.reverse()).toEqual([
      ["rebate", 1_000, 1_000],
      ["hold", -300, 700],
      ["release", 300, 1_000],
      ["redeem", -300, 700],
      ["redemption_return", 300, 1_000],
      ["hold", -200, 800],
      ["release", 200, 1_000],
    ]);
  });
});

describe("rebates, credit and the inactivity clock", () => {
  it("a rebate paid after a member's inactivity deadline does not bring expired points back", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    for (const who of ["idle", "control"]) expect((await orderAt(m, who, 10_000, "2026-10-15T04:00:00.000Z")).status).toBe(201);
    expect((await putProgram(m, "share", { name: "s", period: "month", shareBps: 1000, payout: "credit" })).status).toBe(201);
    // 40 days without activity: both members' points are past their inactivity deadline; no job has run.
    advanceClock(40 * DAY_MS);
    expect((await member(m, "control")).balance, "control: expired after 30 idle days").toBe(0);
    const closed = await close(m, "share", "2026-10", 1_000_000);
    expect(closed.status, closed.text).toBe(200);
    // The rebate settles the member first, as an order's credit does: the points expire, then the credit lands.
    const after = await member(m, "idle");
    expect(after.credit).toBeGreaterThan(0);
    expect(after.balance, "points past the inactivity deadline stay expired after a rebate").toBe(0);
    await checkMemberInvariants(m.id, "idle");
  });

  it("a lapsed credit hold given back is not activity: it does not save points past the inactivity deadline", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    // The member's last activity is a credit hold, never captured; 40 idle days later a read releases it.
    await spendRebateCredit(m, "holder", 500, true);
    advanceClock(40 * DAY_MS);
    const after = await member(m, "holder");
    expect(after.credit).toBe(1_000);
    expect(after.balance, "30 idle days since the last activity: the points expire").toBe(0);
    await checkMemberInvariants(m.id, "holder");
  });
});

/**
 * Referrals through HTTP against real D1: codes, linking at creation with named refusals (nothing written),
 * payout by the referral-payout job after the return window, void and clawback by refunds, and races.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { advanceClock, DAY_MS, now, resetClock } from "../src/platform/clock";
import { call, ledger, member, postOrder, type TestMerchant, uid } from "./support/api";
import { codeOf, merchantWith, putMember, refund, runFor } from "./support/flows";
import { checkMemberInvariants } from "./support/invariants";

afterEach(() => resetClock());

const REFERRAL = { referrerPoints: 500, refereePoints: 200, minOrderAmount: 5000 };
const PENDING_DAYS = 7;

const programWithReferrals = () => merchantWith({ pendingDays: PENDING_DAYS, referral: REFERRAL });

async function referralRow(m: TestMerchant, refereeId: string): Promise<any> {
  return env.DB.prepare("SELECT * FROM referrals WHERE merchant_id = ? AND referee_id = ?").bind(m.id, refereeId).first();
}

/** A referrer with a code and a new member created with it; returns the ids. */
async function referred(m: TestMerchant, prefix: string) {
  const referrer = uid(`${prefix}-a`);
  const referee = uid(`${prefix}-b`);
  await putMember(m, referrer, { name: "Referrer" });
  const created = await putMember(m, referee, { referredBy: await codeOf(m, referrer) });
  expect(created.status, created.text).toBe(201);
  return { referrer, referee };
}

const bonuses = async (m: TestMerchant, memberId: string) =>
  (await ledger(m, memberId)).filter((e) => e.type === "bonus" || e.reason === "referral clawed back").map((e) => e.points);

/** Moves the clock past the first order's return window and runs the payout. */
async function payDue(m: TestMerchant) {
  advanceClock(PENDING_DAYS * DAY_MS + 1000);
  const run = await runFor(m, "referral-payout");
  expect(run.status, run.text).toBe(200);
  return run.body;
}

describe("referral codes", () => {
  it("are made once, stable across reads, unique, unambiguous, and invisible to another merchant", async () => {
    const m = await programWithReferrals();
    await putMember(m, "c1", {});
    await putMember(m, "c2", {});
    const first = await codeOf(m, "c1");
    expect(first).toMatch(/^[2-9A-HJ-NP-Z]{10}$/);
    const again = await Promise.all([codeOf(m, "c1"), codeOf(m, "c1"), codeOf(m, "c1")]);
    expect(again).toEqual([first, first, first]);
    expect(await codeOf(m, "c2")).not.toBe(first);
    expect((await call("GET", "/v1/members/nobody/referral-code", { token: m.read })).status).toBe(404);
    const other = await merchantWith({ referral: REFERRAL });
    expect((await call("GET", "/v1/members/c1/referral-code", { token: other.admin })).status).toBe(404);
    expect((await call("GET", "/v1/members/c1/referrals", { token: other.admin })).status).toBe(404);
    const token = await call("POST", "/v1/members/c1/tokens", { token: m.checkout, idempotencyKey: uid("t") });
    expect((await call("GET", "/v1/me/referral-code", { token: token.body.token })).body.code).toBe(first);
  });

  it("differ across many members (the unique index holds them)", async () => {
    const m = await programWithReferrals();
    await putMember(m, "d1", {});
    await putMember(m, "d2", {});
    const code = await codeOf(m, "d1");
    const codes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await putMember(m, `many-${i}`, {});
        return codeOf(m, `many-${i}`);
      }),
    );
    expect(new Set([code, ...codes]).size).toBe(21);
  });
});

describe("linking a new member", () => {
  it("links at creation (case-insensitive), lists the referral, exports it, and accepts a retried PUT", async () => {
    const m = await programWithReferrals();
    await putMember(m, "ann", { name: "Ann" });
    const code = await codeOf(m, "ann");
    const created = await putMember(m, "bob", { name: "Bob", referredBy: code.toLowerCase() });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ id: "bob", name: "Bob", balance: 0 });
    const list = await call("GET", "/v1/members/ann/referrals", { token: m.read });
    expect(list.body.data).toEqual([
      expect.objectContaining({ refereeId: "bob", referrerId: "ann", status: "waiting", firstOrderId: null, paidAt: null }),
    ]);
    const retry = await putMember(m, "bob", { name: "Bob", referredBy: code });
    expect(retry.status, retry.text).toBe(200);
    const exported = await call("GET", "/v1/members/bob/export", { token: m.admin });
    expect(exported.body.referral.referredBy).toMatchObject({ referrerId: "ann", status: "waiting" });
    const annExport = await call("GET", "/v1/members/ann/export", { token: m.admin });
    expect(annExport.body.referral).toMatchObject({ code, made: [expect.objectContaining({ refereeId: "bob" })] });
  });

  async function expectRefused(m: TestMerchant, memberId: string, code: string, reason: string) {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM referrals WHERE merchant_id = ?")
      .bind(m.id)
      .first<{ n: number }>();
    const r = await putMember(m, memberId, { name: "Refused", referredBy: code });
    expect(r.status, r.text).toBe(422);
    expect(r.body).toMatchObject({ code: "unprocessable", reason, errors: [{ path: "referredBy" }] });
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM referrals WHERE merchant_id = ?")
      .bind(m.id)
      .first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
    return r;
  }

  it("refuses each case with its named reason and writes nothing", async () => {
    const m = await programWithReferrals();
    await putMember(m, "ann", { name: "Ann" });
    const code = await codeOf(m, "ann");
    // Self-referral: the member's own code.
    await expectRefused(m, "ann", code, "self_referral");
    expect((await member(m, "ann")).name).toBe("Ann");
    // An existing member: referredBy applies only at creation.
    await putMember(m, "cat", { name: "Cat" });
    await expectRefused(m, "cat", code, "existing_member");
    expect((await member(m, "cat")).name).toBe("Cat");
    // Unknown code: the member is not created either.
    await expectRefused(m, "dan", "ZZZZZZZZZZ", "unknown_code");
    expect((await call("GET", "/v1/members/dan", { token: m.admin })).status).toBe(404);
    // A code of another merchant: told apart from an unknown one, revealing nothing of its owner.
    const other = await merchantWith({ referral: REFERRAL });
    await putMember(other, "secret-owner", { name: "Secret Owner" });
    const foreign = await codeOf(other, "secret-owner");
    const refused = await expectRefused(m, "eve", foreign, "other_merchant_code");
    expect(refused.text).not.toContain("secret-owner");
    expect(refused.text).not.toContain(other.id);
    expect((await call("GET", "/v1/members/eve", { token: m.admin })).status).toBe(404);
    // A loop, constructed directly: ann was referred by "fay", who does not exist yet; fay must not name ann.
    await env.DB.prepare("UPDATE members SET referred_by = 'fay' WHERE merchant_id = ? AND id = 'ann'").bind(m.id).run();
    await expectRefused(m, "fay", code, "referral_loop");
    expect((await call("GET", "/v1/members/fay", { token: m.admin })).status).toBe(404);
    // A longer loop: ann <- gus <- hal, and hal names ann's code... through gus's chain.
    await env.DB.prepare("UPDATE members SET referred_by = 'gus' WHERE merchant_id = ? AND id = 'ann'").bind(m.id).run();
    await putMember(m, "gus", {});
    await env.DB.prepare("UPDATE members SET referred_by = 'hal' WHERE merchant_id = ? AND id = 'gus'").bind(m.id).run();
    await expectRefused(m, "hal", code, "referral_loop");
    // Referrals off: the program has no referral settings.
    const off = await merchantWith({});
    await putMember(off, "owner", {});
    await expectRefused(off, "new", await codeOf(off, "owner"), "referrals_off");
    expect((await call("GET", "/v1/members/new", { token: off.admin })).status).toBe(404);
  });
});

describe("payout", () => {
  it("pays both members only after the first order's return window, once, and never for a second order", async () => {
    const m = await programWithReferrals();
    const { referrer, referee } = await referred(m, "pay");
    expect((await postOrder(m, { orderId: uid("o1"), memberId: referee, amount: 10_000 })).status).toBe(201);
    const firstOrder = (await referralRow(m, referee)).first_order_id;
    expect(await referralRow(m, referee)).toMatchObject({ status: "pending", referrer_points: 500, referee_points: 200 });
    // Inside the window: nothing is paid.
    advanceClock((PENDING_DAYS - 1) * DAY_MS);
    expect((await runFor(m, "referral-payout")).body.processed).toBe(0);
    expect((await member(m, referrer)).balance).toBe(0);
    // A second order of the referee changes nothing about the referral.
    expect((await postOrder(m, { orderId: uid("o2"), memberId: referee, amount: 20_000 })).status).toBe(201);
    expect((await referralRow(m, referee)).first_order_id).toBe(firstOrder);
    // Past the window: paid once.
    advanceClock(DAY_MS + 1000);
    expect((await runFor(m, "referral-payout")).body.processed).toBe(1);
    expect((await runFor(m, "referral-payout")).body.processed).toBe(0);
    expect(await referralRow(m, referee)).toMatchObject({ status: "paid" });
    expect((await member(m, referrer)).balance).toBe(500);
    expect(await bonuses(m, referrer)).toEqual([500]);
    expect(await bonuses(m, referee)).toEqual([200]);
    // The first order's 100 points are spendable now; the second's are still pending.
    expect(await member(m, referee)).toMatchObject({ balance: 300, pending: 200 });
    const list = await call("GET", `/v1/members/${referrer}/referrals`, { token: m.read });
    expect(list.body.data[0]).toMatchObject({ status: "paid", referrerPoints: 500, refereePoints: 200, minOrderAmount: 5000 });
    await checkMemberInvariants(m.id, referrer);
    await checkMemberInvariants(m.id, referee);
  });

  it("is not paid when the first order was refunded below the minimum before payment", async () => {
    const m = await programWithReferrals();
    const { referrer, referee } = await referred(m, "void");
    const orderId = uid("o");
    await postOrder(m, { orderId, memberId: referee, amount: 10_000 });
    // 10000 - 6000 = 4000 < 5000: the referral is void at once.
    expect((await refund(m, orderId, { amount: 6000 })).status).toBe(201);
    expect(await referralRow(m, referee)).toMatchObject({ status: "void", reason: "first order refunded below the minimum" });
    await payDue(m);
    expect((await member(m, referrer)).balance).toBe(0);
    expect(await bonuses(m, referee)).toEqual([]);
  });

  it("voids a due referral whose first order holds less than the minimum (the job's own check)", async () => {
    const m = await programWithReferrals();
    const { referee } = await referred(m, "small");
    await postOrder(m, { orderId: uid("o"), memberId: referee, amount: 1000 });
    expect((await payDue(m)).processed).toBe(1);
    expect(await referralRow(m, referee)).toMatchObject({ status: "void" });
    expect(await bonuses(m, referee)).toEqual([]);
  });

  it("keeps the rewards after a partial refund above the minimum, claws them back after a refund below it", async () => {
    const m = await programWithReferrals();
    const { referrer, referee } = await referred(m, "claw");
    const orderId = uid("o");
    await postOrder(m, { orderId, memberId: referee, amount: 10_000 });
    await payDue(m);
    expect((await refund(m, orderId, { amount: 4000 })).status).toBe(201);
    expect(await referralRow(m, referee)).toMatchObject({ status: "paid" });
    expect((await member(m, referrer)).balance).toBe(500);
    // 100 earned - 40 reversed + 200 bonus.
    expect((await member(m, referee)).balance).toBe(260);
    // The rest: net 0 < 5000, both rewards are taken back in the refund's batch.
    const full = await refund(m, orderId);
    expect(full.status, full.text).toBe(201);
    expect(full.body.member.balance).toBe(0);
    expect(await referralRow(m, referee)).toMatchObject({
      status: "clawed_back",
      reason: "first order refunded below the minimum",
    });
    expect((await member(m, referrer)).balance).toBe(0);
    expect(await bonuses(m, referrer)).toEqual([500, -500]);
    expect(await bonuses(m, referee)).toEqual([200, -200]);
    const reversal = (await ledger(m, referrer)).find((e) => e.type === "refund_reversal");
    expect(reversal).toMatchObject({ points: -500, orderId, reason: "referral clawed back", balanceAfter: 0 });
    await checkMemberInvariants(m.id, referrer);
    await checkMemberInvariants(m.id, referee);
  });

  it("claws back into debt when the referrer already spent the reward", async () => {
    const m = await programWithReferrals();
    const { referrer, referee } = await referred(m, "spent");
    const orderId = uid("o");
    await postOrder(m, { orderId, memberId: referee, amount: 10_000 });
    await payDue(m);
    const spent = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: referrer, points: 500 },
    });
    expect(spent.status, spent.text).toBe(201);
    expect((await refund(m, orderId)).status).toBe(201);
    expect((await member(m, referrer)).balance).toBe(-500);
    await checkMemberInvariants(m.id, referrer);
    // A later credit repays the debt first.
    await postOrder(m, { orderId: uid("o"), memberId: referrer, amount: 60_000 });
    advanceClock(PENDING_DAYS * DAY_MS + 1000);
    expect((await member(m, referrer)).balance).toBe(100);
    await checkMemberInvariants(m.id, referrer);
  });

  it("pays once when runs overlap", async () => {
    const m = await programWithReferrals();
    const pairs = await Promise.all([1, 2, 3].map((i) => referred(m, `ov${i}`)));
    for (const { referee } of pairs) await postOrder(m, { orderId: uid("o"), memberId: referee, amount: 10_000 });
    advanceClock(PENDING_DAYS * DAY_MS + 1000);
    const runs = await Promise.all(Array.from({ length: 4 }, () => runFor(m, "referral-payout")));
    expect(runs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(runs.reduce((sum, r) => sum + r.body.processed, 0)).toBe(3);
    for (const { referrer, referee } of pairs) {
      expect(await bonuses(m, referrer)).toEqual([500]);
      expect(await bonuses(m, referee)).toEqual([200]);
      await checkMemberInvariants(m.id, referrer);
    }
  });

  it("a refund racing the payout always ends paid-and-clawed-back or void, never paid and refunded", async () => {
    const m = await programWithReferrals();
    for (let round = 0; round < 8; round++) {
      const { referrer, referee } = await referred(m, `race${round}`);
      const orderId = uid("o");
      await postOrder(m, { orderId, memberId: referee, amount: 10_000 });
      advanceClock(PENDING_DAYS * DAY_MS + 1000);
      const [refunded, run] = await Promise.all([refund(m, orderId), runFor(m, "referral-payout")]);
      expect(refunded.status, refunded.text).toBe(201);
      expect(run.status, run.text).toBe(200);
      await runFor(m, "referral-payout");
      const row = await referralRow(m, referee);
      expect(["void", "clawed_back"]).toContain(row.status);
      const paid = row.status === "clawed_back";
      expect(await bonuses(m, referrer)).toEqual(paid ? [500, -500] : []);
      expect(await bonuses(m, referee)).toEqual(paid ? [200, -200] : []);
      expect((await member(m, referrer)).balance).toBe(0);
      expect((await member(m, referee)).balance).toBe(0);
      await checkMemberInvariants(m.id, referrer);
      await checkMemberInvariants(m.id, referee);
    }
  });

  it("fixes the rewards when the first order is posted; referrals turned off before it are void", async () => {
    const m = await programWithReferrals();
    const { referee } = await referred(m, "fixed");
    const late = await referred(m, "late");
    await postOrder(m, { orderId: uid("o"), memberId: referee, amount: 10_000 });
    const put = await call("PUT", "/v1/program", {
      token: m.admin,
      body: { pointValue: { points: 100, amount: 100 }, pendingDays: PENDING_DAYS, expiry: { policy: "none" }, autoEnroll: true },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body.referral).toBeNull();
    await postOrder(m, { orderId: uid("o"), memberId: late.referee, amount: 10_000 });
    expect(await referralRow(m, late.referee)).toMatchObject({ status: "void", reason: "referrals_off" });
    await payDue(m);
    expect(await referralRow(m, referee)).toMatchObject({ status: "paid", referrer_points: 500 });
    expect(await bonuses(m, late.referrer)).toEqual([]);
  });

  it("expires points past the inactivity deadline before the bonus makes the members active again", async () => {
    // Both members' deadlines (end of local day 8) pass before a payout that runs late, two days after the first
    // order's return window (7 days) ended.
    const m = await merchantWith({ pendingDays: PENDING_DAYS, expiry: { policy: "inactivity", days: 8 }, referral: REFERRAL });
    const { referrer, referee } = await referred(m, "inactive");
    expect((await postOrder(m, { orderId: uid("o"), memberId: referrer, amount: 100_000 })).status).toBe(201);
    expect((await postOrder(m, { orderId: uid("o"), memberId: referee, amount: 10_000 })).status).toBe(201);
    advanceClock(2 * DAY_MS);
    await payDue(m);
    expect(await referralRow(m, referee)).toMatchObject({ status: "paid" });
    // The job finds nothing left: the payout expired the old points before its credits moved the last activity.
    expect((await runFor(m, "inactivity-expiry")).body.processed).toBe(0);
    expect(await member(m, referrer)).toMatchObject({ balance: 500, pending: 0 });
    expect(await member(m, referee)).toMatchObject({ balance: 200, pending: 0 });
    for (const [id, earned, bonus] of [
      [referrer, 1000, 500],
      [referee, 100, 200],
    ] as const) {
      const entries = (await ledger(m, id)).map((e) => [e.type, e.points, e.reason]);
      expect(entries.slice(-2), id).toEqual([
        ["expire", -earned, "inactivity"],
        ["bonus", bonus, expect.any(String)],
      ]);
      await checkMemberInvariants(m.id, id);
    }
  });

  it("voids a referral whose payment the ledger refuses, with the reason, and still pays the later ones", async () => {
    const m = await programWithReferrals();
    const stuck = await referred(m, "stuck");
    const ok = await referred(m, "ok");
    // The stuck referral is due first.
    await postOrder(m, { orderId: uid("o"), memberId: stuck.referee, amount: 10_000 });
    advanceClock(1000);
    await postOrder(m, { orderId: uid("o"), memberId: ok.referee, amount: 10_000 });
    // The referrer sits just under the exact-integer limit (reachable by ~9000 maximal adjustments; set directly).
    await env.DB.prepare("UPDATE members SET balance = ? WHERE merchant_id = ? AND id = ?")
      .bind(Number.MAX_SAFE_INTEGER - 100, m.id, stuck.referrer)
      .run();
    const run = await payDue(m);
    expect(run, JSON.stringify(run)).toMatchObject({ status: "succeeded", processed: 2 });
    expect(await referralRow(m, stuck.referee)).toMatchObject({ status: "void", reason: "total_limit", paid_at: null });
    expect(await bonuses(m, stuck.referee)).toEqual([]);
    expect(await referralRow(m, ok.referee)).toMatchObject({ status: "paid" });
    // Later runs pay nothing twice and meet nothing stuck.
    expect((await runFor(m, "referral-payout")).body).toMatchObject({ status: "succeeded", processed: 0 });
    expect(await bonuses(m, ok.referrer)).toEqual([500]);
    expect(await bonuses(m, ok.referee)).toEqual([200]);
  });

  it("moves a referral whose payment fails unexpectedly an hour on, pays the others, and records the error", async () => {
    const m = await programWithReferrals();
    const failing = await referred(m, "fail");
    const ok = await referred(m, "fine");
    await postOrder(m, { orderId: uid("o"), memberId: failing.referee, amount: 10_000 });
    advanceClock(1000);
    await postOrder(m, { orderId: uid("o"), memberId: ok.referee, amount: 10_000 });
    // Fault injection: any new lot of the failing referee aborts its batch with an error that is no guard.
    await env.DB.prepare(
      `CREATE TRIGGER inject_payout_failure BEFORE INSERT ON point_lots WHEN NEW.member_id = '${failing.referee}'
       BEGIN SELECT RAISE(ABORT, 'Injected failure'); END`,
    ).run();
    try {
      const run = await payDue(m);
      expect(run.status).toBe("failed");
      expect(run.errors.join()).toContain(`referral of ${failing.referee}`);
      expect(await referralRow(m, ok.referee)).toMatchObject({ status: "paid" });
      const row = await referralRow(m, failing.referee);
      expect(row.status).toBe("pending");
      expect(row.due_at).toBeGreaterThan(now());
      expect((await runFor(m, "referral-payout")).body).toMatchObject({ status: "succeeded", processed: 0 });
    } finally {
      await env.DB.prepare("DROP TRIGGER inject_payout_failure").run();
    }
    // An hour on it is tried again and paid once.
    advanceClock(60 * 60 * 1000);
    expect((await runFor(m, "referral-payout")).body).toMatchObject({ status: "succeeded", processed: 1 });
    expect(await bonuses(m, failing.referrer)).toEqual([500]);
    expect(await bonuses(m, failing.referee)).toEqual([200]);
    expect(await bonuses(m, ok.referee)).toEqual([200]);
  });
});

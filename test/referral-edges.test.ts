/**
 * Referral and bonus-event edges: a clawback into debt later undone, birthday and anniversary days at the
 * local edges, and a referee's concurrent first orders.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { advanceClock, DAY_MS, resetClock, setClock } from "../src/platform/clock";
import { call, createMerchant, createRule, member, postOrder, uid } from "./support/api";
import { adjust, cancel, codeOf, merchantWith, putMember, redeem, refund, runFor } from "./support/flows";
import { checkMemberInvariants } from "./support/invariants";

afterEach(() => resetClock());

const REFERRAL = { referrerPoints: 500, refereePoints: 200, minOrderAmount: 5000 };

describe("referral and bonus-event edges", () => {
  it("clawback after the referee spent everything, then the redemption is cancelled: ends at 0", async () => {
    const m = await merchantWith({ referral: REFERRAL });
    const a = uid("pa");
    const b = uid("pb");
    await putMember(m, a, {});
    expect((await putMember(m, b, { referredBy: await codeOf(m, a) })).status).toBe(201);
    const orderId = uid("o");
    await postOrder(m, { orderId, memberId: b, amount: 10_000 });
    advanceClock(1000);
    await runFor(m, "referral-payout");
    expect((await member(m, b)).balance).toBe(300);
    expect((await member(m, a)).balance).toBe(500);
    const rb = await redeem(m, b, 300);
    const ra = await redeem(m, a, 400);
    expect(rb.status, rb.text).toBe(201);
    expect(ra.status, ra.text).toBe(201);
    expect((await refund(m, orderId)).status).toBe(201);
    expect((await member(m, b)).balance).toBe(-300);
    expect((await member(m, a)).balance).toBe(-400);
    expect((await cancel(m, rb.body.id)).status).toBe(200);
    expect((await cancel(m, ra.body.id)).status).toBe(200);
    expect((await member(m, b)).balance).toBe(0);
    expect((await member(m, a)).balance).toBe(0);
    await checkMemberInvariants(m.id, a);
    await checkMemberInvariants(m.id, b);
  });

  it("birthday month at 23:30 local on the last day of the month (New York), and 02-29 birthdays in a non-leap February", async () => {
    const m = await createMerchant({ timezone: "America/New_York" });
    await createRule(m, { id: "bday", name: "bday", conditions: { birthdayMonth: true }, effect: { kind: "fixed", points: 77 } });
    await putMember(m, "may", { birthday: "1990-05-15" });
    await putMember(m, "leap", { birthday: "02-29" });
    await putMember(m, "none", {});
    const earned = async (memberId: string, occurredAt: string) =>
      (await postOrder(m, { orderId: uid("o"), memberId, amount: 100, occurredAt })).body.pointsEarned;
    // 2026-06-01T03:30Z is 2026-05-31 23:30 EDT: May.
    expect(await earned("may", "2026-06-01T03:30:00.000Z")).toBe(77);
    // 2026-05-01T03:30Z is 2026-04-30 23:30 EDT: April.
    expect(await earned("may", "2026-05-01T03:30:00.000Z")).toBe(0);
    // 2026-03-01T04:30Z is 2026-02-28 23:30 EST.
    expect(await earned("leap", "2026-03-01T04:30:00.000Z")).toBe(77);
    expect(await earned("leap", "2026-03-01T05:30:00.000Z")).toBe(0);
    expect(await earned("none", "2026-03-01T04:30:00.000Z")).toBe(0);
  });

  it("29 February enrolment: anniversary on 28 February of a non-leap year, once", async () => {
    const m = await createMerchant({ timezone: "Asia/Shanghai" });
    await createRule(m, {
      id: "anniv",
      name: "anniv",
      conditions: { enrolmentAnniversary: true },
      effect: { kind: "fixed", points: 9 },
    });
    // 2024-02-29 00:30 in Shanghai.
    setClock(Date.parse("2024-02-28T16:30:00.000Z"));
    await putMember(m, "leapling", {});
    // 2025-02-28 23:30 Shanghai = 15:30Z: anniversary.
    setClock(Date.parse("2025-02-28T15:40:00.000Z"));
    expect((await postOrder(m, { orderId: uid("o"), memberId: "leapling", amount: 100 })).body.pointsEarned).toBe(9);
    // 2025-03-01 00:30 Shanghai: not.
    setClock(Date.parse("2025-02-28T16:30:00.000Z"));
    expect((await postOrder(m, { orderId: uid("o"), memberId: "leapling", amount: 100 })).body.pointsEarned).toBe(0);
  });

  it("concurrent first orders of a referee qualify the referral once, with the first order", async () => {
    const m = await merchantWith({ referral: REFERRAL });
    const a = uid("ca");
    const b = uid("cb");
    await putMember(m, a, {});
    expect((await putMember(m, b, { referredBy: await codeOf(m, a) })).status).toBe(201);
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) => postOrder(m, { orderId: `${b}-o${i}`, memberId: b, amount: 10_000 })),
    );
    for (const r of replies) expect(r.status, r.text).toBe(201);
    advanceClock(1000);
    await Promise.all([runFor(m, "referral-payout"), runFor(m, "referral-payout")]);
    const entries = await env.DB.prepare("SELECT COUNT(*) AS n FROM ledger_entries WHERE merchant_id = ? AND type = 'bonus'")
      .bind(m.id)
      .first<{ n: number }>();
    expect(entries?.n).toBe(2);
  });
});

describe("a clawback from a referrer past its inactivity deadline", () => {
  /**
   * The referrer spends the 500 bonus and keeps 100 of goodwill, then goes idle past the deadline: the 100
   * must expire. The referee's first order is then refunded in full and the bonus clawed back. Whether the
   * inactivity expiry ran before the refund or not, the referrer owes the 500.
   */
  async function clawedBack(expireFirst: boolean): Promise<number> {
    resetClock();
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 5 }, referral: REFERRAL });
    const referrer = uid("ia");
    const referee = uid("ib");
    await putMember(m, referrer, {});
    expect((await putMember(m, referee, { referredBy: await codeOf(m, referrer) })).status).toBe(201);
    const orderId = uid("o");
    expect((await postOrder(m, { orderId, memberId: referee, amount: 10_000 })).status).toBe(201);
    advanceClock(1000);
    expect((await runFor(m, "referral-payout")).body.processed).toBe(1);
    expect((await adjust(m, referrer, 100, "goodwill")).status).toBe(201);
    // The bonus lot, the older one, pays the whole redemption.
    expect((await redeem(m, referrer, 500)).body.member.balance).toBe(100);
    advanceClock(8 * DAY_MS);
    if (expireFirst) expect((await runFor(m, "inactivity-expiry")).status).toBe(200);
    expect((await refund(m, orderId)).status).toBe(201);
    await checkMemberInvariants(m.id, referrer);
    return (await member(m, referrer)).balance;
  }

  it("expires what was due before taking the bonus back, as the job would have", async () => {
    expect(await clawedBack(true)).toBe(-500);
    expect(await clawedBack(false)).toBe(-500);
  });
});

describe("an erased referrer", () => {
  it("has its code retired: a new member naming it is refused as unknown, and no new code is made", async () => {
    const m = await merchantWith({ referral: REFERRAL });
    const gone = uid("gone");
    await putMember(m, gone, {});
    const code = await codeOf(m, gone);
    expect((await call("DELETE", `/v1/members/${gone}`, { token: m.admin })).status).toBe(204);
    const refused = await putMember(m, uid("new"), { referredBy: code });
    expect([refused.status, refused.body.reason]).toEqual([422, "unknown_code"]);
    const again = await call("GET", `/v1/members/${gone}/referral-code`, { token: m.admin });
    expect([again.status, again.body.code]).toEqual([422, "unprocessable"]);
  });
});

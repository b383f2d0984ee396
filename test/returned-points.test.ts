/**
 * Points and credit given back (a cancel, a hold released) after the points they return were due to expire:
 * they expire there, and pay off no debt; and giving back is never the member's activity. Each order of events
 * (cancel then refund, refund then cancel) ends at the same balance.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { inactivityExpiryJob } from "../src/jobs/expiry";
import { holdReleaseJob } from "../src/jobs/hold-release";
import { runJob } from "../src/jobs/runner";
import { advanceClock, DAY_MS, MINUTE_MS, resetClock, setClock } from "../src/platform/clock";
import { ledger, member, postOrder, type TestMerchant } from "./support/api";
import { onceBefore, postThrough } from "./support/d1-faults";
import { cancel, merchantWith, redeem, refund } from "./support/flows";
import { checkMemberInvariants, checkOrderInvariants } from "./support/invariants";
import { spendRebateCredit } from "./support/rebates";

afterEach(() => resetClock());

const START = Date.parse("2026-11-01T02:00:00.000Z"); // 10:00 in Shanghai
const END_OF_A = Date.parse("2026-11-02T16:00:00.000Z"); // end of 2 November in Shanghai: lot A's date

const balanceOf = async (m: TestMerchant, memberId: string) => (await member(m, memberId)).balance as number;

describe("points given back past their lot's date", () => {
  /** Lot A 100 (dated END_OF_A) and lot B 50 (a day later): 100 held from A and 50 redeemed from B just before A's date. */
  async function spendBoth(m: TestMerchant, who: string): Promise<string> {
    setClock(START);
    expect((await postOrder(m, { orderId: `${who}-a`, memberId: who, amount: 10_000 })).status).toBe(201);
    setClock(START + DAY_MS);
    expect((await postOrder(m, { orderId: `${who}-b`, memberId: who, amount: 5_000 })).status).toBe(201);
    setClock(END_OF_A - 5 * MINUTE_MS);
    const held = await redeem(m, who, 100, true);
    expect(held.status, held.text).toBe(201);
    expect((await redeem(m, who, 50)).status).toBe(201);
    return held.body.id as string;
  }

  it("repay no debt: a refund before the cancel ends where a refund after it does", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 1 } });
    // Cancel, then refund B: A's 100 come back past their date and expire; B's refund leaves 50 of debt.
    const first = await spendBoth(m, "cancel-first");
    setClock(END_OF_A + 30_000);
    expect((await cancel(m, first)).status).toBe(200);
    expect((await refund(m, "cancel-first-b")).status).toBe(201);
    // Refund B, then cancel: the debt must not be paid with A's expired points.
    const second = await spendBoth(m, "refund-first");
    setClock(END_OF_A + 30_000);
    expect((await refund(m, "refund-first-b")).status).toBe(201);
    expect((await cancel(m, second)).status).toBe(200);
    expect(await balanceOf(m, "cancel-first")).toBe(-50);
    const entries = (await ledger(m, "refund-first")).map((e) => `${e.type}:${e.points}`);
    expect(await balanceOf(m, "refund-first"), entries.join(" ")).toBe(-50);
    for (const who of ["cancel-first", "refund-first"]) await checkMemberInvariants(m.id, who);
    await checkOrderInvariants(m.id);
  });
});

describe("given back past the inactivity deadline", () => {
  it("a cancel's points expire with the rest, and repay no debt", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    for (const who of ["cancel-first", "refund-first"]) {
      expect((await postOrder(m, { orderId: `${who}-a`, memberId: who, amount: 10_000 })).status).toBe(201);
      expect((await postOrder(m, { orderId: `${who}-b`, memberId: who, amount: 5_000 })).status).toBe(201);
    }
    const spend = async (who: string) => {
      const a = await redeem(m, who, 100);
      expect((await redeem(m, who, 50)).status).toBe(201);
      return a.body.id as string;
    };
    const first = await spend("cancel-first");
    const second = await spend("refund-first");
    // The refund lands first for one member: B's points were spent, so it leaves 50 of debt.
    expect((await refund(m, "refund-first-b")).status).toBe(201);
    expect(await balanceOf(m, "refund-first")).toBe(-50);
    // 40 idle days later (the refund is not activity either), the 100 of the first redemption come back.
    advanceClock(40 * DAY_MS);
    expect((await cancel(m, first)).status).toBe(200);
    expect((await refund(m, "cancel-first-b")).status).toBe(201);
    expect((await cancel(m, second)).status).toBe(200);
    expect(await balanceOf(m, "cancel-first")).toBe(-50);
    expect(await balanceOf(m, "refund-first")).toBe(-50);
    for (const who of ["cancel-first", "refund-first"]) await checkMemberInvariants(m.id, who);
  });

  it("a cancel read past the deadline, raced by the member's order, repays the debt the order left", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    expect((await postOrder(m, { orderId: "race-a", memberId: "race", amount: 10_000 })).status).toBe(201);
    expect((await postOrder(m, { orderId: "race-b", memberId: "race", amount: 5_000 })).status).toBe(201);
    const spent = await redeem(m, "race", 100);
    expect((await redeem(m, "race", 50)).status).toBe(201);
    expect((await refund(m, "race-b")).status).toBe(201);
    advanceClock(40 * DAY_MS);
    // The cancel reads the member as inactive; an order commits before its batch: the member is active again, and
    // its 20 points repaid 20 of the 50 owed.
    const race = onceBefore(env.DB, "UPDATE redemptions SET status", async () => {
      expect((await postOrder(m, { orderId: "race-c", memberId: "race", amount: 2_000 })).status).toBe(201);
    });
    const cancelled = await postThrough(race.db, `/v1/redemptions/${spent.body.id}/cancel`, m.checkout, {});
    expect(race.fired()).toBe(true);
    expect(cancelled.status, await cancelled.text()).toBe(200);
    // The 100 come back to an active member: 30 repay the rest of the debt.
    expect(await balanceOf(m, "race")).toBe(70);
    await checkMemberInvariants(m.id, "race");
  });

  it("a hold the job releases long after its time, past the deadline, repays no debt", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    expect((await postOrder(m, { orderId: "late-a", memberId: "late", amount: 10_000 })).status).toBe(201);
    expect((await postOrder(m, { orderId: "late-b", memberId: "late", amount: 5_000 })).status).toBe(201);
    expect((await redeem(m, "late", 100, true)).status).toBe(201);
    expect((await redeem(m, "late", 50)).status).toBe(201);
    expect((await refund(m, "late-b")).status).toBe(201);
    expect(await balanceOf(m, "late")).toBe(-50);
    // No job ran for 40 days: the hold is released only now, with the member long past the deadline.
    advanceClock(40 * DAY_MS);
    const run = await runJob(env.DB, holdReleaseJob, { trigger: "manual", scope: { merchantId: m.id } });
    expect(run.processed).toBe(1);
    expect(await balanceOf(m, "late")).toBe(-50);
    await checkMemberInvariants(m.id, "late");
  });

  it("cancelling a captured credit redemption is not activity: the points still expire", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } });
    const spent = await spendRebateCredit(m, "cc", 500, false);
    // 40 idle days: the deadline (30 days after the spend) has passed, and no job has run yet.
    advanceClock(40 * DAY_MS);
    expect((await cancel(m, spent.body.id)).status).toBe(200);
    await runJob(env.DB, inactivityExpiryJob, { trigger: "manual", scope: { merchantId: m.id } });
    expect(await member(m, "cc")).toMatchObject({ balance: 0, credit: 1_000 });
    await checkMemberInvariants(m.id, "cc");
  });
});

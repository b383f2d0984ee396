import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { expiryJob, inactivityExpiryJob } from "../src/jobs/expiry";
import { pendingReleaseJob } from "../src/jobs/pending-release";
import { runJob } from "../src/jobs/runner";
import { runScheduledJobs } from "../src/jobs/scheduled";
import { advanceClock, DAY_MS, now, resetClock, setClock } from "../src/platform/clock";
import { call, ledger, member, postOrder, uid } from "./support/api";
import { merchantWith, PROGRAM_DEFAULTS, redeem, refund, runFor } from "./support/flows";
import { checkMemberInvariants } from "./support/invariants";

afterEach(() => resetClock());

describe("pending points", () => {
  it("cannot be set to expire before they become spendable: 400 naming expiry.days, nothing stored", async () => {
    const m = await merchantWith({ pendingDays: 0, expiry: { policy: "after_earn", days: 30 } });
    for (const expiry of [
      { policy: "after_earn", days: 3 },
      { policy: "after_earn", days: 10 },
      { policy: "inactivity", days: 10 },
    ]) {
      const r = await call("PUT", "/v1/program", { token: m.admin, body: { ...PROGRAM_DEFAULTS, pendingDays: 10, expiry } });
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors).toEqual([expect.objectContaining({ path: "expiry.days" })]);
    }
    expect((await call("GET", "/v1/program", { token: m.admin })).body).toMatchObject({ pendingDays: 0, expiry: { days: 30 } });
    const longer = { ...PROGRAM_DEFAULTS, pendingDays: 10, expiry: { policy: "inactivity", days: 11 } };
    expect((await call("PUT", "/v1/program", { token: m.admin, body: longer })).status).toBe(200);
  });

  it("stay pending through the return window, a refund inside it cancels pending first, then they release once", async () => {
    const m = await merchantWith({ pendingDays: 7 });
    const order = await postOrder(m, { orderId: "p-1", memberId: "pen", amount: 10000 });
    expect(order.body.member).toMatchObject({ balance: 0, pending: 100 });
    expect((await redeem(m, "pen", 1)).status).toBe(409);

    const r = await refund(m, "p-1", { amount: 4000 });
    expect(r.body).toMatchObject({ pointsReversed: 40, member: { balance: 0, pending: 60 } });

    advanceClock(6 * DAY_MS);
    expect((await runFor(m, "pending-release")).body.processed).toBe(0);
    expect((await member(m, "pen")).pending).toBe(60);

    advanceClock(DAY_MS + 1000);
    // A read that finds them due releases them.
    expect(await member(m, "pen")).toMatchObject({ balance: 60, pending: 0 });
    const job = await runFor(m, "pending-release");
    expect(job.body.processed).toBe(0);
    expect(await member(m, "pen")).toMatchObject({ balance: 60, pending: 0 });
    expect((await redeem(m, "pen", 60)).status).toBe(201);
    await checkMemberInvariants(m.id, "pen");
  });

  it("the job releases due points, repaying debt first, exactly once under concurrent runs", async () => {
    const m = await merchantWith({ pendingDays: 3 });
    await call("PUT", "/v1/members/debt", { token: m.admin, body: {} });
    await call("POST", "/v1/members/debt/adjustments", {
      token: m.admin,
      idempotencyKey: uid("k"),
      body: { points: 50, reason: "gift" },
    });
    await postOrder(m, { orderId: "d-0", memberId: "debt", amount: 5000 });
    // d-0 pays 50 pending; spend the gift, then refund an order whose points were spent -> debt.
    expect((await redeem(m, "debt", 50)).status).toBe(201);
    advanceClock(3 * DAY_MS + 1000);
    await runJob(env.DB, pendingReleaseJob, { trigger: "cron" });
    expect(await member(m, "debt")).toMatchObject({ balance: 50, pending: 0 });
    expect((await redeem(m, "debt", 50)).status).toBe(201);
    expect((await refund(m, "d-0")).body.member.balance).toBe(-50);

    await postOrder(m, { orderId: "d-1", memberId: "debt", amount: 8000 });
    expect(await member(m, "debt")).toMatchObject({ balance: -50, pending: 80 });
    advanceClock(3 * DAY_MS + 1000);
    const runs = await Promise.all([
      runJob(env.DB, pendingReleaseJob, { trigger: "cron" }),
      runJob(env.DB, pendingReleaseJob, { trigger: "cron" }),
      runJob(env.DB, pendingReleaseJob, { trigger: "cron" }),
    ]);
    expect(runs.reduce((s, r) => s + r.processed, 0)).toBe(1);
    expect(await member(m, "debt")).toMatchObject({ balance: 30, pending: 0 });
    await checkMemberInvariants(m.id, "debt");
    expect((await redeem(m, "debt", 31)).status).toBe(409);
    expect((await redeem(m, "debt", 30)).status).toBe(201);
  });
});

describe("expiry after earning", () => {
  it("expires a lot at the end of its last day in the merchant's time zone (31 March, Asia/Shanghai)", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 30 } });
    setClock(Date.parse("2027-03-01T10:00:00+08:00"));
    const order = await postOrder(m, { orderId: "tz-1", memberId: "tz", amount: 10000 });
    expect(order.status, order.text).toBe(201);
    const [entry] = await ledger(m, "tz");
    expect(entry.expiresAt).toBe("2027-03-31T16:00:00.000Z"); // 1 April 00:00 in Shanghai

    setClock(Date.parse("2027-03-31T23:59:59.000+08:00"));
    await runJob(env.DB, expiryJob, { trigger: "cron" });
    expect((await member(m, "tz")).balance).toBe(100);

    setClock(Date.parse("2027-04-01T00:00:00.000+08:00"));
    const run = await runJob(env.DB, expiryJob, { trigger: "cron" });
    expect(run.processed).toBe(1);
    expect((await member(m, "tz")).balance).toBe(0);
    const entries = await ledger(m, "tz");
    expect(entries.map((e) => [e.type, e.points, e.balanceAfter])).toEqual([
      ["earn", 100, 100],
      ["expire", -100, 0],
    ]);
    await checkMemberInvariants(m.id, "tz");
  });

  it("spends soonest-expiring lots first and expires only what is left unspent", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 30 } });
    const start = now();
    await postOrder(m, { orderId: "a", memberId: "fifo", amount: 10000 });
    advanceClock(10 * DAY_MS);
    await postOrder(m, { orderId: "b", memberId: "fifo", amount: 10000 });
    expect((await redeem(m, "fifo", 150)).status).toBe(201);

    setClock(start + 32 * DAY_MS); // lot a's date passed: it was fully spent
    await runJob(env.DB, expiryJob, { trigger: "cron" });
    expect((await member(m, "fifo")).balance).toBe(50);
    setClock(start + 42 * DAY_MS); // lot b's date passed: 50 left
    await runJob(env.DB, expiryJob, { trigger: "cron" });
    expect((await member(m, "fifo")).balance).toBe(0);
    const expired = (await ledger(m, "fifo")).filter((e) => e.type === "expire");
    expect(expired.map((e) => e.points)).toEqual([-50]);
    await checkMemberInvariants(m.id, "fifo");
  });

  it("never spends points past their date, even before the job has run", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 1 } });
    await postOrder(m, { orderId: "x", memberId: "late", amount: 10000 });
    advanceClock(3 * DAY_MS);
    const r = await redeem(m, "late", 10);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("insufficient_points");
    // Reading the member settles what is due, so the balance shown can be spent.
    expect((await member(m, "late")).balance).toBe(0);
    expect((await ledger(m, "late")).map((e) => e.type)).toEqual(["earn", "expire"]);
  });

  it("a refund reverses the order's own lot first, and never takes points that already expired", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 30 } });
    const start = now();
    await postOrder(m, { orderId: "old", memberId: "own", amount: 10000 });
    advanceClock(20 * DAY_MS);
    await postOrder(m, { orderId: "new", memberId: "own", amount: 10000 });
    const r = await refund(m, "new");
    expect(r.body).toMatchObject({ pointsReversed: 100, pointsAlreadyExpired: 0, member: { balance: 100 } });
    // The old lot is intact: it expires in full.
    setClock(start + 32 * DAY_MS);
    await runJob(env.DB, expiryJob, { trigger: "cron" });
    expect((await member(m, "own")).balance).toBe(0);

    // A refund after the order's points expired takes nothing back.
    const late = await refund(m, "old", { amount: 5000 });
    expect(late.body).toMatchObject({ pointsReversed: 0, pointsAlreadyExpired: 50, member: { balance: 0 } });
    const rest = await refund(m, "old");
    expect(rest.body).toMatchObject({ pointsReversed: 0, pointsAlreadyExpired: 50 });
    await checkMemberInvariants(m.id, "own");
  });

  it("lists points expiring soon, by date, for the merchant and the member", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 30 } });
    await postOrder(m, { orderId: "e1", memberId: "soon", amount: 10000 });
    advanceClock(20 * DAY_MS);
    await postOrder(m, { orderId: "e2", memberId: "soon", amount: 5000 });
    const r = await call("GET", "/v1/members/soon/expiring?withinDays=15", { token: m.read });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ policy: "after_earn", total: 100, withinDays: 15 });
    expect(r.body.expiring).toHaveLength(1);
    const all = await call("GET", "/v1/members/soon/expiring?withinDays=60", { token: m.read });
    expect(all.body.total).toBe(150);
    const token = (await call("POST", "/v1/members/soon/tokens", { token: m.checkout })).body.token;
    const mine = await call("GET", "/v1/me/expiring?withinDays=60", { token });
    expect(mine.body.total).toBe(150);
    expect((await call("GET", "/v1/members/soon/expiring?withinDays=0", { token: m.read })).status).toBe(400);
  });
});

describe("expiry after inactivity", () => {
  it("expires everything N days after the last order; a new order resets the clock", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 }, pendingDays: 0 });
    await postOrder(m, { orderId: "i1", memberId: "idle", amount: 10000 });
    advanceClock(29 * DAY_MS);
    await postOrder(m, { orderId: "i2", memberId: "idle", amount: 5000 });
    advanceClock(29 * DAY_MS);
    await runJob(env.DB, inactivityExpiryJob, { trigger: "cron" });
    expect((await member(m, "idle")).balance).toBe(150);
    const soon = await call("GET", "/v1/members/idle/expiring?withinDays=5", { token: m.admin });
    expect(soon.body).toMatchObject({ policy: "inactivity", total: 150 });

    advanceClock(3 * DAY_MS);
    const runs = await Promise.all([
      runJob(env.DB, inactivityExpiryJob, { trigger: "cron" }),
      runJob(env.DB, inactivityExpiryJob, { trigger: "cron" }),
    ]);
    expect(runs.reduce((s, r) => s + r.processed, 0)).toBe(2);
    expect((await member(m, "idle")).balance).toBe(0);
    const expired = (await ledger(m, "idle")).filter((e) => e.type === "expire");
    expect(expired.map((e) => e.points).sort()).toEqual([-100, -50]);
    expect(expired.every((e) => e.reason === "inactivity")).toBe(true);
    await checkMemberInvariants(m.id, "idle");
  });

  it("an order arriving after the deadline first expires the old points", async () => {
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 10 } });
    await postOrder(m, { orderId: "o1", memberId: "back", amount: 10000 });
    advanceClock(12 * DAY_MS);
    const r = await postOrder(m, { orderId: "o2", memberId: "back", amount: 2000 });
    expect(r.body.member.balance).toBe(20);
    expect((await ledger(m, "back")).map((e) => e.type)).toEqual(["earn", "expire", "earn"]);
  });

  it("counts from when the policy took effect: switching it on or shortening it wipes no one at once", async () => {
    const m = await merchantWith({});
    const inactivity = (days: number) => ({ ...PROGRAM_DEFAULTS, expiry: { policy: "inactivity", days } });
    const put = async (days: number) =>
      expect((await call("PUT", "/v1/program", { token: m.admin, body: inactivity(days) })).status).toBe(200);
    const expireNow = () => runJob(env.DB, inactivityExpiryJob, { trigger: "manual", scope: { merchantId: m.id } });
    await postOrder(m, { orderId: "old-1", memberId: "dormant", amount: 10000 });
    advanceClock(400 * DAY_MS);
    // Switched on after 400 idle days: the 30 days run from now.
    await put(30);
    expect((await call("GET", "/v1/program", { token: m.admin })).body.expiry).toEqual({ policy: "inactivity", days: 30 });
    expect((await expireNow()).processed).toBe(0);
    expect((await member(m, "dormant")).balance).toBe(100);
    advanceClock(20 * DAY_MS);
    // Shortened to 10 days, 20 days into the 30: ten more days from the change, not an instant wipe.
    await put(10);
    advanceClock(5 * DAY_MS);
    expect((await expireNow()).processed).toBe(0);
    expect((await member(m, "dormant")).balance).toBe(100);
    // Lengthened again, the clock keeps its start: 40 days from the shortening, not from this change.
    await put(40);
    const expiring = await call("GET", "/v1/members/dormant/expiring?withinDays=60", { token: m.admin });
    const shortenedAt = now() - 5 * DAY_MS;
    expect(Date.parse(expiring.body.expiring[0].expiresAt)).toBeLessThanOrEqual(shortenedAt + 41 * DAY_MS);
    expect(Date.parse(expiring.body.expiring[0].expiresAt)).toBeGreaterThan(shortenedAt + 40 * DAY_MS - DAY_MS);
    advanceClock(37 * DAY_MS);
    expect((await expireNow()).processed).toBe(1);
    expect((await member(m, "dormant")).balance).toBe(0);
    await checkMemberInvariants(m.id, "dormant");
  });

  it("the job expires a member at the deadline across a spring-forward, when the local days were not all 24 h", async () => {
    // 1 March 2026, 23:30 EST: the deadline is the end of 31 March, 04:00Z (EDT), 29 days and 23.5 h later.
    setClock(Date.parse("2026-03-02T04:30:00Z"));
    const m = await merchantWith({ expiry: { policy: "inactivity", days: 30 } }, "America/New_York");
    expect((await postOrder(m, { orderId: "ny-1", memberId: "ny", amount: 10000 })).status).toBe(201);
    setClock(Date.parse("2026-04-01T03:59:00Z"));
    expect((await runJob(env.DB, inactivityExpiryJob, { trigger: "manual", scope: { merchantId: m.id } })).processed).toBe(0);
    setClock(Date.parse("2026-04-01T04:15:00Z"));
    expect((await runJob(env.DB, inactivityExpiryJob, { trigger: "manual", scope: { merchantId: m.id } })).processed).toBe(1);
    expect((await member(m, "ny")).balance).toBe(0);
    await checkMemberInvariants(m.id, "ny");
  });
});

describe("scheduled jobs", () => {
  it("records every run; the admin route runs a job for its own merchant only", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 1 } });
    const other = await merchantWith({ expiry: { policy: "after_earn", days: 1 } });
    await postOrder(m, { orderId: "j1", memberId: "job", amount: 1000 });
    await postOrder(other, { orderId: "j1", memberId: "job", amount: 1000 });
    advanceClock(3 * DAY_MS);
    const run = await runFor(m, "expiry");
    expect(run.status, run.text).toBe(200);
    expect(run.body).toMatchObject({
      job: "expiry",
      trigger: "manual",
      status: "succeeded",
      processed: 1,
      more: false,
      errors: [],
    });
    // The other merchant's lot was not touched by this merchant's run.
    expect((await ledger(other, "job")).map((e) => e.type)).toEqual(["earn"]);
    const list = await call("GET", "/v1/jobs/runs", { token: m.read });
    const own = list.body.data.filter((r: any) => r.scope === "merchant");
    expect(own.map((r: any) => r.id)).toEqual([run.body.id]);
    expect((await runFor(m, "nope")).status).toBe(404);
    expect((await call("POST", "/v1/jobs/expiry/runs", { token: m.checkout })).status).toBe(403);

    const cron = await runScheduledJobs(env);
    expect(cron.map((r) => r.job)).toEqual([
      "hold-release",
      "pending-release",
      "expiry",
      "inactivity-expiry",
      "tier-review",
      "perk-lapse",
      "referral-payout",
      "switching-cost",
      "housekeeping",
    ]);
    expect(cron.every((r) => r.status === "succeeded")).toBe(true);
    expect((await ledger(other, "job")).map((e) => e.type)).toEqual(["earn", "expire"]);
    // Cron runs are listed for every merchant, without counts or errors that cover other merchants.
    const after = await call("GET", "/v1/jobs/runs?limit=200", { token: m.read });
    const cronRuns = after.body.data.filter((r: any) => cron.some((c) => c.id === r.id));
    expect(cronRuns.length).toBe(cron.length);
    for (const r of cronRuns) expect(r).toMatchObject({ trigger: "cron", scope: "all_merchants", processed: 0, errors: [] });
    expect(cron.some((r) => r.processed > 0)).toBe(true);
  });

  it("keeps idempotency keys at least 24 hours, drops them after 7 days", async () => {
    const m = await merchantWith({});
    const body = { orderId: "idem-1", memberId: "keeper", amount: 1000 };
    const first = await postOrder(m, body, "kept-key");
    advanceClock(2 * DAY_MS);
    await runScheduledJobs(env);
    const replay = await postOrder(m, body, "kept-key");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.text).toBe(first.text);
    advanceClock(6 * DAY_MS);
    const run = await runFor(m, "housekeeping");
    expect(run.body.processed).toBeGreaterThanOrEqual(1);
    // The key is gone, but the order still earns once.
    const late = await postOrder(m, body, "kept-key");
    expect(late.status).toBe(409);
    expect(late.body.code).toBe("conflict");
  });

  it("works in bounded chunks and resumes where the budget stopped it", async () => {
    const m = await merchantWith({ expiry: { policy: "after_earn", days: 1 } });
    for (let i = 0; i < 7; i++) await postOrder(m, { orderId: `c${i}`, memberId: `chunk-${i % 3}`, amount: 1000 });
    advanceClock(3 * DAY_MS);
    const first = await runJob(env.DB, expiryJob, { trigger: "cron", scope: { merchantId: m.id }, chunkSize: 2, maxChunks: 2 });
    expect(first).toMatchObject({ processed: 4, chunks: 2, more: true });
    const second = await runJob(env.DB, expiryJob, { trigger: "cron", scope: { merchantId: m.id }, chunkSize: 2, maxChunks: 5 });
    expect(second).toMatchObject({ processed: 3, more: false });
    for (let i = 0; i < 3; i++) {
      expect((await member(m, `chunk-${i}`)).balance).toBe(0);
      await checkMemberInvariants(m.id, `chunk-${i}`);
    }
  });
});

/**
 * The perk-lapse job across merchants and time zones: a lapse is recorded on the first run after it happened,
 * whatever other merchants' or members' lapses, still hours away, would sort ahead of it by a UTC reckoning.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { runScheduledJobs } from "../src/jobs/scheduled";
import { resetClock, setClock } from "../src/platform/clock";
import { call, postOrder, type TestMerchant, uid } from "./support/api";
import { merchantWith, runFor } from "./support/flows";

afterEach(() => resetClock());

const putPerk = async (m: TestMerchant, id: string, body: Record<string, unknown>) => {
  const r = await call("PUT", `/v1/perks/${id}`, { token: m.admin, body: { name: id, value: 800, ...body } });
  expect(r.status, r.text).toBeLessThan(300);
};
const readPerks = async (m: TestMerchant, memberId: string) => {
  const r = await call("GET", `/v1/members/${memberId}/perks`, { token: m.admin });
  expect(r.status, r.text).toBe(200);
  return r.body.data as any[];
};
const enrol = async (m: TestMerchant, memberId: string) => {
  const r = await call("PUT", `/v1/members/${memberId}`, { token: m.admin, body: {} });
  expect(r.status, r.text).toBeLessThan(300);
};
const order = async (m: TestMerchant, memberId: string) => {
  const r = await postOrder(m, { orderId: uid("o"), memberId, amount: 1000 });
  expect(r.status, r.text).toBe(201);
};
const lapses = async (m: TestMerchant) =>
  (
    await env.DB.prepare(
      "SELECT member_id AS memberId, perk_id AS perkId, at FROM perk_events WHERE merchant_id = ? AND kind = 'lapsed'",
    )
      .bind(m.id)
      .all<{ memberId: string; perkId: string; at: number }>()
  ).results;

/** A merchant with 100 perks (the maximum), each lapsing after 10 days, unlocked for everyone. */
async function hundredPerks(timezone: string) {
  const m = await merchantWith({}, timezone);
  for (let i = 0; i < 100; i++) await putPerk(m, `p${String(i).padStart(3, "0")}`, { unlock: {}, lapseAfterInactiveDays: 10 });
  return m;
}

describe("perk-lapse job", () => {
  it("records a Shanghai merchant's lapse while 200 Honolulu lapses hours away are pending", async () => {
    // Honolulu (UTC-10): two members order on 5 June (local), 100 perks each: lapse at 2026-06-16T10:00Z.
    const h = await hundredPerks("Pacific/Honolulu");
    setClock(Date.parse("2026-06-05T22:00:00.000Z"));
    for (const id of ["h1", "h2"]) {
      await order(h, id);
      await readPerks(h, id);
    }
    // Shanghai (UTC+8): a member enrolled at 12:00 local on 5 June, never ordered: lapse at 2026-06-15T16:00Z.
    const k = await merchantWith({}, "Asia/Shanghai");
    await putPerk(k, "club", { unlock: {}, lapseAfterInactiveDays: 10 });
    setClock(Date.parse("2026-06-05T04:00:00.000Z"));
    await enrol(k, "k1");
    expect((await readPerks(k, "k1"))[0]).toMatchObject({ unlocked: true, lapsesAt: "2026-06-15T16:00:00.000Z" });

    setClock(Date.parse("2026-06-15T20:00:00.000Z"));
    const run = (await runScheduledJobs(env)).find((r) => r.job === "perk-lapse");
    expect(run).toMatchObject({ status: "succeeded" });
    expect(await lapses(k)).toEqual([{ memberId: "k1", perkId: "club", at: Date.parse("2026-06-15T16:00:00.000Z") }]);
    expect(await lapses(h)).toEqual([]);
    setClock(Date.parse("2026-06-16T10:00:00.000Z"));
    await runScheduledJobs(env);
    expect((await lapses(h)).length).toBe(200);
  });

  it("records a member's lapse while members of the same merchant who ordered a day later are pending", async () => {
    const m = await hundredPerks("Pacific/Honolulu");
    // "e": enrolled 20:00 HST on 5 August, never orders: lapse at 00:00 on 16 August HST = 2026-08-16T10:00Z.
    setClock(Date.parse("2026-08-06T06:00:00.000Z"));
    await enrol(m, "e");
    await readPerks(m, "e");
    // "l1", "l2": order at 12:00 HST on 6 August: lapse at 2026-08-17T10:00Z.
    setClock(Date.parse("2026-08-06T22:00:00.000Z"));
    for (const id of ["l1", "l2"]) {
      await order(m, id);
      await readPerks(m, id);
    }
    setClock(Date.parse("2026-08-16T12:00:00.000Z"));
    const run = await runFor(m, "perk-lapse");
    expect([run.status, run.body.processed, run.body.more]).toEqual([200, 100, false]);
    const e = (await lapses(m)).filter((x) => x.memberId === "e");
    expect(e.length).toBe(100);
    expect(e.every((x) => x.at === Date.parse("2026-08-16T10:00:00.000Z"))).toBe(true);
    setClock(Date.parse("2026-08-17T09:59:00.000Z"));
    expect((await runFor(m, "perk-lapse")).body.processed).toBe(0);
    setClock(Date.parse("2026-08-17T10:00:00.000Z"));
    expect((await runFor(m, "perk-lapse")).body.processed).toBe(200);
  });

  it("records a lapse at its local midnight across a spring-forward, for a member enrolled late in the day", async () => {
    const m = await merchantWith({}, "America/New_York");
    await putPerk(m, "club", { unlock: {}, lapseAfterInactiveDays: 10 });
    // 23:30 EST on 1 March 2026; clocks go forward on 8 March. Lapse: 00:00 EDT on 12 March = 2026-03-12T04:00Z.
    setClock(Date.parse("2026-03-02T04:30:00.000Z"));
    await enrol(m, "late");
    expect((await readPerks(m, "late"))[0]).toMatchObject({ unlocked: true, lapsesAt: "2026-03-12T04:00:00.000Z" });
    setClock(Date.parse("2026-03-12T03:59:00.000Z"));
    expect((await runFor(m, "perk-lapse")).body.processed).toBe(0);
    setClock(Date.parse("2026-03-12T04:00:00.000Z"));
    expect((await runFor(m, "perk-lapse")).body.processed).toBe(1);
    expect(await lapses(m)).toEqual([{ memberId: "late", perkId: "club", at: Date.parse("2026-03-12T04:00:00.000Z") }]);
  });
});

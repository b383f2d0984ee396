/**
 * Property: a scheduled job run in small chunks over several merchants in far-apart time zones leaves nothing
 * due behind and does nothing early. Each merchant has a perk that lapses after N days without an order (one N for all); its
 * members enrol (and some order) at random instants; at a random later instant the perk-lapse job runs for
 * every merchant, one row a chunk, until it says there is no more. Then exactly the lapses that have come
 * are recorded, each at its instant: the start of the (N+1)-th local day after the last active day (or the
 * enrolment day). A job that orders work across merchants by a UTC reckoning and stops at the first row not
 * due yet leaves due lapses behind another merchant's rows. The same for inactivity expiry: exactly the members
 * whose inactivity deadline (the end of the N-th local day after their last order) has come lose their points.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { inactivityExpiryJob } from "../../src/jobs/expiry";
import { perkLapseJob } from "../../src/jobs/perk-lapse";
import type { Job } from "../../src/jobs/types";
import { lapsesAt } from "../../src/perks/unlock";
import { resetClock, setClock } from "../../src/platform/clock";
import { localDate } from "../../src/platform/timezone";
import { expiryFromColumns, inactivityDeadline } from "../../src/program/settings";
import { call, postOrder, uid } from "../support/api";
import { merchantWith } from "../support/flows";
import { propertySeed } from "../support/seeds";

const ZONES = ["Pacific/Honolulu", "Pacific/Kiritimati", "Asia/Shanghai", "America/New_York"];
const HOUR = 3_600_000;
const BASE = Date.parse("2026-03-01T00:00:00.000Z");

const member = fc.record({
  enrolHour: fc.integer({ min: 0, max: 48 }),
  /** Hours after enrolment of the one order, kept within the N days so no lapse comes before it. */
  orderFraction: fc.option(fc.double({ min: 0, max: 0.99, noNaN: true }), { nil: undefined }),
});
const scenario = fc.record({
  lapseDays: fc.integer({ min: 1, max: 4 }),
  merchants: fc.array(
    fc.record({ timezone: fc.constantFrom(...ZONES), members: fc.array(member, { minLength: 1, maxLength: 3 }) }),
    {
      minLength: 2,
      maxLength: 3,
    },
  ),
  /** Hours after the N days: around the lapses, where zones and enrolment times decide which have come. */
  checkAfter: fc.integer({ min: 0, max: 120 }),
});

afterAll(() => resetClock());

/** Runs the job for every merchant, one row a chunk, until it says there is no more. */
async function drain(job: Job, at: number): Promise<void> {
  for (let chunk = 0; ; chunk++) {
    expect(chunk, `${job.name} keeps saying there is more`).toBeLessThan(500);
    if (!(await job.runChunk(env.DB, at, {}, 1)).more) return;
  }
}

describe("scheduled jobs drained in small chunks across time zones", () => {
  it("perk-lapse records exactly the lapses that have come, each at its instant", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const checkAt = BASE + (s.lapseDays * 24 + s.checkAfter) * HOUR;
        const expected: { merchantId: string; memberId: string; at: number }[] = [];
        const merchants: string[] = [];
        for (const spec of s.merchants) {
          setClock(BASE);
          const m = await merchantWith({}, spec.timezone);
          merchants.push(m.id);
          const perk = { name: "club", value: 100, unlock: {}, lapseAfterInactiveDays: s.lapseDays };
          expect((await call("PUT", "/v1/perks/club", { token: m.admin, body: perk })).status).toBe(201);
          for (const [i, who] of spec.members.entries()) {
            const memberId = `m${i}`;
            const enrolledAt = BASE + who.enrolHour * HOUR;
            setClock(enrolledAt);
            expect((await call("PUT", `/v1/members/${memberId}`, { token: m.admin, body: {} })).status).toBe(201);
            // The read records the perk held unlocked: the job considers perks as last recorded.
            expect((await call("GET", `/v1/members/${memberId}/perks`, { token: m.admin })).status).toBe(200);
            let since = localDate(enrolledAt, spec.timezone);
            if (who.orderFraction !== undefined) {
              const orderedAt = enrolledAt + Math.floor(who.orderFraction * s.lapseDays * 24) * HOUR;
              setClock(orderedAt);
              expect((await postOrder(m, { orderId: uid("o"), memberId, amount: 1000 })).status).toBe(201);
              since = localDate(orderedAt, spec.timezone);
            }
            const lapse = lapsesAt(s.lapseDays, since, spec.timezone);
            if (lapse <= checkAt) expected.push({ merchantId: m.id, memberId, at: lapse });
          }
        }
        setClock(checkAt);
        await drain(perkLapseJob, checkAt);
        const placeholders = merchants.map(() => "?").join(", ");
        const { results } = await env.DB.prepare(
          `SELECT merchant_id AS merchantId, member_id AS memberId, at FROM perk_events
           WHERE kind = 'lapsed' AND merchant_id IN (${placeholders}) ORDER BY merchant_id, member_id`,
        )
          .bind(...merchants)
          .all<{ merchantId: string; memberId: string; at: number }>();
        const order = (a: { merchantId: string; memberId: string }, b: { merchantId: string; memberId: string }) =>
          a.merchantId.localeCompare(b.merchantId) || a.memberId.localeCompare(b.memberId);
        expect(results).toEqual([...expected].sort(order));
      }),
      { numRuns: 25, seed: propertySeed(1122026), verbose: 1 },
    );
  }, 120_000);
  it("inactivity expiry takes exactly the points of members past their deadline", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const checkAt = BASE + (s.lapseDays * 24 + s.checkAfter) * HOUR;
        const expected: { merchantId: string; memberId: string; balance: number }[] = [];
        const merchants: string[] = [];
        for (const spec of s.merchants) {
          setClock(BASE);
          const m = await merchantWith({ expiry: { policy: "inactivity", days: s.lapseDays } }, spec.timezone);
          merchants.push(m.id);
          const settings = { expiry: expiryFromColumns("inactivity", s.lapseDays, BASE) };
          for (const [i, who] of spec.members.entries()) {
            const orderedAt = BASE + who.enrolHour * HOUR;
            setClock(orderedAt);
            const posted = await postOrder(m, { orderId: uid("o"), memberId: `m${i}`, amount: 1000 });
            expect(posted.status).toBe(201);
            const deadline = inactivityDeadline(settings, orderedAt, spec.timezone) ?? Number.POSITIVE_INFINITY;
            expected.push({ merchantId: m.id, memberId: `m${i}`, balance: deadline <= checkAt ? 0 : posted.body.pointsEarned });
          }
        }
        setClock(checkAt);
        await drain(inactivityExpiryJob, checkAt);
        const placeholders = merchants.map(() => "?").join(", ");
        const { results } = await env.DB.prepare(
          `SELECT merchant_id AS merchantId, id AS memberId, balance FROM members WHERE merchant_id IN (${placeholders})`,
        )
          .bind(...merchants)
          .all<{ merchantId: string; memberId: string; balance: number }>();
        const order = (a: { merchantId: string; memberId: string }, b: { merchantId: string; memberId: string }) =>
          a.merchantId.localeCompare(b.merchantId) || a.memberId.localeCompare(b.memberId);
        expect([...results].sort(order)).toEqual([...expected].sort(order));
      }),
      { numRuns: 25, seed: propertySeed(1122027), verbose: 1 },
    );
  }, 120_000);
});

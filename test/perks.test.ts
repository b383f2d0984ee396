/**
 * Perks through the Worker: unlock conditions at their edges in the merchant's timezone, progress, an
 * atomic quota under parallel uses, reversal, lapses (recorded by the perk-lapse job) and streak resets.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_PERK_WORTH } from "../src/perks/limits";
import { resetClock, setClock } from "../src/platform/clock";
import { call, postOrder, type TestMerchant, uid } from "./support/api";
import { beforeBatch, sendThrough, sqlOf } from "./support/d1-faults";
import { merchantWith, refund, runFor } from "./support/flows";

afterEach(() => resetClock());

const putPerk = async (m: TestMerchant, id: string, body: Record<string, unknown>) => {
  const r = await call("PUT", `/v1/perks/${id}`, { token: m.admin, body: { name: id, value: 800, ...body } });
  expect(r.status, r.text).toBeLessThan(300);
  return r;
};
const perksOf = async (m: TestMerchant, memberId: string) => {
  const r = await call("GET", `/v1/members/${memberId}/perks`, { token: m.admin });
  expect(r.status, r.text).toBe(200);
  return new Map<string, any>(r.body.data.map((p: { perkId: string }) => [p.perkId, p]));
};
/** The merchant's recorded perk events, by perk then time. */
const eventsOf = async (m: TestMerchant) =>
  (
    await env.DB.prepare("SELECT perk_id AS perkId, kind, reason, at FROM perk_events WHERE merchant_id = ? ORDER BY perk_id, at")
      .bind(m.id)
      .all<{ perkId: string; kind: string; reason: string; at: number }>()
  ).results;
const use = (m: TestMerchant, memberId: string, perkId: string) =>
  call("POST", `/v1/members/${memberId}/perks/${perkId}/uses`, { token: m.checkout, idempotencyKey: uid("k") });
const enrol = (m: TestMerchant, memberId: string) => call("PUT", `/v1/members/${memberId}`, { token: m.admin, body: {} });
const order = (m: TestMerchant, memberId: string, amount: number, occurredAt?: string) =>
  postOrder(m, { orderId: uid("o"), memberId, amount, ...(occurredAt ? { occurredAt } : {}) });

describe("perk definitions", () => {
  it("creates, replaces and lists perks, refusing a bad definition by field", async () => {
    const m = await merchantWith({});
    const created = await putPerk(m, "delivery", { unlock: { tenureDays: 30 }, quota: { uses: 2, per: "month" } });
    expect(created.status).toBe(201);
    expect((await putPerk(m, "delivery", { value: 900, unlock: {} })).status).toBe(200);
    const list = await call("GET", "/v1/perks", { token: m.read });
    expect(list.body.data).toEqual([
      { id: "delivery", name: "delivery", value: 900, unlock: {}, quota: null, lapseAfterInactiveDays: null },
    ]);
    const bad = await call("PUT", "/v1/perks/x", {
      token: m.admin,
      body: { name: "x", value: -1, unlock: { streakMonths: 0 }, quota: { uses: 0, per: "week" } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining(["value", "unlock.streakMonths", "quota.uses", "quota.per"]),
    );
  });

  it("refuses a perk worth more than MAX_PERK_WORTH a period (value x quota.uses), so statements stay exact", async () => {
    const m = await merchantWith({});
    const tooMuch = { name: "big", value: 999_999_999_999, unlock: {}, quota: { uses: 1000, per: "year" } };
    const refused = await call("PUT", "/v1/perks/big", { token: m.admin, body: tooMuch });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body.code).toBe("unprocessable");
    expect(refused.body.errors.map((e: { path: string }) => e.path)).toEqual(["value", "quota.uses"]);
    expect((await call("GET", "/v1/perks", { token: m.read })).body.data).toEqual([]);
    // Exactly the bound is accepted, ten times over: the statement adds them up exactly.
    const uses = 1000;
    for (let i = 0; i < 10; i++)
      await putPerk(m, `max${i}`, { value: MAX_PERK_WORTH / uses, unlock: {}, quota: { uses, per: "year" } });
    await enrol(m, "rich");
    const cost = await call("GET", "/v1/members/rich/switching-cost", { token: m.read });
    expect(cost.status, cost.text).toBe(200);
    expect(cost.body.components.find((c: { kind: string }) => c.kind === "perks").value).toBe(10 * MAX_PERK_WORTH);
    expect(cost.body.total).toBe(10 * MAX_PERK_WORTH);
  });
});

describe("unlock conditions at their edges", () => {
  it("tenure counts local days: enrolled at 23:59 in Shanghai, one day old at 00:00 the next local day", async () => {
    const m = await merchantWith({});
    await putPerk(m, "anniversary", { unlock: { tenureDays: 1 } });
    setClock(Date.parse("2026-03-01T15:59:00.000Z")); // 23:59 on 1 March, local
    await enrol(m, "newcomer");
    setClock(Date.parse("2026-03-01T15:59:59.000Z"));
    expect((await perksOf(m, "newcomer")).get("anniversary")).toMatchObject({
      unlocked: false,
      progress: [{ condition: "tenureDays", required: 1, current: 0, met: false }],
    });
    setClock(Date.parse("2026-03-01T16:00:00.000Z")); // 00:00 on 2 March, local (UTC still 1 March)
    expect((await perksOf(m, "newcomer")).get("anniversary")).toMatchObject({ unlocked: true });
  });

  it("tier: the named tier or higher; lifetime spend is net of refunds", async () => {
    const m = await merchantWith({});
    await call("PUT", "/v1/tiers", {
      token: m.admin,
      body: {
        metric: "spend",
        window: { kind: "calendar_year" },
        tiers: [
          { id: "member", name: "Member", threshold: 0 },
          { id: "gold", name: "Gold", threshold: 50_000 },
          { id: "black", name: "Black", threshold: 90_000 },
        ],
      },
    });
    await putPerk(m, "lounge", { unlock: { tier: "gold" } });
    await putPerk(m, "gift", { unlock: { lifetimeSpend: 80_000 } });
    const big = await order(m, "buyer", 100_000);
    let perks = await perksOf(m, "buyer");
    expect(perks.get("lounge")).toMatchObject({
      unlocked: true,
      progress: [{ condition: "tier", required: "gold", current: "black" }],
    });
    expect(perks.get("gift")).toMatchObject({ unlocked: true });
    expect((await refund(m, big.body.orderId, { amount: 30_000 })).status).toBe(201);
    perks = await perksOf(m, "buyer");
    expect(perks.get("gift")).toMatchObject({
      unlocked: false,
      progress: [{ condition: "lifetimeSpend", required: 80_000, current: 70_000, met: false }],
    });
    // Tiers move down only at review: the lounge stays.
    expect(perks.get("lounge").unlocked).toBe(true);
  });

  it("a streak of months crosses the year end, in local months", async () => {
    const m = await merchantWith({});
    await putPerk(m, "loyal", { unlock: { streakMonths: 3 } });
    setClock(Date.parse("2027-01-10T04:00:00.000Z"));
    await order(m, "regular", 1000, "2026-11-15T04:00:00.000Z");
    // 00:30 on 1 December local is still 30 November in UTC: it counts for December.
    await order(m, "regular", 1000, "2026-11-30T16:30:00.000Z");
    expect((await perksOf(m, "regular")).get("loyal").progress[0]).toMatchObject({ current: 2, met: false });
    await order(m, "regular", 1000);
    expect((await perksOf(m, "regular")).get("loyal")).toMatchObject({ unlocked: true, progress: [{ current: 3 }] });
  });
});

describe("uses", () => {
  it("20 parallel uses against a quota of 2: exactly 2 succeed, the rest are 409, nothing more is written", async () => {
    const m = await merchantWith({});
    await putPerk(m, "delivery", { quota: { uses: 2, per: "month" } });
    await enrol(m, "busy");
    const replies = await Promise.all(Array.from({ length: 20 }, () => use(m, "busy", "delivery")));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(2);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(18);
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM perk_uses WHERE merchant_id = ?")
      .bind(m.id)
      .first<{ n: number }>())!;
    expect(n).toBe(2);
    expect((await perksOf(m, "busy")).get("delivery").usesLeft).toBe(0);
  });

  it("a locked perk is 409; an admin reverses a use and it counts no more; a retried use writes once", async () => {
    const m = await merchantWith({});
    await putPerk(m, "vip", { unlock: { lifetimeSpend: 10_000 }, quota: { uses: 1, per: "year" } });
    await enrol(m, "u1");
    const locked = await use(m, "u1", "vip");
    expect(locked.status).toBe(409);
    expect(locked.body.detail).toContain("locked");
    await order(m, "u1", 10_000);
    const key = uid("k");
    const first = await call("POST", "/v1/members/u1/perks/vip/uses", { token: m.checkout, idempotencyKey: key });
    expect(first.status, first.text).toBe(201);
    expect(first.body.usesLeft).toBe(0);
    const again = await call("POST", "/v1/members/u1/perks/vip/uses", { token: m.checkout, idempotencyKey: key });
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await use(m, "u1", "vip")).status).toBe(409);
    const reversed = await call("POST", `/v1/members/u1/perks/vip/uses/${first.body.id}/reverse`, {
      token: m.admin,
      body: { reason: "rang twice" },
    });
    expect(reversed.status, reversed.text).toBe(200);
    expect(reversed.body.reversedAt).not.toBeNull();
    expect((await perksOf(m, "u1")).get("vip").usesLeft).toBe(1);
    expect((await use(m, "u1", "vip")).status).toBe(201);
    const unknown = await call("POST", "/v1/members/u1/perks/vip/uses/pu_nope/reverse", {
      token: m.admin,
      body: { reason: "x" },
    });
    expect(unknown.status).toBe(404);
  });
});

describe("a perk redefined while it is used", () => {
  /** A use whose batch meets `change` committed just before it (another admin request). */
  const useMeeting = async (m: TestMerchant, memberId: string, perkId: string, change: () => Promise<unknown>) => {
    let injected = false;
    const racing = beforeBatch(env.DB, async (statements) => {
      if (injected || !statements.some((s) => sqlOf(s).includes("INSERT INTO perk_uses"))) return;
      injected = true;
      await change();
    });
    const response = await sendThrough(
      racing,
      new Request(`http://engine.test/v1/members/${memberId}/perks/${perkId}/uses`, {
        method: "POST",
        headers: { authorization: `Bearer ${m.checkout}`, "idempotency-key": uid("k") },
      }),
    );
    expect(injected).toBe(true);
    return { status: response.status, body: (await response.json()) as { detail?: string } };
  };
  const usesOf = async (m: TestMerchant) =>
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM perk_uses WHERE merchant_id = ?1").bind(m.id).first<{ n: number }>())?.n;

  it("a quota lowered meanwhile is the one the use is checked against", async () => {
    const m = await merchantWith({});
    await putPerk(m, "delivery", { quota: { uses: 2, per: "month" } });
    await enrol(m, "busy");
    expect((await use(m, "busy", "delivery")).status).toBe(201);
    const used = await useMeeting(m, "busy", "delivery", () => putPerk(m, "delivery", { quota: { uses: 1, per: "month" } }));
    expect([used.status, used.body.detail]).toEqual([409, expect.stringContaining("no use left")]);
    expect(await usesOf(m)).toBe(1);
  });

  it("unlock conditions raised meanwhile lock the perk for the use", async () => {
    const m = await merchantWith({});
    await putPerk(m, "vip", { unlock: { lifetimeSpend: 10_000 } });
    await order(m, "spender", 10_000);
    const used = await useMeeting(m, "spender", "vip", () => putPerk(m, "vip", { unlock: { lifetimeSpend: 50_000 } }));
    expect([used.status, used.body.detail]).toEqual([409, expect.stringContaining("locked")]);
    expect(await usesOf(m)).toBe(0);
  });
});

describe("lapses", () => {
  it("a refund committed between a use's read and its write makes the use be decided again: locked, 409", async () => {
    const m = await merchantWith({});
    await putPerk(m, "gold", { unlock: { lifetimeSpend: 10_000 } });
    await order(m, "race", 5_000);
    await postOrder(m, { orderId: "race-big", memberId: "race", amount: 10_000 });
    // The use reads 15,000 of lifetime spend (unlocked); before its batch runs, a refund of 10,000 commits
    // through the Worker and leaves 5,000 (locked).
    let injected = false;
    const racing = beforeBatch(env.DB, async (statements) => {
      if (injected || !statements.some((s) => sqlOf(s).includes("INSERT INTO perk_uses"))) return;
      injected = true;
      const r = await refund(m, "race-big");
      expect(r.status, r.text).toBe(201);
    });
    const response = await sendThrough(
      racing,
      new Request("http://engine.test/v1/members/race/perks/gold/uses", {
        method: "POST",
        headers: { authorization: `Bearer ${m.checkout}`, "idempotency-key": uid("k") },
      }),
    );
    const body = (await response.json()) as { detail?: string };
    expect(injected).toBe(true);
    expect(response.status, JSON.stringify(body)).toBe(409);
    expect(body.detail).toContain("locked");
    const uses = await env.DB.prepare("SELECT COUNT(*) AS n FROM perk_uses WHERE merchant_id = ?1")
      .bind(m.id)
      .first<{ n: number }>();
    expect(uses?.n).toBe(0);
  });

  it("locks after N days without an order, recorded by the job; the streak starts over after it", async () => {
    const m = await merchantWith({});
    await putPerk(m, "club", { unlock: { streakMonths: 1 }, lapseAfterInactiveDays: 10 });
    setClock(Date.parse("2026-06-05T04:00:00.000Z"));
    await order(m, "drifter", 1000);
    expect((await perksOf(m, "drifter")).get("club")).toMatchObject({ unlocked: true, lapsesAt: "2026-06-15T16:00:00.000Z" });
    // Day 10 after the order (local) still holds; the job finds nothing.
    setClock(Date.parse("2026-06-15T15:59:00.000Z"));
    expect((await runFor(m, "perk-lapse")).body.processed).toBe(0);
    setClock(Date.parse("2026-06-15T16:00:00.000Z"));
    const run = await runFor(m, "perk-lapse");
    expect(run.body).toMatchObject({ status: "succeeded", processed: 1 });
    expect((await runFor(m, "perk-lapse")).body.processed).toBe(0);
    const events = await eventsOf(m);
    expect(events.map((e) => e.kind)).toEqual(["unlocked", "lapsed"]);
    expect(events[1]).toMatchObject({ reason: "no order for 10 days", at: Date.parse("2026-06-15T16:00:00.000Z") });
    // An order in the same month: the streak counts only months after the lapse, so June no longer does.
    setClock(Date.parse("2026-06-20T04:00:00.000Z"));
    await order(m, "drifter", 1000);
    expect((await perksOf(m, "drifter")).get("club")).toMatchObject({
      unlocked: false,
      lapsed: false,
      progress: [{ current: 0 }],
    });
    // July counts once the member orders in it, with no gap of more than 10 days since.
    setClock(Date.parse("2026-06-28T04:00:00.000Z"));
    await order(m, "drifter", 1000);
    setClock(Date.parse("2026-07-02T04:00:00.000Z"));
    await order(m, "drifter", 1000);
    expect((await perksOf(m, "drifter")).get("club")).toMatchObject({ unlocked: true });
  });

  it("a lapse nobody observed before the member's next order still starts the streak over", async () => {
    const m = await merchantWith({});
    await putPerk(m, "club", { unlock: { streakMonths: 1 }, lapseAfterInactiveDays: 10 });
    await putPerk(m, "lounge", { unlock: {}, lapseAfterInactiveDays: 10 });
    setClock(Date.parse("2026-06-05T04:00:00.000Z"));
    await order(m, "returner", 1000);
    expect((await perksOf(m, "returner")).get("club")).toMatchObject({ unlocked: true });
    // Both perks lapse at 00:00 on 16 June (local); no read, use or job sees it before the next order.
    setClock(Date.parse("2026-06-20T04:00:00.000Z"));
    await order(m, "returner", 1000);
    const perks = await perksOf(m, "returner");
    expect(perks.get("club")).toMatchObject({ unlocked: false, lapsed: false, progress: [{ current: 0 }] });
    expect(perks.get("lounge")).toMatchObject({ unlocked: true, lapsed: false });
    const events = await eventsOf(m);
    // The lapse is recorded at the instant it happened; unlocks at the read that saw them.
    const lapse = Date.parse("2026-06-15T16:00:00.000Z");
    expect(events.map((e) => [e.perkId, e.kind, e.kind === "lapsed" ? e.at : "read"])).toEqual([
      ["club", "unlocked", "read"],
      ["club", "lapsed", lapse],
      ["lounge", "unlocked", "read"],
      ["lounge", "lapsed", lapse],
      ["lounge", "unlocked", "read"],
    ]);
    // Recorded once: a later read writes nothing more.
    await perksOf(m, "returner");
    expect(await eventsOf(m)).toHaveLength(5);
  });

  it("a gap of exactly N empty days lapses; one day fewer does not", async () => {
    const m = await merchantWith({});
    await putPerk(m, "club", { unlock: { streakMonths: 1 }, lapseAfterInactiveDays: 3 });
    setClock(Date.parse("2026-06-01T04:00:00.000Z"));
    await order(m, "steady", 1000);
    await order(m, "gapped", 1000);
    // steady: 2 and 3 June empty, back on the 4th (local 12:00): the lapse would come at 00:00 on the 5th.
    setClock(Date.parse("2026-06-04T04:00:00.000Z"));
    await order(m, "steady", 1000);
    // gapped: 2, 3, 4 June empty, lapsed at 00:00 on the 5th, back that day.
    setClock(Date.parse("2026-06-05T04:00:00.000Z"));
    await order(m, "gapped", 1000);
    expect((await perksOf(m, "steady")).get("club")).toMatchObject({ unlocked: true });
    expect((await perksOf(m, "gapped")).get("club")).toMatchObject({ unlocked: false, progress: [{ current: 0 }] });
  });

  it("a gap that starts before the streak's span is measured from the member's last order before it, not enrolment", async () => {
    const m = await merchantWith({});
    await putPerk(m, "lounge", { unlock: {}, lapseAfterInactiveDays: 10 });
    setClock(Date.parse("2019-12-01T04:00:00.000Z"));
    await enrol(m, "longgone");
    setClock(Date.parse("2020-01-01T04:00:00.000Z"));
    await order(m, "longgone", 1000);
    // More than 60 months later: the 2020 order is outside the month rows a streak is read from.
    setClock(Date.parse("2026-06-10T04:00:00.000Z"));
    await order(m, "longgone", 1000);
    expect((await perksOf(m, "longgone")).get("lounge")).toMatchObject({ unlocked: true });
    const events = await eventsOf(m);
    expect(events.map((e) => e.kind)).toEqual(["lapsed", "unlocked"]);
    expect(events[0]?.at).toBe(Date.parse("2020-01-11T16:00:00.000Z"));
  });

  it("an order posted late that fills the gap takes back a lapse a read had recorded: same order days, same perk", async () => {
    const m = await merchantWith({});
    await putPerk(m, "club", { unlock: { streakMonths: 2 }, lapseAfterInactiveDays: 30 });
    // Two members with the same orders: 20 January, 10 February, and a sale of 5 March posted late on 14 March.
    for (const who of ["seen", "quiet"]) {
      setClock(Date.parse("2026-01-20T04:00:00.000Z"));
      await order(m, who, 1000);
      setClock(Date.parse("2026-02-10T04:00:00.000Z"));
      await order(m, who, 1000);
      expect((await perksOf(m, who)).get("club")).toMatchObject({ unlocked: true });
    }
    // 00:00 on 13 March (local) the gap is a lapse; a read on 14 March sees it for "seen" only, and records it.
    setClock(Date.parse("2026-03-14T04:00:00.000Z"));
    expect((await perksOf(m, "seen")).get("club")).toMatchObject({ unlocked: false, lapsed: true });
    for (const who of ["seen", "quiet"]) await order(m, who, 1000, "2026-03-05T04:00:00.000Z");
    // Neither member went 30 days without an order: a streak of 3 (January to March) and the perk, for both.
    for (const who of ["quiet", "seen"])
      expect((await perksOf(m, who)).get("club"), who).toMatchObject({
        unlocked: true,
        lapsed: false,
        progress: [{ current: 3 }],
      });
    expect((await use(m, "seen", "club")).status).toBe(201);
    // The history keeps what was seen: the lapse, then the unlock that followed the late order.
    const seen = (await eventsOf(m)).filter((e) => e.perkId === "club").map((e) => e.kind);
    expect(seen).toEqual(["unlocked", "unlocked", "lapsed", "unlocked"]);
  });

  it("fully refunded orders do not keep a perk alive; the job records the lapse from the last order that stands", async () => {
    const m = await merchantWith({});
    await putPerk(m, "lounge", { unlock: {}, lapseAfterInactiveDays: 10 });
    setClock(Date.parse("2026-06-05T04:00:00.000Z"));
    await order(m, "refunder", 1000);
    expect((await perksOf(m, "refunder")).get("lounge")).toMatchObject({ lapsesAt: "2026-06-15T16:00:00.000Z" });
    setClock(Date.parse("2026-06-12T04:00:00.000Z"));
    await postOrder(m, { orderId: "refunded-later", memberId: "refunder", amount: 3000 });
    expect((await perksOf(m, "refunder")).get("lounge")).toMatchObject({ lapsesAt: "2026-06-22T16:00:00.000Z" });
    const r = await refund(m, "refunded-later");
    expect(r.status, r.text).toBe(201);
    // The refund took the 12 June order back whole: the perk lapses 10 days after 5 June again.
    expect((await perksOf(m, "refunder")).get("lounge")).toMatchObject({ lapsesAt: "2026-06-15T16:00:00.000Z" });
    setClock(Date.parse("2026-06-16T04:00:00.000Z"));
    const run = await runFor(m, "perk-lapse");
    expect(run.body).toMatchObject({ status: "succeeded", processed: 1 });
    expect((await perksOf(m, "refunder")).get("lounge")).toMatchObject({ unlocked: false, lapsed: true });
  });

  it("the member API shows the token's perks", async () => {
    const m = await merchantWith({});
    await putPerk(m, "welcome", {});
    await enrol(m, "me");
    const token = await call("POST", "/v1/members/me/tokens", { token: m.admin, idempotencyKey: uid("k"), body: {} });
    const mine = await call("GET", "/v1/me/perks", { token: token.body.token });
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body.data).toEqual([expect.objectContaining({ perkId: "welcome", unlocked: true, usesLeft: null })]);
  });
});

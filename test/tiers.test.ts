/**
 * Frequent-buyer tiers through the Worker: qualification windows in the merchant's timezone, instant
 * upgrades, reviewed downgrades, manual status, ladder changes, and the errors other engines make.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { activityKeys } from "../src/activity/periods";
import { activitySql } from "../src/activity/statements";
import { DAY_MS, resetClock, setClock } from "../src/platform/clock";
import { prepare, sql } from "../src/platform/d1/sql";
import { windowStartKey } from "../src/tiers/ladder";
import { type LadderRow, ladderFromRow, ladderQuery } from "../src/tiers/ladder-row";
import { upgradeSql } from "../src/tiers/order-statements";
import { call, member, postOrder, type TestMerchant, uid } from "./support/api";
import { beforeBatch, sendThrough } from "./support/d1-faults";
import { merchantWith, refund, runFor } from "./support/flows";

afterEach(() => resetClock());

/** A ladder on spend (minor units): member 0, silver 1000.00, gold 5000.00, platinum 20000.00. */
const LADDER = {
  metric: "spend",
  window: { kind: "calendar_year" },
  tiers: [
    { id: "member", name: "Member", threshold: 0 },
    { id: "silver", name: "Silver", threshold: 100_000, earnMultiplier: 1.5 },
    { id: "gold", name: "Gold", threshold: 500_000, earnMultiplier: 2 },
    { id: "platinum", name: "Platinum", threshold: 2_000_000, earnMultiplier: 3 },
  ],
};

async function withLadder(ladder: Record<string, unknown> = {}, timezone = "Asia/Shanghai"): Promise<TestMerchant> {
  const m = await merchantWith({}, timezone);
  const r = await call("PUT", "/v1/tiers", { token: m.admin, body: { ...LADDER, ...ladder } });
  expect(r.status, r.text).toBe(200);
  return m;
}

const tierOf = async (m: TestMerchant, memberId: string) => {
  const r = await call("GET", `/v1/members/${memberId}/tier`, { token: m.admin });
  expect(r.status, r.text).toBe(200);
  return r.body;
};
const historyOf = async (m: TestMerchant, memberId: string) => {
  const r = await call("GET", `/v1/members/${memberId}/tier/history`, { token: m.admin });
  expect(r.status, r.text).toBe(200);
  return r.body.data as { from: string | null; to: string; reason: string; detail: string }[];
};
const order = (m: TestMerchant, memberId: string, amount: number, extra: Record<string, unknown> = {}) =>
  postOrder(m, { orderId: uid("o"), memberId, amount, ...extra });

const rolling = { window: { kind: "rolling_days", days: 30 } };

/** A 30-day rolling ladder and member `keeper` at silver: 600.00 on 1 March and 600.00 on 20 March, held through 19 April. */
async function rollingKeeper(): Promise<TestMerchant> {
  setClock(Date.parse("2026-03-01T04:00:00.000Z"));
  const m = await withLadder(rolling);
  await order(m, "keeper", 60_000);
  setClock(Date.parse("2026-03-20T04:00:00.000Z"));
  await order(m, "keeper", 60_000);
  return m;
}

describe("tier placement at checkout", () => {
  it("a first order lands in the lowest tier, not the second (threshold 0 is the floor, not a step)", async () => {
    const m = await withLadder();
    const r = await order(m, "newbie", 100);
    expect(r.status, r.text).toBe(201);
    expect(r.body.member.tier).toEqual({ id: "member", name: "Member" });
    expect((await tierOf(m, "newbie")).current.id).toBe("member");
  });

  it("a ladder of one tier places every order in it (no empty rank expression in the order's batch)", async () => {
    const m = await withLadder({ tiers: [{ id: "member", name: "Member", threshold: 0 }] });
    const r = await order(m, "solo", 50_000);
    expect(r.status, r.text).toBe(201);
    expect(r.body.member.tier).toEqual({ id: "member", name: "Member" });
    expect((await tierOf(m, "solo")).next).toBeNull();
  });

  it("an enrolled member with no order already shows the lowest tier", async () => {
    const m = await withLadder();
    const r = await call("PUT", "/v1/members/quiet", { token: m.admin, body: {} });
    expect(r.status, r.text).toBe(201);
    expect(r.body.tier).toEqual({ id: "member", name: "Member" });
  });

  it("one order can jump several tiers, and it earns at the old rate by default", async () => {
    const m = await withLadder();
    const r = await order(m, "whale", 600_000);
    expect(r.status, r.text).toBe(201);
    // 1 point per 1.00 at the member tier's 1x: 6000, not gold's 12000.
    expect(r.body.pointsEarned).toBe(6000);
    expect(r.body.member.tier.id).toBe("gold");
    const history = await historyOf(m, "whale");
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ from: "member", to: "gold", reason: "upgrade" });
    expect(history[0]?.detail).toContain("took spend in the window to 600000");
    // The next order earns at gold's 2x.
    expect((await order(m, "whale", 10_000)).body.pointsEarned).toBe(200);
  });

  it("upgradeAppliesToQualifyingOrder pays the qualifying order at the new tier's rate", async () => {
    const m = await withLadder({ upgradeAppliesToQualifyingOrder: true });
    const r = await order(m, "eager", 600_000);
    expect(r.body.member.tier.id).toBe("gold");
    expect(r.body.pointsEarned).toBe(12_000);
  });

  it("points means points earned in the window, never the balance", async () => {
    const m = await withLadder({
      metric: "points",
      tiers: [
        { id: "member", name: "Member", threshold: 0 },
        { id: "silver", name: "Silver", threshold: 1000 },
      ],
    });
    await order(m, "spender", 60_000);
    // Spending every point does not lower what was earned.
    const spend = await call("POST", "/v1/redemptions", {
      token: m.checkout,
      idempotencyKey: uid("k"),
      body: { memberId: "spender", points: 600 },
    });
    expect(spend.status, spend.text).toBe(201);
    const r = await order(m, "spender", 40_000);
    expect(r.body.member.balance).toBe(400);
    expect(r.body.member.tier.id).toBe("silver");
    expect((await tierOf(m, "spender")).progress).toEqual({ metric: "points", value: 1000, threshold: 1000, remaining: 0 });
  });

  it("orders counts orders in the window", async () => {
    const m = await withLadder({
      metric: "orders",
      tiers: [
        { id: "member", name: "Member", threshold: 0 },
        { id: "regular", name: "Regular", threshold: 3 },
      ],
    });
    for (let i = 0; i < 2; i++) await order(m, "often", 100);
    expect((await member(m, "often")).tier.id).toBe("member");
    expect((await order(m, "often", 100)).body.member.tier.id).toBe("regular");
  });
});

describe("qualification windows in the merchant's timezone", () => {
  it("calendar year: 23:59 local on 31 December counts in the old year, 00:01 on 1 January in the new one", async () => {
    // 2026-12-31T16:01Z is 00:01 on 1 January 2027 in Shanghai, while UTC is still 31 December.
    setClock(Date.parse("2026-12-31T16:01:00.000Z"));
    const m = await withLadder();
    await order(m, "edge", 90_000, { occurredAt: "2026-12-31T15:59:00.000Z" }); // 23:59 local, 2026
    const r = await order(m, "edge", 20_000, { occurredAt: "2026-12-31T16:01:00.000Z" }); // 00:01 local, 2027
    // Only the 2027 order counts in today's window: 200.00 is below silver.
    expect(r.body.member.tier.id).toBe("member");
    const status = await tierOf(m, "edge");
    expect(status.window.from).toBe("2027-01-01");
    expect(status.progress.value).toBe(20_000);
  });

  it("rolling window: spend older than the window stops counting, and status earned holds one window", async () => {
    setClock(Date.parse("2026-03-01T04:00:00.000Z"));
    const m = await withLadder({ window: { kind: "rolling_days", days: 30 } });
    await order(m, "roller", 100_000);
    const first = await tierOf(m, "roller");
    expect(first.current.id).toBe("silver");
    // Earned on 1 March (local): holds through 31 March, lapses at the start of 1 April local.
    expect(first.qualifiedUntil).toBe("2026-03-31T16:00:00.000Z");
    setClock(Date.parse("2026-03-31T04:00:00.000Z"));
    const later = await tierOf(m, "roller");
    expect(later.progress.value).toBe(0);
    expect(later.current.id).toBe("silver");
    expect(later.retain).toEqual({ threshold: 100_000, remaining: 100_000, by: "2026-03-31T16:00:00.000Z" });
  });
});

describe("downgrades only at review", () => {
  it("a refund after an upgrade lowers the metric but keeps the tier until the review", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    const big = await order(m, "refunder", 150_000);
    expect(big.body.member.tier.id).toBe("silver");
    expect((await refund(m, big.body.orderId)).status).toBe(201);
    const status = await tierOf(m, "refunder");
    expect(status.current.id).toBe("silver");
    expect(status.progress.value).toBe(0);
    // The review before the lapse changes nothing.
    const run = await runFor(m, "tier-review");
    expect(run.body).toMatchObject({ status: "succeeded", changed: 0 });
    expect((await tierOf(m, "refunder")).current.id).toBe("silver");
  });

  it("a lapsed status moves down one step at review, after the grace days, with the reason recorded", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder({ downgrade: { graceDays: 10, steps: 1 } });
    await order(m, "lapser", 2_100_000);
    expect((await member(m, "lapser")).tier.id).toBe("platinum");
    // Earned in 2026: holds until the end of 2027 (local), lapses at 2027-12-31T16:00Z.
    expect((await tierOf(m, "lapser")).qualifiedUntil).toBe("2027-12-31T16:00:00.000Z");
    // Inside the grace days: nothing moves.
    setClock(Date.parse("2028-01-05T04:00:00.000Z"));
    expect((await runFor(m, "tier-review")).body.changed).toBe(0);
    expect((await member(m, "lapser")).tier.id).toBe("platinum");
    // After the grace days: down one step only, though the metric reaches nothing.
    setClock(Date.parse("2028-01-12T04:00:00.000Z"));
    const run = await runFor(m, "tier-review");
    expect(run.body).toMatchObject({ status: "succeeded", changed: 1 });
    expect((await member(m, "lapser")).tier.id).toBe("gold");
    const [change] = await historyOf(m, "lapser");
    expect(change).toMatchObject({ from: "platinum", to: "gold", reason: "review" });
    expect(change?.detail).toContain("status lapsed on 2027-12-31");
    // Running again changes nothing twice: the landing holds until the end of 2028.
    expect((await runFor(m, "tier-review")).body.changed).toBe(0);
    expect((await tierOf(m, "lapser")).qualifiedUntil).toBe("2028-12-31T16:00:00.000Z");
  });

  it("a review that did not run for 10 days catches up, and judges the window that ended at the lapse", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder({ downgrade: { graceDays: 0, steps: 3 } });
    await order(m, "late", 2_100_000); // platinum in 2026
    setClock(Date.parse("2027-06-01T04:00:00.000Z"));
    await order(m, "late", 120_000); // 2027 reaches silver only
    setClock(Date.parse("2028-01-11T04:00:00.000Z")); // lapsed on 1 January 2028 local; no review ran since
    const run = await runFor(m, "tier-review");
    expect(run.body.changed).toBe(1);
    // steps 3 would allow the lowest tier, but 2027's spend still reaches silver.
    expect((await member(m, "late")).tier.id).toBe("silver");
  });

  it("repeated and overlapping review runs change each member once", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    for (let i = 0; i < 5; i++) await order(m, `crowd-${i}`, 600_000);
    setClock(Date.parse("2028-01-02T04:00:00.000Z"));
    const runs = await Promise.all([1, 2, 3, 4].map(() => runFor(m, "tier-review")));
    expect(runs.reduce((sum, r) => sum + r.body.changed, 0)).toBe(5);
    for (let i = 0; i < 5; i++) {
      expect((await member(m, `crowd-${i}`)).tier.id).toBe("silver");
      expect((await historyOf(m, `crowd-${i}`)).filter((h) => h.reason === "review")).toHaveLength(1);
    }
  });
});

describe("manual status", () => {
  it("holds until `until`, then returns the member to what the metric earns (never a floor)", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    await order(m, "vip", 120_000); // silver by metric
    const assigned = await call("PUT", "/v1/members/vip/tier", {
      token: m.admin,
      body: { tierId: "platinum", reason: "celebrity guest", until: "2026-06-01T00:00:00.000Z" },
    });
    expect(assigned.status, assigned.text).toBe(200);
    expect(assigned.body.current.id).toBe("platinum");
    expect(assigned.body.manual).toEqual({ until: "2026-06-01T00:00:00.000Z" });
    expect(assigned.body.retain.by).toBe("2026-06-01T00:00:00.000Z");
    expect((await historyOf(m, "vip"))[0]).toMatchObject({ from: "silver", to: "platinum", reason: "manual" });
    setClock(Date.parse("2026-06-01T00:00:01.000Z"));
    const run = await runFor(m, "tier-review");
    expect(run.body.changed).toBe(1);
    const after = await tierOf(m, "vip");
    expect(after.current.id).toBe("silver");
    expect(after.manual).toBeNull();
    expect((await historyOf(m, "vip"))[0]).toMatchObject({ from: "platinum", to: "silver", reason: "review" });
  });

  it("refuses, with nothing written, a manual tier whose id leaves the ladder between the check and the write", async () => {
    const m = await withLadder();
    await order(m, "racer", 100);
    // A ladder change dropping gold lands after the request checked gold against the ladder, before its write.
    const racing = beforeBatch(env.DB, () =>
      env.DB.prepare("DELETE FROM tiers WHERE merchant_id = ? AND id = 'gold'").bind(m.id).run(),
    );
    const response = await sendThrough(
      racing,
      new Request("http://engine.test/v1/members/racer/tier", {
        method: "PUT",
        headers: { authorization: `Bearer ${m.admin}`, "content-type": "application/json" },
        body: JSON.stringify({ tierId: "gold", reason: "race" }),
      }),
    );
    expect(response.status, await response.text()).toBe(409);
    const row = await env.DB.prepare(
      "SELECT tier_id AS tier, tier_manual AS manual FROM members WHERE merchant_id = ? AND id = 'racer'",
    )
      .bind(m.id)
      .first<{ tier: string | null; manual: number }>();
    expect(row).toMatchObject({ manual: 0 });
    expect(row?.tier).not.toBe("gold");
  });

  it("refuses a tier outside the ladder and an end in the past, naming the field", async () => {
    const m = await withLadder();
    await order(m, "x", 100);
    const unknown = await call("PUT", "/v1/members/x/tier", { token: m.admin, body: { tierId: "diamond", reason: "r" } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].path).toBe("tierId");
    const past = await call("PUT", "/v1/members/x/tier", {
      token: m.admin,
      body: { tierId: "gold", reason: "r", until: "2001-01-01T00:00:00Z" },
    });
    expect(past.status).toBe(422);
    expect(past.body.errors[0].path).toBe("until");
    const missing = await call("PUT", "/v1/members/nobody/tier", { token: m.admin, body: { tierId: "gold", reason: "r" } });
    expect(missing.status).toBe(404);
  });
});

describe("the ladder", () => {
  it("refuses a lowest tier above 0, unsorted thresholds and duplicate ids, naming each field", async () => {
    const m = await merchantWith({});
    const r = await call("PUT", "/v1/tiers", {
      token: m.admin,
      body: {
        ...LADDER,
        tiers: [
          { id: "a", name: "A", threshold: 10 },
          { id: "b", name: "B", threshold: 5 },
          { id: "a", name: "C", threshold: 50 },
        ],
      },
    });
    expect(r.status).toBe(400);
    const paths = r.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["tiers.0.threshold", "tiers.1.threshold", "tiers.2.id"]));
    expect((await call("GET", "/v1/tiers", { token: m.admin })).status).toBe(404);
  });

  it("preview counts members per tier and who moves, and writes nothing", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    await order(m, "p1", 50_000);
    await order(m, "p2", 150_000);
    await order(m, "p3", 600_000);
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM tier_history WHERE merchant_id = ?").bind(m.id).first();
    const draft = {
      ...LADDER,
      tiers: LADDER.tiers.map((t) =>
        t.id === "silver" ? { ...t, threshold: 40_000 } : t.id === "gold" ? { ...t, threshold: 700_000 } : t,
      ),
    };
    const r = await call("POST", "/v1/tiers/preview", { token: m.admin, body: draft });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ members: 3, movesUp: 1, movesDown: 1 });
    expect(r.body.tiers.map((t: { members: number }) => t.members)).toEqual([0, 3, 0, 0]);
    expect((await call("GET", "/v1/tiers", { token: m.admin })).body.tiers[1].threshold).toBe(100_000);
    expect((await member(m, "p3")).tier.id).toBe("gold");
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM tier_history WHERE merchant_id = ?").bind(m.id).first();
    expect(after).toEqual(before);
  });

  it("a ladder change re-places members by the new thresholds with ladder_change history", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    await order(m, "q1", 50_000);
    await order(m, "q2", 600_000);
    const draft = {
      ...LADDER,
      tiers: LADDER.tiers.map((t) =>
        t.id === "silver" ? { ...t, threshold: 40_000 } : t.id === "gold" ? { ...t, threshold: 700_000 } : t,
      ),
    };
    const r = await call("PUT", "/v1/tiers", { token: m.admin, body: draft });
    expect(r.status, r.text).toBe(200);
    expect(r.body.version).toBe(2);
    expect(r.body.placement).toEqual({ placed: 2, remaining: 0 });
    expect((await member(m, "q1")).tier.id).toBe("silver");
    expect((await member(m, "q2")).tier.id).toBe("silver");
    expect((await historyOf(m, "q2"))[0]).toMatchObject({ from: "gold", to: "silver", reason: "ladder_change" });
    // Renaming alone makes no new version and moves nobody.
    const renamed = await call("PUT", "/v1/tiers", {
      token: m.admin,
      body: { ...draft, tiers: draft.tiers.map((t) => ({ ...t, name: `${t.name}!` })) },
    });
    expect(renamed.body).toMatchObject({ version: 2, placement: { placed: 0, remaining: 0 } });
    expect((await member(m, "q2")).tier).toEqual({ id: "silver", name: "Silver!" });
  });

  it("a change of the downgrade rules alone re-places nobody: a status still held is not judged again", async () => {
    const m = await rollingKeeper();
    setClock(Date.parse("2026-04-04T04:00:00.000Z"));
    // Re-placing would judge 6 March-4 April and 4 February-5 March, 600.00 each, though the status has two
    // weeks to run under thresholds that do not change.
    const r = await call("PUT", "/v1/tiers", {
      token: m.admin,
      body: { ...LADDER, ...rolling, downgrade: { graceDays: 14, steps: 1 } },
    });
    expect(r.status, r.text).toBe(200);
    expect((await member(m, "keeper")).tier.id).toBe("silver");
    expect(r.body).toMatchObject({ version: 1, downgrade: { graceDays: 14, steps: 1 }, placement: { placed: 0 } });
    expect((await historyOf(m, "keeper")).map((h) => h.reason)).toEqual(["upgrade"]);
  });

  it("a ladder change honours a status that still holds by what it proves, measured by the new thresholds", async () => {
    const m = await rollingKeeper();
    const held = (await tierOf(m, "keeper")).qualifiedUntil;
    setClock(Date.parse("2026-04-04T04:00:00.000Z"));
    // Only platinum moves. The two windows re-placing judges hold 600.00 each; the status proves 1000.00.
    const platinum = LADDER.tiers.map((t) => (t.id === "platinum" ? { ...t, threshold: 3_000_000 } : t));
    const r = await call("PUT", "/v1/tiers", { token: m.admin, body: { ...LADDER, ...rolling, tiers: platinum } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ version: 2, placement: { placed: 1, remaining: 0 } });
    expect(await tierOf(m, "keeper")).toMatchObject({ current: { id: "silver" }, qualifiedUntil: held });
    expect((await historyOf(m, "keeper")).map((h) => h.reason)).toEqual(["upgrade"]);
    // Silver raised past what the status proves: the member is placed by the windows.
    const raised = platinum.map((t) => (t.id === "silver" ? { ...t, threshold: 110_000 } : t));
    const again = await call("PUT", "/v1/tiers", { token: m.admin, body: { ...LADDER, ...rolling, tiers: raised } });
    expect(again.body).toMatchObject({ version: 3, placement: { placed: 1, remaining: 0 } });
    expect((await member(m, "keeper")).tier.id).toBe("member");
    expect((await historyOf(m, "keeper"))[0]).toMatchObject({ from: "silver", to: "member", reason: "ladder_change" });
  });

  it("concurrent ladder changes leave every member placed by the ladder that stands", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    for (const id of ["c1", "c2", "c3"]) await order(m, id, 60_000);
    const low = { ...LADDER, tiers: LADDER.tiers.map((t) => (t.id === "silver" ? { ...t, threshold: 10_000 } : t)) };
    const high = { ...LADDER, tiers: LADDER.tiers.map((t) => (t.id === "silver" ? { ...t, threshold: 90_000 } : t)) };
    const puts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call("PUT", "/v1/tiers", { token: m.admin, body: i % 2 ? high : low })),
    );
    expect(puts.every((r) => r.status === 200)).toBe(true);
    await runFor(m, "tier-review");
    const stands = (await call("GET", "/v1/tiers", { token: m.admin })).body;
    const silver = stands.tiers.find((t: { id: string }) => t.id === "silver").threshold;
    // Each has spent 600.00 this year: silver under the low ladder, the lowest tier under the high one.
    for (const id of ["c1", "c2", "c3"]) expect((await member(m, id)).tier.id).toBe(silver === 10_000 ? "silver" : "member");
  });

  it("an order planned under the old ladder and written after a ladder change is refused, not placed by it", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    await order(m, "stale", 50_000);
    const old = ladderFromRow(await prepare(env.DB, ladderQuery(sql`${m.id}`)).first<LadderRow>());
    if (!old) throw new Error("no ladder");
    // The ladder changes between the order's read and its write: silver now starts at 3000.00.
    const raised = { ...LADDER, tiers: LADDER.tiers.map((t) => (t.id === "silver" ? { ...t, threshold: 300_000 } : t)) };
    expect((await call("PUT", "/v1/tiers", { token: m.admin, body: raised })).body.version).toBe(2);
    // The order's batch as planned under version 1: 500.00 + 800.00 reaches silver there.
    const at = Date.parse("2026-05-10T04:00:00.000Z");
    const startKey = windowStartKey(old, at, "Asia/Shanghai");
    const delta = { spend: 80_000, points: 800, orders: 1 };
    const planned = upgradeSql({
      ladder: old,
      merchantId: m.id,
      memberId: "stale",
      orderId: "o-stale",
      at,
      timezone: "Asia/Shanghai",
      startKey,
      orderDay: activityKeys(at, "Asia/Shanghai").day,
      delta,
      earningRank: 0,
      upgradeExpected: true,
      currentRank: 0,
      reachedRank: 1,
    });
    const batch = [...activitySql(m.id, "stale", at, "Asia/Shanghai", delta), ...planned].map((s) => prepare(env.DB, s));
    // Refused, so the order is planned again under the ladder that stands.
    await expect(env.DB.batch(batch)).rejects.toThrow(/conflict/);
    expect((await member(m, "stale")).tier.id).toBe("member");
  });

  it("tiers are rule conditions and the member API shows the token's tier", async () => {
    const m = await withLadder();
    await call("POST", "/v1/rules", {
      token: m.admin,
      body: { id: "gold-bonus", name: "gold bonus", conditions: { tiers: ["gold"] }, effect: { kind: "fixed", points: 77 } },
    });
    await order(m, "rich", 600_000);
    const next = await order(m, "rich", 100);
    expect(next.body.awards).toEqual(expect.arrayContaining([{ ruleId: "gold-bonus", points: 77, ruleVersion: 1 }]));
    const token = await call("POST", "/v1/members/rich/tokens", { token: m.admin, idempotencyKey: uid("k"), body: {} });
    const me = await call("GET", "/v1/me/tier", { token: token.body.token });
    expect(me.status, me.text).toBe(200);
    expect(me.body).toMatchObject({ memberId: "rich", current: { id: "gold" }, next: { id: "platinum" } });
  });
});

describe("concurrent orders", () => {
  it("parallel orders that cross thresholds upgrade once each step, and each pays at the rank it saw", async () => {
    const m = await withLadder({ upgradeAppliesToQualifyingOrder: true });
    const replies = await Promise.all(Array.from({ length: 10 }, () => order(m, "rush", 60_000)));
    expect(replies.every((r) => r.status === 201)).toBe(true);
    // 600,000 in all: gold. Every upgrade is recorded once, in order, with no step skipped or repeated.
    expect((await member(m, "rush")).tier.id).toBe("gold");
    const history = (await historyOf(m, "rush")).reverse();
    expect(history.map((h) => h.to)).toEqual(["silver", "gold"]);
    expect(history.map((h) => h.from)).toEqual(["member", "silver"]);
    // Each order earned at the rank it reached: below 100,000 1x, then 1.5x, and 2x from 500,000 on.
    const earned = replies.map((r) => r.body.pointsEarned).sort((a, b) => a - b);
    expect(earned).toEqual([600, 900, 900, 900, 900, 900, 900, 900, 1200, 1200].sort((a, b) => a - b));
    const status = await tierOf(m, "rush");
    expect(status.progress.value).toBe(600_000);
  });
});

describe("timekeeping", () => {
  it("a backdated order before the window counts in its own period, not in today's window", async () => {
    setClock(Date.parse("2026-05-10T04:00:00.000Z"));
    const m = await withLadder();
    const r = await order(m, "old", 150_000, { occurredAt: "2025-12-30T04:00:00.000Z" });
    expect(r.status, r.text).toBe(201);
    expect(r.body.member.tier.id).toBe("member");
    expect((await tierOf(m, "old")).progress.value).toBe(0);
    expect(DAY_MS).toBe(86_400_000);
  });
});

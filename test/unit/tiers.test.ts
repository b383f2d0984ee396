/** Tier maths as pure functions: ranks, windows in a timezone, validity, review and ladder placement. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Ladder,
  landingValidUntil,
  rankForValue,
  rankOfTier,
  reviewCutoff,
  statusValidUntil,
  windowEndingAt,
  windowStartKey,
} from "../../src/tiers/ladder";
import { memberTierBody } from "../../src/tiers/member-tier";
import { ladderPlacement, type MemberTierRow, reviewPlacement } from "../../src/tiers/placement";
import { earningRank } from "../../src/tiers/qualifying";
import { propertySeed } from "../support/seeds";

const tier = (id: string, threshold: number, earnMultiplierBps = 10_000) => ({ id, name: id, threshold, earnMultiplierBps });
const LADDER: Ladder = {
  metric: "spend",
  window: { kind: "calendar_year" },
  tiers: [tier("member", 0), tier("silver", 1000), tier("gold", 5000), tier("platinum", 20_000)],
  graceDays: 0,
  downgradeSteps: 1,
  upgradeAppliesToQualifyingOrder: false,
  version: 1,
};
const SH = "Asia/Shanghai";
const row = (over: Partial<MemberTierRow> = {}): MemberTierRow => ({
  id: "m",
  tierId: "gold",
  qualifiedUntil: Date.parse("2027-12-31T16:00:00Z"),
  manual: false,
  manualUntil: null,
  version: 1,
  ...over,
});

describe("ranks", () => {
  it("the threshold itself reaches a tier; 0 is the lowest tier, not the second", () => {
    expect(rankForValue(LADDER, 0)).toBe(0);
    expect(rankForValue(LADDER, 999)).toBe(0);
    expect(rankForValue(LADDER, 1000)).toBe(1);
    expect(rankForValue(LADDER, 1_000_000)).toBe(3);
  });

  it("unknown and missing tier ids are the lowest tier", () => {
    expect(rankOfTier(LADDER, null)).toBe(0);
    expect(rankOfTier(LADDER, "removed")).toBe(0);
    expect(rankOfTier(LADDER, "gold")).toBe(2);
  });
});

describe("windows in the merchant's timezone", () => {
  it("a calendar year starts at local midnight on 1 January, while UTC is still 31 December", () => {
    expect(windowStartKey(LADDER, Date.parse("2026-12-31T15:59:00Z"), SH)).toBe("d2026-01-01");
    expect(windowStartKey(LADDER, Date.parse("2026-12-31T16:01:00Z"), SH)).toBe("d2027-01-01");
  });

  it("a rolling window of N days includes today and N-1 days before", () => {
    const rolling = { window: { kind: "rolling_days", days: 30 } } as const;
    expect(windowStartKey(rolling, Date.parse("2026-03-30T20:00:00Z"), SH)).toBe("d2026-03-02");
    expect(windowEndingAt(rolling, Date.parse("2026-03-31T16:00:00Z"), SH)).toEqual({ from: "d2026-03-02", to: "d2026-04-01" });
  });

  it("status earned in a calendar year holds until the end of the next one, in local time", () => {
    expect(statusValidUntil(LADDER, Date.parse("2026-12-31T15:59:00Z"), SH)).toBe(Date.parse("2027-12-31T16:00:00Z"));
    expect(statusValidUntil(LADDER, Date.parse("2026-12-31T16:01:00Z"), SH)).toBe(Date.parse("2028-12-31T16:00:00Z"));
    expect(landingValidUntil(LADDER, Date.parse("2028-01-12T00:00:00Z"), SH)).toBe(Date.parse("2028-12-31T16:00:00Z"));
  });

  it("grace days are whole local days, exact across a DST change", () => {
    const ny = "America/New_York";
    // Lapse at local midnight 7 March 2027 (EST, UTC-5); DST starts 14 March. Grace 7 days: due from local
    // midnight on 14 March, which is 05:00Z (still EST at midnight).
    const lapse = Date.parse("2027-03-07T05:00:00Z");
    const grace = { graceDays: 7 };
    expect(lapse <= reviewCutoff(grace, Date.parse("2027-03-14T05:00:00Z"), ny)).toBe(true);
    expect(lapse <= reviewCutoff(grace, Date.parse("2027-03-14T04:59:59Z"), ny)).toBe(false);
  });
});

describe("the rank an order earns at", () => {
  it("is the current rank unless the upgrade applies to the qualifying order", () => {
    expect(earningRank(LADDER, 0, 900, () => 10_000)).toBe(0);
    expect(earningRank({ ...LADDER, upgradeAppliesToQualifyingOrder: true }, 0, 900, () => 10_000)).toBe(2);
  });

  it("under the points metric, the richer rate may reach further (a fixed point)", () => {
    const ladder = { ...LADDER, metric: "points" as const, upgradeAppliesToQualifyingOrder: true };
    // 1000 points at 1x reach silver; at silver 5x they are 5000 and reach gold; at gold 25x, platinum.
    const share = (rank: number) => 1000 * 5 ** rank;
    expect(earningRank(ladder, 0, 0, share)).toBe(3);
  });

  it("never goes below the current rank, never past the top (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.nat(50_000),
        fc.nat(50_000),
        fc.boolean(),
        (current, cached, share, applies) => {
          const rank = earningRank({ ...LADDER, upgradeAppliesToQualifyingOrder: applies }, current, cached, () => share);
          return rank >= current && rank <= 3;
        },
      ),
      { seed: propertySeed(9091) },
    );
  });
});

describe("review", () => {
  const at = Date.parse("2028-01-12T04:00:00Z");

  it("moves a lapsed member down by at most the steps, to what the better window reaches", () => {
    expect(reviewPlacement(LADDER, row({ tierId: "platinum" }), { current: 0, previous: 0 }, at, SH).toTier).toBe("gold");
    const three = { ...LADDER, downgradeSteps: 3 };
    expect(reviewPlacement(three, row({ tierId: "platinum" }), { current: 0, previous: 1500 }, at, SH).toTier).toBe("silver");
    expect(reviewPlacement(three, row({ tierId: "platinum" }), { current: 1200, previous: 0 }, at, SH).toTier).toBe("silver");
  });

  it("confirms a member whose metric still reaches the tier, with no change recorded", () => {
    const placement = reviewPlacement(LADDER, row(), { current: 0, previous: 6000 }, at, SH);
    expect(placement).toMatchObject({ toTier: "gold", change: null, qualifiedUntil: Date.parse("2028-12-31T16:00:00Z") });
  });

  it("never moves anyone up, and never more than the steps down (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(30_000),
        fc.nat(30_000),
        (held, steps, current, previous) => {
          const ladder = { ...LADDER, downgradeSteps: steps };
          const placed = reviewPlacement(ladder, row({ tierId: LADDER.tiers[held]?.id ?? null }), { current, previous }, at, SH);
          const rank = rankOfTier(LADDER, placed.toTier);
          return (
            rank <= held && rank >= held - steps && rank >= Math.min(held, rankForValue(LADDER, Math.max(current, previous)))
          );
        },
      ),
      { seed: propertySeed(9092) },
    );
  });

  it("an ended manual tier returns to what the metric earns, in either direction", () => {
    const manual = row({ tierId: "silver", manual: true, manualUntil: at - 1 });
    expect(reviewPlacement(LADDER, manual, { current: 6000, previous: 0 }, at, SH)).toMatchObject({
      toTier: "gold",
      manual: false,
    });
    const high = row({ tierId: "platinum", manual: true, manualUntil: at - 1 });
    expect(reviewPlacement(LADDER, high, { current: 0, previous: 0 }, at, SH)).toMatchObject({
      toTier: "member",
      qualifiedUntil: null,
    });
  });
});

describe("ladder placement", () => {
  it("keeps a manual tier that is still in the ladder and not ended", () => {
    const manual = row({ tierId: "gold", manual: true, manualUntil: null });
    expect(ladderPlacement(LADDER, manual, { current: 0, previous: 0 }, 0, SH)).toMatchObject({
      toTier: "gold",
      manual: true,
      change: null,
    });
    const removed = row({ tierId: "diamond", manual: true, manualUntil: null });
    expect(ladderPlacement(LADDER, removed, { current: 0, previous: 0 }, 0, SH)).toMatchObject({
      toTier: "member",
      manual: false,
    });
  });

  it("a status that holds keeps what its old threshold reaches, up to its tier; never more than the windows or it (property)", () => {
    const at = Date.parse("2026-06-01T00:00:00Z");
    const thresholds = fc.uniqueArray(fc.integer({ min: 1, max: 50_000 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        thresholds,
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.boolean(),
        fc.boolean(),
        fc.nat(4),
        (ts, held, current, previous, holds, keepsTier, heldRank) => {
          const ladder: Ladder = {
            ...LADDER,
            tiers: [tier("t0", 0), ...[...ts].sort((a, b) => a - b).map((t, i) => tier(`t${i + 1}`, t))],
            version: 2,
          };
          // Held: a tier id the new ladder no longer has, or one it keeps (which bounds what the status keeps).
          const kept = ladder.tiers[heldRank % ladder.tiers.length]!;
          const member = row({
            tierId: keepsTier ? kept.id : "old",
            heldThreshold: held,
            qualifiedUntil: holds ? at + 1 : at,
          });
          const placement = ladderPlacement(ladder, member, { current, previous }, at, SH);
          const windows = rankForValue(ladder, Math.max(current, previous));
          const cap = keepsTier ? rankOfTier(ladder, kept.id) : ladder.tiers.length - 1;
          const proven = holds ? Math.min(cap, rankForValue(ladder, held)) : 0;
          expect(rankOfTier(ladder, placement.toTier)).toBe(Math.max(windows, proven));
          // Honoured, not renewed: the status date stays when the old status alone keeps the tier.
          if (proven > windows) expect(placement.qualifiedUntil).toBe(member.qualifiedUntil);
        },
      ),
      { numRuns: 300, seed: propertySeed(20261130) },
    );
  });
});

describe("member tier body", () => {
  it("at the top there is no next tier and nothing remains; the lowest tier has nothing to retain", () => {
    const base = {
      memberId: "m",
      qualifiedUntil: Date.parse("2027-12-31T16:00:00Z"),
      manual: false,
      manualUntil: null,
      windowStartKey: "d2026-01-01",
    };
    const top = memberTierBody(LADDER, { ...base, tierId: "platinum", value: 25_000 });
    expect(top.next).toBeNull();
    expect(top.progress).toEqual({ metric: "spend", value: 25_000, threshold: 20_000, remaining: 0 });
    expect(top.retain).toEqual({ threshold: 20_000, remaining: 0, by: "2027-12-31T16:00:00.000Z" });
    const bottom = memberTierBody(LADDER, { ...base, tierId: null, value: 300, qualifiedUntil: null });
    expect(bottom).toMatchObject({ current: { id: "member" }, next: { id: "silver" }, retain: null, qualifiedUntil: null });
    expect(bottom.progress.remaining).toBe(700);
    expect(bottom.window.from).toBe("2026-01-01");
  });
});

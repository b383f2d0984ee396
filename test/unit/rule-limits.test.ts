import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateRules } from "../../src/earning/evaluate";
import { candidatePeriodKeys, clipToLimits, limitPeriodKey, limitRoom, NO_USAGE } from "../../src/earning/rule-limits";
import type { LimitUsage, Rule } from "../../src/earning/types";

const rule = (id: string, over: Partial<Rule> = {}): Rule => ({
  id,
  name: id,
  active: true,
  priority: 0,
  startsAt: null,
  endsAt: null,
  conditions: {},
  effect: { kind: "per_amount", points: 1, per: 100 },
  exclusive: false,
  limits: null,
  ...over,
});
const member = { tierId: null, previousOrders: 3 };
const at = Date.parse("2026-11-30T15:30:00Z"); // 23:30 on 30 November in Shanghai
const tz = "Asia/Shanghai";

describe("limit periods", () => {
  it("keys a local day, month and year in the merchant's timezone", () => {
    expect(limitPeriodKey(at, "day", tz)).toBe("d2026-11-30");
    expect(limitPeriodKey(at + 3_600_000, "day", tz)).toBe("d2026-12-01");
    expect(limitPeriodKey(at + 3_600_000, "month", tz)).toBe("m2026-12");
    expect(limitPeriodKey(Date.parse("2026-12-31T16:30:00Z"), "year", tz)).toBe("y2027");
  });

  it("the candidate keys read before the timezone is known include the key of every zone", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse("2000-01-01"), max: Date.parse("2090-01-01") }),
        fc.constantFrom("Pacific/Kiritimati", "Etc/GMT+12", "Asia/Shanghai", "America/New_York", "UTC", "Asia/Kathmandu"),
        fc.constantFrom("day" as const, "month" as const, "year" as const),
        (ms, zone, per) => candidatePeriodKeys(ms).includes(limitPeriodKey(ms, per, zone)),
      ),
    );
  });
});

describe("clipping to limits", () => {
  it("never gives more than any limit leaves, and names the limit that bound the award", () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
        fc.nat(6000),
        fc.nat(6000),
        (raw, perOrder, perMember, budget, memberUsed, budgetUsed) => {
          const r = rule("r", {
            limits: {
              ...(perOrder !== undefined && { perOrder }),
              ...(perMember !== undefined && { perMember: { points: perMember, per: "day" as const } }),
              ...(budget !== undefined && { budget }),
            },
          });
          const usage: LimitUsage = {
            budget: new Map([["r", budgetUsed]]),
            member: new Map([["r", new Map([[limitPeriodKey(at, "day", tz), memberUsed]])]]),
          };
          const { points, cut } = clipToLimits(r, raw, limitRoom(r, usage, at, tz));
          expect(points).toBeLessThanOrEqual(raw);
          if (perOrder !== undefined) expect(points).toBeLessThanOrEqual(perOrder);
          if (perMember !== undefined) expect(points).toBeLessThanOrEqual(Math.max(0, perMember - memberUsed));
          if (budget !== undefined) expect(points).toBeLessThanOrEqual(Math.max(0, budget - budgetUsed));
          expect(cut === undefined).toBe(points === raw);
          // The named limit left exactly what was kept; on a tie, the first of per order, per member, budget.
          const rooms = [
            ["per_order_limit", perOrder ?? Number.POSITIVE_INFINITY],
            ["per_member_limit", perMember === undefined ? Number.POSITIVE_INFINITY : Math.max(0, perMember - memberUsed)],
            ["budget_spent", budget === undefined ? Number.POSITIVE_INFINITY : Math.max(0, budget - budgetUsed)],
          ] as const;
          if (cut !== undefined) expect(rooms.find(([, room]) => room === points)?.[0]).toBe(cut);
        },
      ),
    );
  });

  it("a spent budget is the reason, also when the per-order limit cut the points first", () => {
    const r = rule("r", { limits: { perOrder: 50, budget: 100 } });
    const usage = (used: number): LimitUsage => ({ budget: new Map([["r", used]]), member: new Map() });
    expect(clipToLimits(r, 100, limitRoom(r, usage(100), at, tz))).toEqual({ points: 0, cut: "budget_spent" });
    expect(clipToLimits(r, 100, limitRoom(r, usage(70), at, tz))).toEqual({ points: 30, cut: "budget_spent" });
    // As much room in the budget as the per-order limit: the per-order limit is named.
    expect(clipToLimits(r, 100, limitRoom(r, usage(50), at, tz))).toEqual({ points: 50, cut: "per_order_limit" });
  });
});

describe("stacking", () => {
  it("a matching exclusive rule stops lower rules, reported as skipped; non-matching ones are not reported", () => {
    const rules = [
      rule("base"),
      rule("double", { priority: 1, effect: { kind: "multiplier", factor: 2 } }),
      rule("app", { priority: 2, conditions: { channels: ["app"] }, effect: { kind: "fixed", points: 5 } }),
      rule("vip", { priority: 5, exclusive: true, effect: { kind: "fixed", points: 50 } }),
    ];
    const result = evaluateRules(rules, { amount: 1000, occurredAt: at }, member, tz);
    expect(result.awards).toEqual([{ ruleId: "vip", points: 50 }]);
    expect(result.skipped).toEqual([
      { ruleId: "double", reason: "exclusive" },
      { ruleId: "base", reason: "exclusive" },
    ]);
  });

  it("a multiplier multiplies per_amount points after their own limits", () => {
    const rules = [rule("base", { limits: { perOrder: 5 } }), rule("triple", { effect: { kind: "multiplier", factor: 3 } })];
    const result = evaluateRules(rules, { amount: 1000, occurredAt: at }, member, tz, NO_USAGE);
    expect(result.pointsEarned).toBe(15);
    expect(result.skipped).toEqual([{ ruleId: "base", reason: "per_order_limit" }]);
  });

  it("limit uses list only awards of rules with a budget or per-member limit", () => {
    const rules = [
      rule("a", { limits: { budget: 100 } }),
      rule("b", { limits: { perMember: { points: 3, per: "month" } } }),
      rule("c", { limits: { perOrder: 1 } }),
    ];
    const result = evaluateRules(rules, { amount: 1000, occurredAt: at }, member, tz);
    expect(result.limitUses).toEqual([
      { ruleId: "a", points: 10, period: null, budget: 100, perMember: null },
      { ruleId: "b", points: 3, period: "m2026-11", budget: null, perMember: 3 },
    ]);
  });
});

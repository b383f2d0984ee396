import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoWeekday } from "../../src/earning/calendar";
import { evaluateRules } from "../../src/earning/evaluate";
import type { OrderFacts, Rule } from "../../src/earning/types";

const rule = (id: string, effect: Rule["effect"], conditions: Rule["conditions"] = {}, extra: Partial<Rule> = {}): Rule => ({
  id,
  name: id,
  active: true,
  priority: 0,
  startsAt: null,
  endsAt: null,
  conditions,
  effect,
  exclusive: false,
  limits: null,
  ...extra,
});
const member = { tierId: null, previousOrders: 3 };
const at = Date.parse("2026-11-18T04:00:00Z"); // Wednesday in Shanghai
const order = (o: Partial<OrderFacts> = {}): OrderFacts => ({ amount: 10_000, occurredAt: at, ...o });

describe("evaluateRules", () => {
  it("floors per_amount and adds fixed points", () => {
    const r = evaluateRules(
      [rule("a", { kind: "per_amount", points: 3, per: 200 }), rule("b", { kind: "fixed", points: 5 })],
      order({ amount: 999 }),
      member,
      "UTC",
    );
    expect(r.pointsEarned).toBe(14 + 5);
  });

  it("multipliers add the extra of every matching per_amount rule, and stack additively", () => {
    const rules = [
      rule("base", { kind: "per_amount", points: 1, per: 100 }),
      rule("fixed", { kind: "fixed", points: 10 }),
      rule("x2", { kind: "multiplier", factor: 2 }),
      rule("x1.5", { kind: "multiplier", factor: 1.5 }),
    ];
    const r = evaluateRules(rules, order(), member, "UTC");
    expect(r.awards).toEqual(
      expect.arrayContaining([
        { ruleId: "x2", points: 100 },
        { ruleId: "x1.5", points: 50 },
      ]),
    );
    expect(r.pointsEarned).toBe(100 + 10 + 100 + 50);
  });

  it("restricts per_amount to the matching items' value", () => {
    const r = evaluateRules(
      [rule("tea", { kind: "per_amount", points: 2, per: 100 }, { categories: ["tea"] })],
      order({
        items: [
          { sku: "t", category: "tea", quantity: 3, unitPrice: 1000 },
          { sku: "c", category: "cup", quantity: 1, unitPrice: 7000 },
        ],
      }),
      member,
      "UTC",
    );
    expect(r.pointsEarned).toBe(60);
  });

  it("reports why a rule did not match", () => {
    const rules = [
      rule("inactive", { kind: "fixed", points: 1 }, {}, { active: false }),
      rule("later", { kind: "fixed", points: 1 }, {}, { startsAt: at + 1 }),
      rule("ended", { kind: "fixed", points: 1 }, {}, { endsAt: at }),
      rule("min", { kind: "fixed", points: 1 }, { minAmount: 10_001 }),
      rule("web", { kind: "fixed", points: 1 }, { channels: ["web"] }),
      rule("monday", { kind: "fixed", points: 1 }, { daysOfWeek: [1] }),
      rule("gold", { kind: "fixed", points: 1 }, { tiers: ["gold"] }),
      rule("first", { kind: "fixed", points: 1 }, { firstOrder: true }),
      rule("sku", { kind: "fixed", points: 1 }, { skus: ["x"] }),
    ];
    const r = evaluateRules(rules, order({ channel: "store" }), member, "Asia/Shanghai");
    expect(r.pointsEarned).toBe(0);
    expect(Object.fromEntries(r.outcomes.map((o) => [o.ruleId, o.reason]))).toEqual({
      inactive: "inactive",
      later: "not started",
      ended: "ended",
      min: "below minAmount",
      web: "channel",
      monday: "day of week",
      gold: "tier",
      first: "not first order",
      sku: "no matching items",
    });
  });

  it("orders outcomes by priority, highest first", () => {
    const r = evaluateRules(
      [
        rule("low", { kind: "fixed", points: 1 }, {}, { priority: 1 }),
        rule("high", { kind: "fixed", points: 1 }, {}, { priority: 9 }),
      ],
      order(),
      member,
      "UTC",
    );
    expect(r.outcomes.map((o) => o.ruleId)).toEqual(["high", "low"]);
  });

  it("uses the merchant's time zone for weekdays", () => {
    const sundayLateUtc = Date.parse("2026-11-15T17:00:00Z");
    expect(isoWeekday(sundayLateUtc, "UTC")).toBe(7);
    expect(isoWeekday(sundayLateUtc, "Asia/Shanghai")).toBe(1);
  });

  it("is exact with huge amounts (no float rounding)", () => {
    const r = evaluateRules(
      [rule("a", { kind: "per_amount", points: 999_999, per: 7 })],
      order({ amount: 1_000_000_000_000 }),
      member,
      "UTC",
    );
    expect(BigInt(r.pointsEarned)).toBe((1_000_000_000_000n * 999_999n) / 7n);
  });

  it("property: the total equals the sum of awards, all integers, independent of rule order", () => {
    const effectArb = fc.oneof(
      fc.record({
        kind: fc.constant("per_amount" as const),
        points: fc.integer({ min: 1, max: 10 }),
        per: fc.integer({ min: 1, max: 1000 }),
      }),
      fc.record({ kind: fc.constant("fixed" as const), points: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({ kind: fc.constant("multiplier" as const), factor: fc.constantFrom(1, 1.25, 1.5, 2, 3) }),
    );
    fc.assert(
      fc.property(fc.array(effectArb, { maxLength: 12 }), fc.integer({ min: 0, max: 10_000_000 }), (effects, amount) => {
        const rules = effects.map((e, i) => rule(`r${i}`, e));
        const a = evaluateRules(rules, order({ amount }), member, "UTC");
        const b = evaluateRules([...rules].reverse(), order({ amount }), member, "UTC");
        expect(a.pointsEarned).toBe(a.awards.reduce((s, x) => s + x.points, 0));
        expect(Number.isSafeInteger(a.pointsEarned)).toBe(true);
        expect(b.pointsEarned).toBe(a.pointsEarned);
      }),
    );
  });
});

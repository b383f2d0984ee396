import { describe, expect, it } from "vitest";
import type { CheckoutContext } from "../../src/earning/checkout-context";
import { NO_USAGE } from "../../src/earning/rule-limits";
import { compileRules } from "../../src/earning/rule-set";
import type { OrderInput } from "../../src/earning/schemas";
import type { Rule } from "../../src/earning/types";
import { planOrder } from "../../src/orders/order-plan";
import { DAY_MS } from "../../src/platform/clock";
import { ApiError } from "../../src/platform/errors";
import { DEFAULT_PROGRAM } from "../../src/program/settings";

const at = Date.parse("2026-11-18T04:00:00Z");
const tz = "Asia/Shanghai";
const input: OrderInput = { orderId: "o1", memberId: "m1", amount: 12_800, currency: "CNY" };
const perYuan: Rule = {
  id: "base",
  name: "base",
  active: true,
  priority: 0,
  startsAt: null,
  endsAt: null,
  conditions: {},
  effect: { kind: "per_amount", points: 1, per: 100 },
  exclusive: false,
  limits: null,
};
const firstOrderBonus: Rule = {
  ...perYuan,
  id: "welcome",
  conditions: { firstOrder: true },
  effect: { kind: "fixed", points: 50 },
};
const member = {
  tierId: null,
  previousOrders: 2,
  nextReleaseAt: null,
  lastActivityAt: at - DAY_MS,
  enrolledAt: at - 30 * DAY_MS,
  storedTierId: null,
  tierWindowStart: null,
  tierSpend: 0,
  tierPoints: 0,
  tierOrders: 0,
  referred: false,
  inDebt: false,
};
const context = (over: Partial<CheckoutContext> = {}): CheckoutContext => ({
  program: DEFAULT_PROGRAM,
  ladder: null,
  usage: NO_USAGE,
  paidWithPoints: 0,
  holdPending: false,
  stampProgress: new Map(),
  stampCards: [],
  member,
  ruleSet: compileRules([perYuan]),
  orderExists: false,
  configVersion: 1,
  ...over,
});

describe("planOrder", () => {
  it("credits a spendable lot that never expires by default, and settles the enrolled member first", () => {
    const plan = planOrder(input, at, context(), tz, at);
    expect(plan).toMatchObject({ pointsEarned: 128, awards: [{ ruleId: "base", points: 128 }], enrol: false });
    expect(plan.lot).toEqual({
      points: 128,
      pending: false,
      availableAt: at,
      expiresAt: null,
      ruleId: "base",
      ruleVersion: null,
    });
    expect(plan.due).toEqual({ releaseDue: false, expireDue: false });
    expect(plan.expectedOrderCount).toBeNull();
  });

  it("enrols an unknown member under autoEnroll, with nothing to settle, and refuses them without it", () => {
    const plan = planOrder(input, at, context({ member: null }), tz, at);
    expect(plan).toMatchObject({ enrol: true, due: null, pointsEarned: 128 });
    expect(() =>
      planOrder(input, at, context({ member: null, program: { ...DEFAULT_PROGRAM, autoEnroll: false } }), tz, at),
    ).toThrow(ApiError);
  });

  it("re-checks the order count only when a firstOrder rule was evaluated for a member without orders", () => {
    const rules = [perYuan, firstOrderBonus];
    expect(planOrder(input, at, context({ member: null, ruleSet: compileRules(rules) }), tz, at).expectedOrderCount).toBe(0);
    expect(
      planOrder(input, at, context({ member: { ...member, previousOrders: 0 }, ruleSet: compileRules(rules) }), tz, at),
    ).toMatchObject({
      expectedOrderCount: 0,
      pointsEarned: 178,
      lot: { ruleId: null },
    });
    expect(planOrder(input, at, context({ ruleSet: compileRules(rules) }), tz, at).expectedOrderCount).toBeNull();
    expect(planOrder(input, at, context({ member: null }), tz, at).expectedOrderCount).toBeNull();
  });

  it("re-checks the order count at any count when an expression may read it", () => {
    const rule = (expression: string): Rule => ({ ...firstOrderBonus, id: "cel", conditions: { expression } });
    const plan = (expression: string, previousOrders: number) =>
      planOrder(
        input,
        at,
        context({ member: { ...member, previousOrders }, ruleSet: compileRules([perYuan, rule(expression)]) }),
        tz,
        at,
      ).expectedOrderCount;
    expect(plan("member.orderCount >= 5", 7)).toBe(7);
    expect(plan("member.orderCount == 0 || order.amount > 1", 0)).toBe(0);
    // `member` as a whole may reach the count (member == member, [member][0].orderCount): re-checked too.
    expect(plan("[member][0].orderCount > 2", 3)).toBe(3);
    // Attributes and tier do not move with the member's orders: no re-check.
    expect(plan('member.tier == "gold" && member.attributes.vip == true', 3)).toBeNull();
    expect(plan("order.amount > 100", 3)).toBeNull();
  });

  it("makes no lot for an order that earns nothing", () => {
    const plan = planOrder({ ...input, amount: 99 }, at, context(), tz, at);
    expect(plan).toMatchObject({ pointsEarned: 0, awards: [], lot: null });
  });

  it("keeps the lot pending through the return window and dates its expiry after earning", () => {
    const program = { ...DEFAULT_PROGRAM, pendingDays: 7, expiry: { policy: "after_earn" as const, days: 30 } };
    const occurredAt = at - DAY_MS;
    const lot = planOrder(input, occurredAt, context({ program }), tz, at).lot;
    expect(lot).toMatchObject({ pending: true, availableAt: occurredAt + 7 * DAY_MS });
    expect(lot?.expiresAt).toBeGreaterThan(at + 30 * DAY_MS - DAY_MS);
  });

  it("expires an inactive member's points before the order resets the clock", () => {
    const program = { ...DEFAULT_PROGRAM, expiry: { policy: "inactivity" as const, days: 10 } };
    const idle = { ...member, lastActivityAt: at - 20 * DAY_MS };
    expect(planOrder(input, at, context({ program, member: idle }), tz, at).due).toMatchObject({
      inactiveSince: at - 20 * DAY_MS,
    });
  });

  it("refuses an order that would earn more than a safe total", () => {
    const huge: Rule = { ...perYuan, effect: { kind: "fixed", points: 1_000_000_000 } };
    const rules = Array.from({ length: 10_000 }, (_, i) => ({ ...huge, id: `r${i}` }));
    expect(() => planOrder(input, at, context({ ruleSet: compileRules(rules) }), tz, at)).toThrow(ApiError);
  });
});

/**
 * Property: a rule replay split over several calls awards exactly what one call over the whole range does.
 * Random rules (fixed, per_amount, multipliers; exclusive or not; budgets, per-order and per-member limits)
 * over random orders of a few members, cut at random places. Each later call starts from the budgets the
 * cursor carried (encoded and decoded as the endpoint does) and rebuilds its members' per-member usage from
 * their earlier orders, as rules/service.ts does; only the SQL is left out.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRules, type RuleSet } from "../../src/earning/rule-set";
import type { LimitPeriod, Rule } from "../../src/earning/types";
import {
  emptyTotals,
  memberLimitRules,
  memberUsageStart,
  type ReplayOrder,
  rebuildMemberUsage,
  replayOrder,
} from "../../src/rules/replay";
import { decodeReplayCursor, encodeReplayCursor } from "../../src/rules/replay-cursor";
import { propertySeed } from "../support/seeds";

const TZ = "Asia/Shanghai";
const START = Date.parse("2026-10-30T12:00:00Z");

const ruleArb = (id: string): fc.Arbitrary<Rule> =>
  fc
    .record({
      priority: fc.integer({ min: 0, max: 3 }),
      exclusive: fc.boolean(),
      minAmount: fc.option(fc.integer({ min: 100, max: 900 }), { nil: undefined }),
      effect: fc.oneof(
        fc.record({ kind: fc.constant("fixed" as const), points: fc.integer({ min: 1, max: 30 }) }),
        fc.record({ kind: fc.constant("per_amount" as const), points: fc.integer({ min: 1, max: 3 }), per: fc.constant(100) }),
        fc.record({ kind: fc.constant("multiplier" as const), factor: fc.constantFrom(1.5, 2, 3) }),
      ),
      perOrder: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
      perMember: fc.option(
        fc.record({ points: fc.integer({ min: 1, max: 40 }), per: fc.constantFrom<LimitPeriod>("day", "month", "year") }),
        { nil: undefined },
      ),
      // Small enough to run out within a range, so calls resume before, at and after the order that spends one.
      budget: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    })
    .map((r) => {
      const limits = { ...(r.perOrder && { perOrder: r.perOrder }), ...(r.perMember && { perMember: r.perMember }) };
      const all = { ...limits, ...(r.budget && { budget: r.budget }) };
      return {
        id,
        name: id,
        active: true,
        priority: r.priority,
        startsAt: null,
        endsAt: null,
        conditions: r.minAmount === undefined ? {} : { minAmount: r.minAmount },
        effect: r.effect,
        exclusive: r.exclusive,
        limits: Object.keys(all).length > 0 ? all : null,
      };
    });

const caseArb = fc.record({
  rules: fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(`r${i}`)))),
  // Minutes after the previous order, member and amount: a few days, so day periods roll over; two members, so
  // each comes back after a cut.
  orders: fc.array(
    fc.record({ gap: fc.integer({ min: 0, max: 300 }), member: fc.nat(1), amount: fc.integer({ min: 0, max: 1_000 }) }),
    {
      minLength: 1,
      maxLength: 40,
    },
  ),
  cuts: fc.array(fc.nat(40), { maxLength: 4 }),
});

/** The orders in replay order, each member's earlier orders counted as the replay's read counts them. */
function entries(orders: { gap: number; member: number; amount: number }[]): ReplayOrder[] {
  const seen = new Map<string, number>();
  let at = START;
  return orders.map((o, i) => {
    at += o.gap * 60_000;
    const memberId = `m${o.member}`;
    const previousOrders = seen.get(memberId) ?? 0;
    seen.set(memberId, previousOrders + 1);
    return {
      orderId: `o${String(i).padStart(3, "0")}`,
      memberId,
      order: { amount: o.amount, currency: "CNY", occurredAt: at, items: [] },
      member: { tierId: null, previousOrders },
      earned: [],
    };
  });
}

/** Points per rule of the whole replay in one call. */
function oneCall(rules: RuleSet, all: readonly ReplayOrder[]) {
  const totals = emptyTotals();
  for (const entry of all) replayOrder(totals, rules, entry, TZ);
  return new Map([...totals.replayed].map(([ruleId, x]) => [ruleId, x.points]));
}

/** Points per rule summed over calls that end before each cut, as the endpoint resumes them. */
function pagedCalls(rules: RuleSet, all: readonly ReplayOrder[], cuts: readonly number[]) {
  const sums = new Map<string, number>();
  const ends = [...new Set([...cuts.map((c) => c % all.length), all.length])].filter((c) => c > 0).sort((a, b) => a - b);
  let cursor: string | null = null;
  let begin = 0;
  for (const end of ends) {
    const resume = cursor ? decodeReplayCursor(cursor, "digest", { from: START, to: Number.MAX_SAFE_INTEGER }, rules) : undefined;
    const totals = emptyTotals(resume?.budgets);
    const limited = memberLimitRules(rules);
    if (resume && limited) {
      const members = new Set(all.slice(begin, end).map((e) => e.memberId));
      const start = memberUsageStart(limited, resume.at[0], START, TZ);
      const history = all.slice(0, begin).filter((e) => members.has(e.memberId) && e.order.occurredAt >= start);
      rebuildMemberUsage(totals, limited, history, TZ);
    }
    for (const entry of all.slice(begin, end)) replayOrder(totals, rules, entry, TZ);
    for (const [ruleId, x] of totals.replayed) sums.set(ruleId, (sums.get(ruleId) ?? 0) + x.points);
    const last = all[end - 1];
    if (!last) throw new Error("a call replays at least one order");
    cursor = encodeReplayCursor("digest", [last.order.occurredAt, last.orderId], totals.budgets);
    begin = end;
  }
  return sums;
}

describe("rule replay over several calls", () => {
  it("awards per rule exactly what one call over the whole range awards", () => {
    fc.assert(
      fc.property(caseArb, ({ rules, orders, cuts }) => {
        const set = compileRules(rules);
        const all = entries(orders);
        expect(pagedCalls(set, all, cuts)).toEqual(oneCall(set, all));
      }),
      { seed: propertySeed(20261130), numRuns: 2000 },
    );
  });
});

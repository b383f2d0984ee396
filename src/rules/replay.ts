/**
 * Replaying draft rules over stored orders, pure: each order is evaluated as the rules would have treated
 * it, in the order the orders happened, with the drafts' budgets and per-member limits consumed as the
 * replay goes (so a budget that would have run out mid-range shows as it would have). Nothing is written.
 */
import { evaluateRules } from "../earning/evaluate";
import type { RuleSet } from "../earning/rule-set";
import type { LimitUsage, MemberFacts, OrderFacts } from "../earning/types";

export interface ReplayOrder {
  order: OrderFacts;
  member: MemberFacts;
  memberId: string;
  /** What the order earned when it was posted, per rule. */
  earned: { ruleId: string; points: number }[];
}

/** Running totals of a replay, per rule. Maps: rule ids are client strings. */
export interface ReplayTotals {
  orders: number;
  earned: Map<string, number>;
  replayed: Map<string, { points: number; orders: number }>;
  /** Limit usage the drafts consumed so far: budgets, and per member in `member` keyed `memberId rule`. */
  usage: { budget: Map<string, number>; member: Map<string, Map<string, Map<string, number>>> };
}

export function emptyTotals(): ReplayTotals {
  return { orders: 0, earned: new Map(), replayed: new Map(), usage: { budget: new Map(), member: new Map() } };
}

function usageOf(totals: ReplayTotals, memberId: string): LimitUsage {
  return { budget: totals.usage.budget, member: totals.usage.member.get(memberId) ?? new Map() };
}

/**
 * The work of evaluating one order, in rule-item units: a rule without an expression costs 1, one with an
 * expression 1 + the order's items (its list macros walk them). Bounds a replay call's CPU (MAX_REPLAY_WORK).
 */
export function replayCost(rules: RuleSet, entry: ReplayOrder): number {
  const withExpression = rules.compiled.filter((c) => c.expression !== null).length;
  return rules.compiled.length + withExpression * (entry.order.items?.length ?? 0);
}

/** Adds one order to the totals; returns the points the order would earn. */
export function replayOrder(totals: ReplayTotals, rules: RuleSet, entry: ReplayOrder, timezone: string): number {
  totals.orders += 1;
  for (const award of entry.earned) totals.earned.set(award.ruleId, (totals.earned.get(award.ruleId) ?? 0) + award.points);
  const result = evaluateRules(rules, entry.order, entry.member, timezone, usageOf(totals, entry.memberId));
  for (const award of result.awards) {
    const sum = totals.replayed.get(award.ruleId) ?? { points: 0, orders: 0 };
    totals.replayed.set(award.ruleId, { points: sum.points + award.points, orders: sum.orders + 1 });
  }
  for (const use of result.limitUses) {
    if (use.budget !== null) totals.usage.budget.set(use.ruleId, (totals.usage.budget.get(use.ruleId) ?? 0) + use.points);
    if (use.period === null) continue;
    const byRule = totals.usage.member.get(entry.memberId) ?? new Map<string, Map<string, number>>();
    const periods = byRule.get(use.ruleId) ?? new Map<string, number>();
    periods.set(use.period, (periods.get(use.period) ?? 0) + use.points);
    byRule.set(use.ruleId, periods);
    totals.usage.member.set(entry.memberId, byRule);
  }
  return result.pointsEarned;
}

/** The reply's totals: points in all and per rule, highest first. */
export function summarizeReplay(totals: ReplayTotals) {
  const earned = [...totals.earned].map(([ruleId, points]) => ({ ruleId, points }));
  const replayed = [...totals.replayed].map(([ruleId, x]) => ({ ruleId, points: x.points, orders: x.orders }));
  const sum = (list: { points: number }[]) => list.reduce((s, x) => s + x.points, 0);
  const byPoints = (a: { points: number; ruleId: string }, b: { points: number; ruleId: string }) =>
    b.points - a.points || (a.ruleId < b.ruleId ? -1 : 1);
  return {
    orders: totals.orders,
    earned: { points: sum(earned), rules: earned.sort(byPoints) },
    wouldEarn: { points: sum(replayed), rules: replayed.sort(byPoints) },
  };
}

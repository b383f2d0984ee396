/**
 * Replaying draft rules over stored orders, pure: each order is evaluated as the rules would have treated
 * it, in the order the orders happened, with the rules' budgets and per-member limits consumed as the
 * replay goes (so a budget that would have run out mid-range shows as it would have). Nothing is written.
 *
 * A range replays over several calls. The budgets travel in the cursor (a few numbers per budgeted rule);
 * per-member usage, which grows with the members of the range, does not: a later call rebuilds it for the
 * members it meets by evaluating their earlier orders of the range again (rebuildMemberUsage), with each
 * budget as it stood at each of those orders. A budget only ever runs out once, at a known order, so that
 * is exact.
 */
import { evaluateRules } from "../earning/evaluate";
import { compileRules, type RuleSet } from "../earning/rule-set";
import type { LimitPeriod, LimitUsage, LimitUse, MemberFacts, OrderFacts, Rule } from "../earning/types";
import { localDate, startOfLocalDate } from "../platform/timezone";

/** An order's place in the replay: orders are replayed by occurredAt, then id. */
export type ReplayPosition = [occurredAt: number, orderId: string];

export interface ReplayOrder {
  orderId: string;
  order: OrderFacts;
  member: MemberFacts;
  memberId: string;
  /** What the order earned when it was posted, per rule. */
  earned: { ruleId: string; points: number }[];
}

/** The order that took the last points of a rule's budget, and how many it took (the budget's room before it). */
export interface SpentBudget {
  at: ReplayPosition;
  took: number;
}

/** Where the rules' budgets stand: what each has awarded, and for those run out, the order that spent them. */
export interface BudgetState {
  used: Map<string, number>;
  spent: Map<string, SpentBudget>;
}

/** Running totals of a replay call. Maps: rule and member ids are client strings. */
export interface ReplayTotals {
  orders: number;
  earned: Map<string, number>;
  replayed: Map<string, { points: number; orders: number }>;
  budgets: BudgetState;
  /** Per-member usage, keyed member id, then rule id, then period key. */
  members: Map<string, Map<string, Map<string, number>>>;
}

/** Totals for a call, starting from the budgets a cursor carried (none at the start of a range). */
export function emptyTotals(budgets: BudgetState = { used: new Map(), spent: new Map() }): ReplayTotals {
  return { orders: 0, earned: new Map(), replayed: new Map(), budgets, members: new Map() };
}

function usageOf(totals: ReplayTotals, memberId: string): LimitUsage {
  return { budget: totals.budgets.used, member: totals.members.get(memberId) ?? new Map() };
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
    if (use.budget !== null)
      spendBudget(totals.budgets, use.ruleId, use.points, use.budget, [entry.order.occurredAt, entry.orderId]);
  }
  addMemberUses(totals, entry.memberId, result.limitUses);
  return result.pointsEarned;
}

function spendBudget(budgets: BudgetState, ruleId: string, points: number, budget: number, at: ReplayPosition): void {
  const used = (budgets.used.get(ruleId) ?? 0) + points;
  budgets.used.set(ruleId, used);
  // Awards never exceed the room left, so this happens once per rule: later orders find no room.
  if (used >= budget) budgets.spent.set(ruleId, { at, took: points });
}

function addMemberUses(totals: ReplayTotals, memberId: string, uses: readonly LimitUse[]): void {
  for (const use of uses) {
    if (use.period === null) continue;
    const byRule = totals.members.get(memberId) ?? new Map<string, Map<string, number>>();
    const periods = byRule.get(use.ruleId) ?? new Map<string, number>();
    periods.set(use.period, (periods.get(use.period) ?? 0) + use.points);
    byRule.set(use.ruleId, periods);
    totals.members.set(memberId, byRule);
  }
}

const before = (a: ReplayPosition, b: ReplayPosition) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

/**
 * The budgets as they stood when the order at `at` was replayed, as far as any award could tell: a budget
 * not yet run out had room for every award (each took less than was left), so it reads as unused; the order
 * that ran it out finds exactly what it took; later orders find it spent.
 */
export function budgetsAt(rules: RuleSet, budgets: BudgetState, at: ReplayPosition): Map<string, number> {
  const used = new Map<string, number>();
  for (const rule of rules.rules) {
    const spent = rule.limits?.budget !== undefined ? budgets.spent.get(rule.id) : undefined;
    if (!spent || before(at, spent.at)) continue;
    const budget = rule.limits?.budget ?? 0;
    used.set(rule.id, spent.at[0] === at[0] && spent.at[1] === at[1] ? budget - spent.took : budget);
  }
  return used;
}

/**
 * The rules a per-member limit's usage depends on, in evaluation order (null when no rule has one): the rules
 * with per-member limits, every exclusive rule (one may stop them), and the per_amount rules when one of them
 * is a multiplier (it multiplies their points). No other rule changes what another awards (evaluate.ts), so
 * a rebuild evaluates these alone: expressions of unrelated rules would make it cost as much as the replay.
 */
export function memberLimitRules(rules: RuleSet): RuleSet | null {
  const limited = rules.rules.filter((rule) => rule.limits?.perMember);
  if (limited.length === 0) return null;
  const multiplied = limited.some((rule) => rule.effect.kind === "multiplier");
  const needed = (rule: Rule) =>
    Boolean(rule.limits?.perMember) || rule.exclusive || (multiplied && rule.effect.kind === "per_amount");
  return compileRules(rules.rules.filter(needed));
}

/**
 * Rebuilds the per-member usage of members whose earlier orders of the range an earlier call replayed:
 * `history` is those orders in replay order, `rules` the call's memberLimitRules. Only the per-member usage is
 * kept; the orders count in no total.
 */
export function rebuildMemberUsage(totals: ReplayTotals, rules: RuleSet, history: readonly ReplayOrder[], timezone: string) {
  for (const entry of history) {
    const usage = {
      budget: budgetsAt(rules, totals.budgets, [entry.order.occurredAt, entry.orderId]),
      member: totals.members.get(entry.memberId) ?? new Map(),
    };
    addMemberUses(totals, entry.memberId, evaluateRules(rules, entry.order, entry.member, timezone, usage).limitUses);
  }
}

const PERIOD_LENGTH: Record<LimitPeriod, number> = { day: 1, month: 2, year: 3 };

/**
 * Where the per-member usage a replay resumed at `at` still matters starts: the start of the longest
 * per-member limit period of the rules around `at` (orders before it count in periods no later order shares),
 * never before `from`.
 */
export function memberUsageStart(rules: RuleSet, at: number, from: number, timezone: string): number {
  let longest: LimitPeriod = "day";
  for (const rule of rules.rules) {
    const per = rule.limits?.perMember?.per;
    if (per && PERIOD_LENGTH[per] > PERIOD_LENGTH[longest]) longest = per;
  }
  const date = localDate(at, timezone);
  const first = longest === "year" ? { ...date, month: 1, day: 1 } : longest === "month" ? { ...date, day: 1 } : date;
  return Math.max(from, startOfLocalDate(first, timezone));
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

/**
 * Rules in the form evaluation reads them, built once per configuration version (the isolate's config cache
 * holds it, earning/config-cache.ts), never per order: sorted in evaluation order, list conditions as sets,
 * CEL expressions compiled, effect constants worked out. Pure.
 */
import { type ExpressionTest, expressionTest, readsOrderCount } from "./expression";
import type { Rule } from "./types";

/** A rule with its conditions ready to test; a list condition that is absent or empty is null. */
export interface CompiledRule {
  rule: Rule;
  categories: ReadonlySet<string> | null;
  skus: ReadonlySet<string> | null;
  channels: ReadonlySet<string> | null;
  daysOfWeek: ReadonlySet<number> | null;
  tiers: ReadonlySet<string> | null;
  /** The compiled CEL condition, null without one. */
  expression: ExpressionTest | null;
  /** Multipliers: the factor in basis points (0 for other effects). */
  factorBps: number;
}

/** Active rules, ready to evaluate. */
export interface RuleSet {
  /** The rules in evaluation order: descending priority, then id. */
  readonly rules: readonly Rule[];
  /** The same rules, compiled, in the same order. */
  readonly compiled: readonly CompiledRule[];
  /** Whether two rules share an id (never for stored rules; possible in lists given directly). */
  readonly duplicateIds: boolean;
  /**
   * Whether some rule has limits: each order then reads the rule usage of its own periods, so such a
   * configuration is never planned from a member snapshot (member-snapshot.ts).
   */
  readonly limited: boolean;
  /**
   * Whether some rule's expression reads the member's order count: each order then re-checks, in its write,
   * the count it was planned on (order-plan.ts), so concurrent orders cannot all earn on the same count.
   */
  readonly countSensitive: boolean;
}

export function byPriority(a: Rule, b: Rule): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Multiplier factors are stored as basis points so 1.5x stays exact. */
export function factorToBps(factor: number): number {
  return Math.round(factor * 10_000);
}

function setOf<T>(list: readonly T[] | undefined): ReadonlySet<T> | null {
  return list?.length ? new Set(list) : null;
}

export function compileRule(rule: Rule): CompiledRule {
  const c = rule.conditions;
  return {
    rule,
    categories: setOf(c.categories),
    skus: setOf(c.skus),
    channels: setOf(c.channels),
    daysOfWeek: setOf(c.daysOfWeek),
    tiers: setOf(c.tiers),
    expression: c.expression === undefined ? null : expressionTest(c.expression),
    factorBps: rule.effect.kind === "multiplier" ? factorToBps(rule.effect.factor) : 0,
  };
}

/**
 * @example
 * const set = compileRules(activeRules); // once per configuration version (rule-row.ts, ruleSetFromRows)
 * evaluateRules(set, order, member, timezone); // per order
 */
export function compileRules(rules: readonly Rule[]): RuleSet {
  const sorted = [...rules].sort(byPriority);
  const duplicateIds = new Set(sorted.map((r) => r.id)).size !== sorted.length;
  const limited = sorted.some((rule) => rule.limits != null);
  const countSensitive = sorted.some(
    (rule) => rule.conditions.expression !== undefined && readsOrderCount(rule.conditions.expression),
  );
  return { rules: sorted, compiled: sorted.map(compileRule), duplicateIds, limited, countSensitive };
}

/** Rule sets pass through; plain lists (drafts, tests) are compiled on the spot. */
export function asRuleSet(rules: RuleSet | readonly Rule[]): RuleSet {
  return isRuleList(rules) ? compileRules(rules) : rules;
}

function isRuleList(rules: RuleSet | readonly Rule[]): rules is readonly Rule[] {
  return Array.isArray(rules);
}

/**
 * Rule lint, pure: loyal members must gain more than new ones (PRODUCT.md, idea 1), so a rule for first
 * orders that pays more per unit spent than the best a regular member can earn is flagged when it is saved.
 * Rates are points per minor unit; the comparison is a warning, never stored, so plain division serves.
 */
import type { Rule } from "../earning/types";

export interface RuleWarning {
  code: "newcomer_outearns_regulars";
  message: string;
}

/** Rules that pay regular (repeat) orders. */
const forRegulars = (rule: Rule) => rule.active && rule.conditions.firstOrder !== true;

/**
 * The most a regular member can earn per unit spent: every per_amount rule for repeat orders stacked, at
 * the top tier's multiplier, times every multiplier rule for repeat orders.
 */
export function bestRegularRate(rules: readonly Rule[], topTierBps: number): number {
  let perAmount = 0;
  let factor = 1;
  for (const rule of rules.filter(forRegulars)) {
    if (rule.effect.kind === "per_amount") perAmount += rule.effect.points / rule.effect.per;
    if (rule.effect.kind === "multiplier") factor += rule.effect.factor - 1;
  }
  return (perAmount * topTierBps * factor) / 10_000;
}

/** What the rule itself pays per unit spent (a fixed award at its smallest qualifying order). */
function ruleRate(rule: Rule, rules: readonly Rule[]): number {
  const effect = rule.effect;
  if (effect.kind === "per_amount") return effect.points / effect.per;
  if (effect.kind === "fixed") return effect.points / Math.max(rule.conditions.minAmount ?? 1, 1);
  const base = rules
    .filter(forRegulars)
    .reduce((sum, r) => sum + (r.effect.kind === "per_amount" ? r.effect.points / r.effect.per : 0), 0);
  return base * (effect.factor - 1);
}

/**
 * @example
 * lintRule(welcome, liveRules, 20_000) // [{ code: "newcomer_outearns_regulars", message: "..." }] when welcome pays more
 */
export function lintRule(rule: Rule, liveRules: readonly Rule[], topTierBps: number): RuleWarning[] {
  if (rule.conditions.firstOrder !== true) return [];
  const others = liveRules.filter((r) => r.id !== rule.id);
  const rate = ruleRate(rule, others);
  const best = bestRegularRate(others, topTierBps);
  if (rate <= best) return [];
  const per100 = (x: number) => (x * 100).toFixed(2);
  return [
    {
      code: "newcomer_outearns_regulars",
      message:
        `This first-order rule pays ${per100(rate)} points per 100 minor units spent, more than the best a regular member ` +
        `can earn (${per100(best)}): loyal members should gain more than new ones.`,
    },
  ];
}

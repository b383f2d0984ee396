/** Rule rows as the rule engine sees them (the API body is rendered in rules/service.ts). */
import type { rules } from "../db/schema";
import { compileRules, type RuleSet } from "./rule-set";
import type { Rule, RuleConditions, RuleEffect, RuleLimits } from "./types";

export type RuleRow = typeof rules.$inferSelect;

export function ruleFromRow(row: RuleRow): Rule {
  return {
    id: row.id,
    name: row.name,
    active: Boolean(row.active),
    priority: row.priority,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
    conditions: JSON.parse(row.conditions) as RuleConditions,
    effect: JSON.parse(row.effect) as RuleEffect,
    exclusive: Boolean(row.exclusive),
    limits: row.limits ? (JSON.parse(row.limits) as RuleLimits) : null,
    version: row.version,
  };
}

/** Rows of active rules, compiled for evaluation: done once per configuration version (config-cache.ts). */
export function ruleSetFromRows(rows: readonly RuleRow[]): RuleSet {
  return compileRules(rows.map(ruleFromRow));
}

/** Rule rows <-> rule data. */
import type { rules } from "../db/schema";
import { toIso, toIsoOrNull } from "../platform/clock";
import type { Rule, RuleConditions, RuleEffect } from "./types";

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
  };
}

export function ruleBody(row: RuleRow) {
  const rule = ruleFromRow(row);
  return {
    ...rule,
    startsAt: toIsoOrNull(rule.startsAt),
    endsAt: toIsoOrNull(rule.endsAt),
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}

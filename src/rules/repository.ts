/** Rule rows <-> rule data. */
import { and, eq } from "drizzle-orm";
import { rules } from "../db/schema";
import { toIso, toIsoOrNull } from "../platform/clock";
import type { Orm } from "../platform/db";
import type { Rule, RuleConditions, RuleEffect } from "./types";

export type RuleRow = typeof rules.$inferSelect;

export function ruleFromRow(row: RuleRow): Rule {
  return {
    id: row.id,
    name: row.name,
    active: row.active,
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

/** Active rules of a merchant, for evaluation at checkout. */
export function activeRulesQuery(orm: Orm, merchantId: string) {
  return orm.select().from(rules).where(and(eq(rules.merchantId, merchantId), eq(rules.active, true)));
}

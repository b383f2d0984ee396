/** Trying draft rules against an order before they go live: pure helpers of the rules service. */
import type { CheckoutContext } from "../earning/checkout-context";
import { evaluateAsCheckout } from "../earning/order-evaluation";
import type { RuleSet } from "../earning/rule-set";
import type { OrderInput } from "../earning/schemas";
import type { Evaluation, Rule } from "../earning/types";
import type { RuleReplace } from "./schemas";

/** A rule as given in a request (create, replace or draft), as the rule engine sees it. */
export function draftRule(input: RuleReplace & { id: string }): Rule {
  return {
    id: input.id,
    name: input.name,
    active: input.active,
    priority: input.priority,
    startsAt: input.startsAt ? Date.parse(input.startsAt) : null,
    endsAt: input.endsAt ? Date.parse(input.endsAt) : null,
    conditions: input.conditions,
    effect: input.effect,
    exclusive: input.exclusive,
    limits: input.limits ?? null,
  };
}

/** The live rules with the drafts added; a draft with a live rule's id replaces it. */
export function mergeDrafts(live: readonly Rule[], drafts: readonly Rule[]): { rules: Rule[]; draftIds: Set<string> } {
  const draftIds = new Set(drafts.map((r) => r.id));
  return { rules: [...live.filter((r) => !draftIds.has(r.id)), ...drafts], draftIds };
}

/**
 * What checkout would award the order under `rules`, so a simulation agrees with a quote
 * (earning/order-evaluation.ts). Unlike checkout, a member not enrolled is evaluated even without autoEnroll.
 */
export function simulateEvaluation(
  rules: RuleSet,
  input: OrderInput,
  occurredAt: number,
  ctx: CheckoutContext,
  timezone: string,
  at: number,
): Evaluation {
  const { tier: _tier, ...evaluation } = evaluateAsCheckout(rules, input, occurredAt, ctx, timezone, at);
  return evaluation;
}

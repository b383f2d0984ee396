/** Trying draft rules against an order before they go live: pure helpers of the rules service. */
import { activityKeys } from "../activity/periods";
import { type CheckoutContext, NEW_MEMBER, tierFacts } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import type { RuleSet } from "../earning/rule-set";
import type { OrderInput } from "../earning/schemas";
import type { Evaluation, MemberFacts, Rule } from "../earning/types";
import { rankOfTier, tierAt, windowStartKey } from "../tiers/ladder";
import { earningRank } from "../tiers/qualifying";
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
 * What checkout would award the order under `rules`, so a simulation agrees with a quote: the member as
 * checkout sees them (one not enrolled yet at the lowest tier), what the rules' limits have used so far
 * (a draft replacing a live rule inherits its usage, as the saved rule would), only the part of the order
 * not paid with points, and the tier rank the order earns at. The twin of evaluateOrder
 * (orders/order-plan.ts), which rules may not import (test/unit/earning-dependencies.test.ts): a change
 * to one belongs in both. Unlike checkout, a member not enrolled is evaluated even without autoEnroll.
 */
export function simulateEvaluation(
  rules: RuleSet,
  input: OrderInput,
  occurredAt: number,
  ctx: CheckoutContext,
  timezone: string,
  at: number,
): Evaluation {
  const facts: MemberFacts = ctx.member ?? { ...NEW_MEMBER, ...tierFacts(ctx.ladder, null) };
  const order = { ...input, occurredAt, paidWithPoints: ctx.program.earnOnPointsPaid ? 0 : ctx.paidWithPoints };
  const evaluateAt = (rank: number | null) => {
    const member = rank === null || !ctx.ladder ? facts : { ...facts, ...tierFacts(ctx.ladder, tierAt(ctx.ladder, rank).id) };
    return evaluateRules(rules, order, member, timezone, ctx.usage);
  };
  return evaluateAt(qualifyingRank(ctx, input, occurredAt, timezone, at, (rank) => evaluateAt(rank).pointsEarned));
}

const METRIC_CACHE = { spend: "tierSpend", points: "tierPoints", orders: "tierOrders" } as const;

/**
 * The tier rank the order earns at (null without a ladder): the member's, or with
 * upgradeAppliesToQualifyingOrder the one the order itself reaches (orders/order-plan.ts, planTier).
 */
function qualifyingRank(
  ctx: CheckoutContext,
  input: OrderInput,
  occurredAt: number,
  timezone: string,
  at: number,
  pointsAt: (rank: number) => number,
): number | null {
  const ladder = ctx.ladder;
  if (!ladder) return null;
  // An order dated before today's qualification window adds nothing to it.
  const counted = activityKeys(occurredAt, timezone).day >= windowStartKey(ladder, at, timezone);
  const cached = ctx.member ? Number(ctx.member[METRIC_CACHE[ladder.metric]]) : 0;
  const share = (rank: number) =>
    !counted ? 0 : ladder.metric === "spend" ? input.amount : ladder.metric === "orders" ? 1 : pointsAt(rank);
  return earningRank(ladder, rankOfTier(ladder, ctx.member?.storedTierId), cached, share);
}

/**
 * What an order earns under a set of rules, as checkout decides it: the member as checkout sees them (one not
 * enrolled yet at the lowest tier), what the rules' limits have used so far, only the part of the order not
 * paid with points (unless the program lets it earn), and the tier rank it earns at (the member's, or with
 * upgradeAppliesToQualifyingOrder the one the order itself reaches). Checkout (orders/order-plan.ts) and the
 * rules' simulation (rules/simulate.ts) both evaluate through it, so a simulation answers as a quote does.
 */
import { activityKeys } from "../activity/periods";
import { rankForValue, rankOfTier, tierAt, windowStartKey } from "../tiers/ladder";
import { earningRank } from "../tiers/qualifying";
import { type CheckoutContext, NEW_MEMBER, tierFacts } from "./checkout-context";
import { evaluateRules } from "./evaluate";
import type { RuleSet } from "./rule-set";
import type { OrderInput } from "./schemas";
import type { Evaluation, MemberFacts } from "./types";

/** Where the order stands in the member's tier window (what the order writes for tiers: tiers/order-statements.ts). */
export interface OrderTierPlan {
  startKey: string;
  orderDay: string;
  earningRank: number;
  /** The member's cached metric starts elsewhere than today's window (or is not kept yet): slide it first. */
  slide: boolean;
  /**
   * The metric as read reaches a higher tier with this order (or cannot tell: a slide comes first). When
   * not, the batch writes no history row and its guard also refuses an upgrade a concurrent order made
   * possible, so the order is planned again with its history row.
   */
  upgradeExpected: boolean;
  /** The rank the member held as read, and the rank the window's metric reaches with this order. */
  currentRank: number;
  reachedRank: number;
}

/** The order's evaluation under `rules`, and its tier plan (null without a ladder). */
export function evaluateAsCheckout(
  rules: RuleSet,
  input: OrderInput,
  occurredAt: number,
  ctx: CheckoutContext,
  timezone: string,
  at: number,
): Evaluation & { tier: OrderTierPlan | null } {
  const facts: MemberFacts = ctx.member ?? { ...NEW_MEMBER, ...tierFacts(ctx.ladder, null) };
  const paidWithPoints = ctx.program.earnOnPointsPaid ? 0 : ctx.paidWithPoints;
  const order = { ...input, occurredAt, paidWithPoints };
  const evaluateAt = (rank: number | null) => {
    if (rank === null || !ctx.ladder) return evaluateRules(rules, order, facts, timezone, ctx.usage);
    const atRank = { ...facts, ...tierFacts(ctx.ladder, tierAt(ctx.ladder, rank).id) };
    return evaluateRules(rules, order, atRank, timezone, ctx.usage);
  };
  const tier = ctx.ladder ? planTier(ctx, input, occurredAt, timezone, at, (rank) => evaluateAt(rank).pointsEarned) : null;
  return { ...evaluateAt(tier?.earningRank ?? null), tier };
}

const cacheKey = { spend: "tierSpend", points: "tierPoints", orders: "tierOrders" } as const;

/** The window the order counts in, and the rank it earns at (tiers/qualifying.ts). */
function planTier(
  ctx: CheckoutContext,
  input: OrderInput,
  occurredAt: number,
  timezone: string,
  at: number,
  pointsAt: (rank: number) => number,
): OrderTierPlan {
  const ladder = ctx.ladder!;
  const startKey = windowStartKey(ladder, at, timezone);
  const orderDay = activityKeys(occurredAt, timezone).day;
  const current = rankOfTier(ladder, ctx.member?.storedTierId);
  // The cache covers today's window once slid (the service slides a stale one first when it matters).
  const cached = ctx.member ? Number(ctx.member[cacheKey[ladder.metric]]) : 0;
  const counted = orderDay >= startKey;
  const share = (rank: number) =>
    !counted ? 0 : ladder.metric === "spend" ? input.amount : ladder.metric === "orders" ? 1 : pointsAt(rank);
  const slide = ctx.member?.tierWindowStart !== startKey;
  const rank = earningRank(ladder, current, cached, share);
  const reached = rankForValue(ladder, cached + share(rank));
  return {
    startKey,
    orderDay,
    earningRank: rank,
    slide,
    upgradeExpected: slide || reached > current,
    currentRank: current,
    reachedRank: reached,
  };
}

/**
 * What posting an order writes, decided by a pure function of the order, the checkout context, the program
 * and the clock: the service reads the context before it and writes the plan in one batch after it.
 */
import { activityKeys } from "../activity/periods";
import { assertEarnable, type CheckoutContext, NEW_MEMBER, tierFacts } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import type { OrderInput } from "../earning/schemas";
import { planStamps, type StampStep } from "../earning/stamps";
import type { Award, Evaluation, LimitUse, MemberFacts, Skipped } from "../earning/types";
import type { SettleInput } from "../ledger/statements";
import { notFound } from "../platform/errors";
import { dueFor, lotAvailability, lotExpiry, type ReferralSettings } from "../program/settings";
import { rankForValue, rankOfTier, tierAt, windowStartKey } from "../tiers/ladder";
import { earningRank } from "../tiers/qualifying";

/** What the order writes for tiers (see tiers/order-statements.ts). */
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

/** The lot an order's points go to. */
export interface OrderLot {
  points: number;
  pending: boolean;
  availableAt: number;
  expiresAt: number | null;
  /** The rule that earned the points, when exactly one did (order awards list every rule and version). */
  ruleId: string | null;
  ruleVersion: number | null;
}

export interface OrderPlan {
  pointsEarned: number;
  awards: Award[];
  skipped: Skipped[];
  /** What the awards consume of rule limits: re-checked in the batch (limit-statements.ts). */
  limitUses: LimitUse[];
  /** The member is not enrolled yet: the order enrols them. */
  enrol: boolean;
  /**
   * The member's order count the write must still see (a firstOrder rule was evaluated against it and a
   * concurrent order could change it), or null when nothing depends on it.
   */
  expectedOrderCount: number | null;
  /** What is due for an enrolled member before the credit (null for a new member). */
  due: SettleInput | null;
  /** null when the order earned nothing (it still counts as the member's activity). */
  lot: OrderLot | null;
  /** The member owed nothing as read (balance >= 0): its lot repays no debt, if the batch holds that true. */
  debtFree: boolean;
  /** null when the merchant has no tier ladder. */
  tier: OrderTierPlan | null;
  /** Stamps the order adds to the member's cards, and the cards it completes (paid in the same batch). */
  stamps: StampStep[];
  /**
   * The member was referred and this is its first order: the order qualifies the referral, due when its
   * return window ends (null for every other order).
   */
  referral: { dueAt: number; settings: ReferralSettings | null } | null;
  /** Availability and expiry of points rewards of completed cards (as the order's own lot). */
  rewardLot: { pending: boolean; availableAt: number; expiresAt: number | null };
}

/**
 * The points an order earns, and the tier rank they were computed at. Refuses an unknown member (without
 * autoEnroll) and an unsafe total.
 */
export function evaluateOrder(
  input: OrderInput,
  occurredAt: number,
  ctx: CheckoutContext,
  timezone: string,
  at: number,
): Evaluation & { tier: OrderTierPlan | null } {
  if (!ctx.member && !ctx.program.autoEnroll) throw notFound(`Member ${input.memberId}`);
  const facts: MemberFacts = ctx.member ?? { ...NEW_MEMBER, ...tierFacts(ctx.ladder, null) };
  const paidWithPoints = ctx.program.earnOnPointsPaid ? 0 : ctx.paidWithPoints;
  const order = { ...input, occurredAt, paidWithPoints };
  const evaluateAt = (rank: number | null) => {
    if (rank === null || !ctx.ladder) return evaluateRules(ctx.ruleSet, order, facts, timezone, ctx.usage);
    const atRank = { ...facts, ...tierFacts(ctx.ladder, tierAt(ctx.ladder, rank).id) };
    return evaluateRules(ctx.ruleSet, order, atRank, timezone, ctx.usage);
  };
  const tier = ctx.ladder ? planTier(ctx, input, occurredAt, timezone, at, (rank) => evaluateAt(rank).pointsEarned) : null;
  const evaluation = evaluateAt(tier?.earningRank ?? null);
  assertEarnable(evaluation.pointsEarned);
  return { ...evaluation, tier };
}

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

const cacheKey = { spend: "tierSpend", points: "tierPoints", orders: "tierOrders" } as const;

/**
 * @example
 * planOrder(input, Date.parse(input.occurredAt), ctx, "Asia/Shanghai", now())
 * // { pointsEarned: 128, awards: [...], enrol: false, expectedOrderCount: null, due: {...}, lot: { points: 128, ... } }
 */
export function planOrder(input: OrderInput, occurredAt: number, ctx: CheckoutContext, timezone: string, at: number): OrderPlan {
  const { pointsEarned, awards, skipped, limitUses, tier } = evaluateOrder(input, occurredAt, ctx, timezone, at);
  const stamps = planStamps(ctx.stampCards, ctx.stampProgress, { ...input, occurredAt });
  assertEarnable(pointsEarned + stampPoints(stamps));
  // The write re-checks the order count the plan used when an award may depend on it: a firstOrder
  // condition only for a member with no order yet (the count only grows), an expression reading
  // member.orderCount at any count.
  const previousOrders = ctx.member?.previousOrders ?? 0;
  const firstOrderMatters = ctx.ruleSet.rules.some((rule) => rule.conditions.firstOrder !== undefined);
  const countMatters = ctx.ruleSet.countSensitive || (previousOrders === 0 && firstOrderMatters);
  return {
    pointsEarned,
    awards,
    skipped,
    limitUses,
    enrol: !ctx.member,
    expectedOrderCount: countMatters ? previousOrders : null,
    // An order after the inactivity deadline first lets the old points expire, then resets the clock.
    due: ctx.member ? dueFor(ctx.member, ctx.program, timezone, at, false) : null,
    lot:
      pointsEarned > 0
        ? {
            points: pointsEarned,
            ...lotAvailability(ctx.program, occurredAt, at),
            expiresAt: lotExpiry(ctx.program, at, timezone),
            ruleId: awards.length === 1 ? (awards[0]?.ruleId ?? null) : null,
            ruleVersion: awards.length === 1 ? (awards[0]?.ruleVersion ?? null) : null,
          }
        : null,
    debtFree: ctx.member?.inDebt === false,
    tier,
    stamps,
    referral:
      ctx.member?.referred && previousOrders === 0
        ? { dueAt: lotAvailability(ctx.program, occurredAt, at).availableAt, settings: ctx.program.referral }
        : null,
    rewardLot: { ...lotAvailability(ctx.program, occurredAt, at), expiresAt: lotExpiry(ctx.program, at, timezone) },
  };
}

/** Points the order's completed stamp cards pay. */
export function stampPoints(stamps: readonly StampStep[]): number {
  return stamps.reduce((sum, s) => sum + (s.reward.kind === "points" ? s.reward.points * s.completions : 0), 0);
}

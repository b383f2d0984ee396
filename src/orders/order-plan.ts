/**
 * What posting an order writes, decided by a pure function of the order, the checkout context, the program
 * and the clock: the service reads the context before it and writes the plan in one batch after it.
 */
import { assertEarnable, type CheckoutContext } from "../earning/checkout-context";
import { evaluateAsCheckout, type OrderTierPlan } from "../earning/order-evaluation";
import type { OrderInput } from "../earning/schemas";
import { planStamps, type StampStep } from "../earning/stamps";
import type { Award, Evaluation, LimitUse, Skipped } from "../earning/types";
import type { SettleInput } from "../ledger/statements";
import { notFound } from "../platform/errors";
import { dueFor, lotAvailability, lotExpiry, type ReferralSettings } from "../program/settings";

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
 * The points an order earns, and the tier rank they were computed at (earning/order-evaluation.ts). Refuses an
 * unknown member (without autoEnroll) and an unsafe total.
 */
export function evaluateOrder(
  input: OrderInput,
  occurredAt: number,
  ctx: CheckoutContext,
  timezone: string,
  at: number,
): Evaluation & { tier: OrderTierPlan | null } {
  if (!ctx.member && !ctx.program.autoEnroll) throw notFound(`Member ${input.memberId}`);
  const evaluation = evaluateAsCheckout(ctx.ruleSet, input, occurredAt, ctx, timezone, at);
  assertEarnable(evaluation.pointsEarned);
  return evaluation;
}

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

/**
 * What posting an order writes, decided by a pure function of the order, the checkout context, the program
 * and the clock: the service reads the context before it and writes the plan in one batch after it.
 */
import { assertEarnable, type CheckoutContext, NEW_MEMBER } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import type { OrderInput } from "../earning/schemas";
import type { Award } from "../earning/types";
import type { SettleInput } from "../ledger/statements";
import { notFound } from "../platform/errors";
import { dueFor, lotAvailability, lotExpiry } from "../program/settings";

/** The lot an order's points go to. */
export interface OrderLot {
  points: number;
  pending: boolean;
  availableAt: number;
  expiresAt: number | null;
  /** The rule that earned the points, when exactly one did. */
  ruleId: string | null;
}

export interface OrderPlan {
  pointsEarned: number;
  awards: Award[];
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
}

/** The points an order earns. Refuses an unknown member (without autoEnroll) and an unsafe total. */
export function evaluateOrder(input: OrderInput, occurredAt: number, ctx: CheckoutContext, timezone: string) {
  if (!ctx.member && !ctx.program.autoEnroll) throw notFound(`Member ${input.memberId}`);
  const evaluation = evaluateRules(ctx.rules, { ...input, occurredAt }, ctx.member ?? NEW_MEMBER, timezone);
  assertEarnable(evaluation.pointsEarned);
  return evaluation;
}

/**
 * @example
 * planOrder(input, Date.parse(input.occurredAt), ctx, "Asia/Shanghai", now())
 * // { pointsEarned: 128, awards: [...], enrol: false, expectedOrderCount: null, due: {...}, lot: { points: 128, ... } }
 */
export function planOrder(input: OrderInput, occurredAt: number, ctx: CheckoutContext, timezone: string, at: number): OrderPlan {
  const { pointsEarned, awards } = evaluateOrder(input, occurredAt, ctx, timezone);
  // Only a member with no order yet can be raced on a firstOrder condition (the count only grows).
  const previousOrders = ctx.member?.previousOrders ?? 0;
  const firstOrderMatters = ctx.rules.some((rule) => rule.conditions.firstOrder !== undefined);
  return {
    pointsEarned,
    awards,
    enrol: !ctx.member,
    expectedOrderCount: previousOrders === 0 && firstOrderMatters ? previousOrders : null,
    // An order after the inactivity deadline first lets the old points expire, then resets the clock.
    due: ctx.member ? dueFor(ctx.member, ctx.program, timezone, at, false) : null,
    lot:
      pointsEarned > 0
        ? {
            points: pointsEarned,
            ...lotAvailability(ctx.program, occurredAt, at),
            expiresAt: lotExpiry(ctx.program, at, timezone),
            ruleId: awards.length === 1 ? (awards[0]?.ruleId ?? null) : null,
          }
        : null,
  };
}

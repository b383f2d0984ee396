/**
 * Rule limits, pure: how much of a rule's computed points an order may keep, and which limit bound it.
 * The reported reason is the limit with the least room, the one that decided what the award kept; on a tie
 * the first of per order, per member, budget is named. The order batch re-checks the per-member and budget
 * room with conditional updates (orders/limit-statements.ts), so the figures read here only plan: they
 * never decide alone.
 */
import { dayKey, monthKey } from "../activity/periods";
import { type LocalDate, localDate } from "../platform/timezone";
import type { LimitPeriod, LimitUsage, Rule, SkipReason } from "./types";

export const NO_USAGE: LimitUsage = { budget: new Map(), member: new Map() };

/** The local period key an order counts in for a per-member limit. */
export function limitPeriodKey(atMs: number, per: LimitPeriod, timezone: string): string {
  return periodKeyOf(localDate(atMs, timezone), per);
}

/** The period key of a local date (`d2026-11-29`, `m2026-11`, `y2026`). */
export function periodKeyOf(date: LocalDate, per: LimitPeriod): string {
  if (per === "day") return dayKey(date);
  if (per === "month") return monthKey(date);
  return `y${String(date.year).padStart(4, "0")}`;
}

/**
 * Period keys an instant may fall in under any time zone (UTC-12 to UTC+14): the checkout reads a member's
 * usage before it knows the merchant's zone (it rides along with authentication).
 */
export function candidatePeriodKeys(atMs: number): string[] {
  const keys = new Set<string>();
  for (const offset of [-12, 0, 14]) {
    const at = atMs + offset * 3_600_000;
    for (const per of ["day", "month", "year"] as const) keys.add(limitPeriodKey(at, per, "UTC"));
  }
  return [...keys];
}

/** Room a rule has left before its limits bind (Infinity when unlimited), and which limit is tightest. */
export interface LimitRoom {
  member: number;
  budget: number;
  period: string | null;
}

export function limitRoom(rule: Rule, usage: LimitUsage, occurredAt: number, timezone: string): LimitRoom {
  const perMember = rule.limits?.perMember;
  return roomIn(rule, usage, perMember ? limitPeriodKey(occurredAt, perMember.per, timezone) : null);
}

/** The room of a rule without limits; shared, as nothing changes a room. */
const UNLIMITED: LimitRoom = Object.freeze({
  member: Number.POSITIVE_INFINITY,
  budget: Number.POSITIVE_INFINITY,
  period: null,
});

/** limitRoom with the per-member period key already worked out (null without a per-member limit). */
export function roomIn(rule: Rule, usage: LimitUsage, period: string | null): LimitRoom {
  if (!rule.limits) return UNLIMITED;
  const { perMember, budget } = rule.limits;
  const memberUsed = period === null ? 0 : (usage.member.get(rule.id)?.get(period) ?? 0);
  return {
    member: perMember ? Math.max(0, perMember.points - memberUsed) : Number.POSITIVE_INFINITY,
    budget: budget !== undefined ? Math.max(0, budget - (usage.budget.get(rule.id) ?? 0)) : Number.POSITIVE_INFINITY,
    period,
  };
}

/**
 * The points a rule keeps of `raw`, and the limit that bound them (none when it kept all): the tightest one,
 * not the first that `raw` passed, so a spent budget reads `budget_spent` even when a per-order limit is
 * also below `raw`. Ties go to the earlier of per order, per member, budget.
 */
export function clipToLimits(rule: Rule, raw: number, room: LimitRoom): { points: number; cut?: SkipReason } {
  let tightest = rule.limits?.perOrder ?? Number.POSITIVE_INFINITY;
  let cut: SkipReason = "per_order_limit";
  if (room.member < tightest) {
    tightest = room.member;
    cut = "per_member_limit";
  }
  if (room.budget < tightest) {
    tightest = room.budget;
    cut = "budget_spent";
  }
  return raw > tightest ? { points: tightest, cut } : { points: raw };
}

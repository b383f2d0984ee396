/**
 * The tier ladder as plain data, and the calendar arithmetic of qualification: window starts, how long an
 * earned status holds, when a lapsed status is reviewed. Pure: no I/O. Instants are UTC milliseconds, days
 * are local days of the merchant's timezone.
 *
 * Qualification windows:
 * - calendar_year: the metric counts from 1 January (local). Status earned in year Y holds until the end of
 *   year Y+1: the member has the whole next year to earn it again.
 * - rolling_days N: the metric counts over the last N local days, today included. Status earned (or earned
 *   again) on day D holds through day D+N: one full window after it was last reached.
 */

import { dayKey } from "../activity/periods";
import type { TierMetric } from "../db/enums";
import { addDays, endOfLocalDayAfter, type LocalDate, localDate, startOfLocalDate } from "../platform/timezone";

export interface TierDef {
  id: string;
  name: string;
  /** Metric value from which the tier is reached. The lowest tier's is 0. */
  threshold: number;
  /** Multiplies per_amount points, in basis points (1.5x = 15000). */
  earnMultiplierBps: number;
}

export type TierWindow = { kind: "calendar_year" } | { kind: "rolling_days"; days: number };

export interface Ladder {
  metric: TierMetric;
  window: TierWindow;
  /** Lowest first; tiers[0].threshold === 0. A member's rank is an index into this list. */
  tiers: TierDef[];
  graceDays: number;
  /** A review moves a member down at most this many tiers. */
  downgradeSteps: number;
  upgradeAppliesToQualifyingOrder: boolean;
  version: number;
}

/** The rank of a stored tier id: unknown ids (removed tiers) and null (never placed) are the lowest tier. */
export function rankOfTier(ladder: Ladder, tierId: string | null | undefined): number {
  const rank = ladder.tiers.findIndex((t) => t.id === tierId);
  return rank < 0 ? 0 : rank;
}

/** The highest tier the metric value reaches. */
export function rankForValue(ladder: Ladder, value: number): number {
  let rank = 0;
  ladder.tiers.forEach((tier, i) => {
    if (value >= tier.threshold) rank = i;
  });
  return rank;
}

/** The tier at a rank (ranks come from rankOf*, so always inside the ladder). */
export function tierAt(ladder: Ladder, rank: number): TierDef {
  const tier = ladder.tiers[Math.max(0, Math.min(rank, ladder.tiers.length - 1))];
  if (!tier) throw new Error("a ladder has at least one tier");
  return tier;
}

/** First local day of the window that ends today (inclusive). */
function windowStartDate(ladder: Pick<Ladder, "window">, at: number, timezone: string): LocalDate {
  const today = localDate(at, timezone);
  return ladder.window.kind === "calendar_year"
    ? { year: today.year, month: 1, day: 1 }
    : addDays(today, -(ladder.window.days - 1));
}

/** First local day of today's window, as a member_periods day key. */
export function windowStartKey(ladder: Pick<Ladder, "window">, at: number, timezone: string): string {
  return dayKey(windowStartDate(ladder, at, timezone));
}

/** The instant today's window starts (where the window before it ends). */
export function windowStartInstant(ladder: Pick<Ladder, "window">, at: number, timezone: string): number {
  return startOfLocalDate(windowStartDate(ladder, at, timezone), timezone);
}

/** The window that ended just before the instant `end` (a local midnight): [from, to) as day keys. */
export function windowEndingAt(ladder: Pick<Ladder, "window">, end: number, timezone: string): { from: string; to: string } {
  return { from: windowStartKey(ladder, end - 1, timezone), to: dayKey(localDate(end, timezone)) };
}

/** When status reached at `at` lapses (see the module comment). */
export function statusValidUntil(ladder: Pick<Ladder, "window">, at: number, timezone: string): number {
  if (ladder.window.kind === "rolling_days") return endOfLocalDayAfter(at, ladder.window.days, timezone);
  return startOfLocalDate({ year: localDate(at, timezone).year + 2, month: 1, day: 1 }, timezone);
}

/**
 * When status given by a review (a landing above what the metric reached, or a status confirmed) lapses:
 * the end of the current window for calendar years, one full window for rolling ones.
 */
export function landingValidUntil(ladder: Pick<Ladder, "window">, at: number, timezone: string): number {
  if (ladder.window.kind === "rolling_days") return endOfLocalDayAfter(at, ladder.window.days, timezone);
  return startOfLocalDate({ year: localDate(at, timezone).year + 1, month: 1, day: 1 }, timezone);
}

/**
 * Statuses that lapsed at or before this instant are due for review at `at`: lapse + graceDays local days
 * has passed. Lapse instants are local midnights, so this is exact across DST changes.
 */
export function reviewCutoff(ladder: Pick<Ladder, "graceDays">, at: number, timezone: string): number {
  return startOfLocalDate(addDays(localDate(at, timezone), -ladder.graceDays), timezone);
}

/** The metric's column in member_periods and its cached column on members. */
export const METRIC_COLUMNS: Record<TierMetric, { period: string; member: string }> = {
  spend: { period: "spend", member: "tier_spend" },
  points: { period: "points", member: "tier_points" },
  orders: { period: "orders", member: "tier_orders" },
};

/** The metric contributed by an order or refund. */
export function metricOf(metric: TierMetric, delta: { spend: number; points: number; orders: number }): number {
  return delta[metric];
}

/**
 * Whether a perk is unlocked for a member, and how far each unmet condition is: pure, from the member's
 * facts at one instant. Conditions (all must hold):
 * - tenureDays: whole local days since enrolment (the day of enrolment is day 0);
 * - tier: the member's tier is this one or higher in the ladder;
 * - lifetimeSpend: order amounts net of refunds since enrolment, minor units;
 * - streakMonths: consecutive calendar months (local) with at least one order, ending this month or last
 *   month (the month in progress does not break a streak), counted only after the perk last lapsed.
 * A perk with lapseAfterInactiveDays locks again once that many local days pass without an order that stands
 * (a fully refunded order does not count). A lapse is a fact of the member's order days, whether or not anyone
 * saw it: one that ended before the member ordered again still starts the streak over.
 */
import { addDays, type LocalDate, localDate, startOfLocalDate } from "../platform/timezone";

export interface PerkUnlock {
  tenureDays?: number;
  tier?: string;
  lifetimeSpend?: number;
  streakMonths?: number;
}

export interface PerkDef {
  id: string;
  name: string;
  value: number;
  unlock: PerkUnlock;
  quota: { uses: number; per: "month" | "year" } | null;
  lapseAfterInactiveDays: number | null;
}

/** The local days a member placed an order that stands, as far as lapses need them. */
export interface ActiveDays {
  /** The latest such day (null: none). */
  last: LocalDate | null;
  /**
   * Days the member ordered again after at least one day without: `after` is the active day before (null: none
   * since enrolment).
   */
  returns: readonly { after: LocalDate | null; on: LocalDate }[];
}

export interface MemberPerkFacts {
  enrolledAt: number;
  activeDays: ActiveDays;
  /** Rank of the member's tier and the rank of each tier id, when the merchant has a ladder. */
  tierRank: number | null;
  tierRanks: ReadonlyMap<string, number>;
  lifetimeSpend: number;
  /** Month keys (YYYY-MM, local) with at least one order that still counts. */
  orderMonths: ReadonlySet<string>;
}

export interface ConditionProgress {
  condition: "tenureDays" | "tier" | "lifetimeSpend" | "streakMonths";
  required: number | string;
  current: number | string | null;
  met: boolean;
}

const monthOf = (d: Pick<LocalDate, "year" | "month">) => `${d.year}-${String(d.month).padStart(2, "0")}`;
const previousMonth = (d: Pick<LocalDate, "year" | "month">) =>
  d.month === 1 ? { year: d.year - 1, month: 12 } : { year: d.year, month: d.month - 1 };

/** Calendar days from date `a` to date `b`. */
export const daysFrom = (a: LocalDate, b: LocalDate) =>
  Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);

/** Whole local days from the day of `from` to the day of `at`. */
export function localDaysBetween(from: number, at: number, timezone: string): number {
  return daysFrom(localDate(from, timezone), localDate(at, timezone));
}

/** Consecutive months with an order, ending this month or (if none yet this month) last month. */
export function streakMonths(months: ReadonlySet<string>, at: number, timezone: string, after: number | null): number {
  const floor = after === null ? null : monthOf(localDate(after, timezone));
  let cursor: Pick<LocalDate, "year" | "month"> = localDate(at, timezone);
  if (!months.has(monthOf(cursor))) cursor = previousMonth(cursor);
  let streak = 0;
  while (months.has(monthOf(cursor)) && (floor === null || monthOf(cursor) > floor)) {
    streak += 1;
    cursor = previousMonth(cursor);
  }
  return streak;
}

/**
 * The instant a perk lapses for lack of orders: the end of the N-th local day after `since`, the last day with
 * an order (or the day of enrolment, before any order).
 */
export function lapsesAt(lapseDays: number, since: LocalDate, timezone: string): number {
  return startOfLocalDate(addDays(since, lapseDays + 1), timezone);
}

/**
 * The latest lapse the member has since ordered after: a gap of more than N days between two active days
 * (or between enrolment and the first order). Null when there was none.
 */
export function lapseBeforeReturn(lapseDays: number, facts: MemberPerkFacts, timezone: string): number | null {
  let latest: number | null = null;
  for (const { after, on } of facts.activeDays.returns) {
    const since = after ?? localDate(facts.enrolledAt, timezone);
    if (daysFrom(since, on) <= lapseDays) continue;
    const at = lapsesAt(lapseDays, since, timezone);
    if (latest === null || at > latest) latest = at;
  }
  return latest;
}

/**
 * @example perkStatus(perk, facts, at, "Asia/Shanghai")
 * // { unlocked: false, lapsed: false, progress: [{ condition: "streakMonths", required: 3, current: 2, met: false }] }
 */
export function perkStatus(perk: PerkDef, facts: MemberPerkFacts, at: number, timezone: string) {
  const u = perk.unlock;
  const progress: ConditionProgress[] = [];
  if (u.tenureDays !== undefined) {
    const days = localDaysBetween(facts.enrolledAt, at, timezone);
    progress.push({ condition: "tenureDays", required: u.tenureDays, current: days, met: days >= u.tenureDays });
  }
  if (u.tier !== undefined) {
    const need = facts.tierRanks.get(u.tier);
    const met = need !== undefined && facts.tierRank !== null && facts.tierRank >= need;
    const current = [...facts.tierRanks].find(([, rank]) => rank === facts.tierRank)?.[0] ?? null;
    progress.push({ condition: "tier", required: u.tier, current, met });
  }
  if (u.lifetimeSpend !== undefined)
    progress.push({
      condition: "lifetimeSpend",
      required: u.lifetimeSpend,
      current: facts.lifetimeSpend,
      met: facts.lifetimeSpend >= u.lifetimeSpend,
    });
  const days = perk.lapseAfterInactiveDays;
  const since = facts.activeDays.last ?? localDate(facts.enrolledAt, timezone);
  const lapseAt = days === null ? null : lapsesAt(days, since, timezone);
  const lapsed = lapseAt !== null && lapseAt <= at;
  const missedLapseAt = days === null ? null : lapseBeforeReturn(days, facts, timezone);
  if (u.streakMonths !== undefined) {
    // Counted after the last lapse the member's order days show: missed (ordered after since), or in force now.
    // Not the one recorded: an order posted late (occurredAt) can fill the gap it was recorded for.
    const lapses = [missedLapseAt, lapsed ? lapseAt : null].filter((t): t is number => t !== null);
    const streak = streakMonths(facts.orderMonths, at, timezone, lapses.length ? Math.max(...lapses) : null);
    progress.push({ condition: "streakMonths", required: u.streakMonths, current: streak, met: streak >= u.streakMonths });
  }
  return { unlocked: !lapsed && progress.every((p) => p.met), lapsed, lapseAt, missedLapseAt, progress };
}

/** The quota period an instant falls in, locally (null: no quota). */
export function quotaPeriod(perk: PerkDef, at: number, timezone: string): string | null {
  if (!perk.quota) return null;
  const d = localDate(at, timezone);
  return perk.quota.per === "month" ? `m${monthOf(d)}` : `y${d.year}`;
}

/**
 * Period keys of member activity (member_periods.period), in the merchant's timezone. Day keys sort by
 * date and every day key sorts before every month key (`d` < `m`), so a range of day keys never picks up a
 * month row; the lifetime row `all` sorts before both.
 *
 * @example
 * activityKeys(Date.parse("2026-12-31T16:30:00Z"), "Asia/Shanghai") // { day: "d2027-01-01", month: "m2027-01" }
 */
import { type LocalDate, localDate } from "../platform/timezone";

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

export function dayKey(date: LocalDate): string {
  return `d${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

/** The local date a day key names: the inverse of dayKey. */
export function dateOfDayKey(key: string): LocalDate {
  return { year: Number(key.slice(1, 5)), month: Number(key.slice(6, 8)), day: Number(key.slice(9, 11)) };
}

export function monthKey(date: Pick<LocalDate, "year" | "month">): string {
  return `m${pad(date.year, 4)}-${pad(date.month)}`;
}

/** Sorts after every day key and before every month key: the open end of a day-key range. */
export const DAY_KEYS_END = "d~";

/** The member's whole history in one row (lifetime net spend), outside every day and month range. */
export const LIFETIME_KEY = "all";

export interface ActivityKeys {
  day: string;
  month: string;
}

/** The day and month an instant falls in, locally. */
export function activityKeys(atMs: number, timezone: string): ActivityKeys {
  const date = localDate(atMs, timezone);
  return { day: dayKey(date), month: monthKey(date) };
}

/** What one order or refund adds to a member's periods (negative for refunds). */
export interface ActivityDelta {
  spend: number;
  points: number;
  orders: number;
}

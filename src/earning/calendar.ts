/**
 * Calendar conditions of rules, pure: weekdays, birthday months and enrolment anniversaries in the merchant's
 * timezone.
 */
import { type LocalDate, localDate } from "../platform/timezone";

/** ISO weekday (1 = Monday) of an instant in a time zone: from its local date (zone offsets are cached per hour). */
export function isoWeekday(atMs: number, timezone: string): number {
  const { year, month, day } = localDate(atMs, timezone);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() || 7;
}

/** The month of a stored birthday (YYYY-MM-DD or MM-DD), or null. */
export function birthdayMonthOf(birthday: string | null | undefined): number | null {
  if (!birthday) return null;
  const month = Number(birthday.length === 10 ? birthday.slice(5, 7) : birthday.slice(0, 2));
  return month >= 1 && month <= 12 ? month : null;
}

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/**
 * Whether `order` falls on an anniversary of `enrolled` (local dates): same month and day, a later year;
 * a member enrolled on 29 February celebrates on 28 February in other years.
 *
 * @example isAnniversary({ year: 2025, month: 2, day: 29 }, { year: 2026, month: 2, day: 28 }) // false: 2025 has no 29 Feb
 */
export function isAnniversary(enrolled: LocalDate, order: LocalDate): boolean {
  if (order.year <= enrolled.year || order.month !== enrolled.month) return false;
  if (enrolled.month === 2 && enrolled.day === 29 && !isLeap(order.year)) return order.day === 28;
  return order.day === enrolled.day;
}

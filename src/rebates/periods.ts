/**
 * Rebate period keys (`2026`, `2026-Q3`, `2026-07`) and the month rows of member_periods they cover, in the
 * merchant's timezone. Pure: the service reads and writes.
 *
 * @example
 * periodRange("2026-Q3", "quarter") // { ok: true, firstMonth: "m2026-07", lastMonth: "m2026-09", start: {...}, end: {...} }
 */
import { monthKey } from "../activity/periods";
import type { RebatePeriod } from "../db/enums";
import { type LocalDate, startOfLocalDate } from "../platform/timezone";

/** The shape of every period key; which one is allowed depends on the program's period. */
export const PERIOD_KEY_PATTERN = /^(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$/;

export interface PeriodRange {
  kind: RebatePeriod;
  /** First and last month keys of member_periods in the period (`m2026-07`). */
  firstMonth: string;
  lastMonth: string;
  /** Local first day of the period, and of the period after it (where it ends). */
  start: LocalDate;
  end: LocalDate;
}

/** The kind of a period key (`2026` year, `2026-Q3` quarter, `2026-07` month), or null when malformed. */
export function parsePeriodKey(key: string): PeriodRange | null {
  const match = PERIOD_KEY_PATTERN.exec(key);
  if (!match) return null;
  const year = Number(match[1]);
  if (year < 2000) return null;
  const [kind, first, months]: [RebatePeriod, number, number] = match[2]
    ? ["quarter", (Number(match[2]) - 1) * 3 + 1, 3]
    : match[3]
      ? ["month", Number(match[3]), 1]
      : ["year", 1, 12];
  const last = first + months - 1;
  const end = last === 12 ? { year: year + 1, month: 1, day: 1 } : { year, month: last + 1, day: 1 };
  return {
    kind,
    firstMonth: monthKey({ year, month: first }),
    lastMonth: monthKey({ year, month: last }),
    start: { year, month: first, day: 1 },
    end,
  };
}

/**
 * Every other key whose months overlap the period's: its year, its quarter(s) and its month(s). A program
 * may change its period kind (month to quarter, say) after closing some periods; a close of any of these
 * would share the same spend, and the profit it came from, a second time.
 *
 * @example
 * overlappingKeys("2026-07", parsePeriodKey("2026-07")!) // ["2026", "2026-Q3"]
 */
export function overlappingKeys(periodKey: string, range: PeriodRange): string[] {
  const { year, month: first } = range.start;
  const months = range.kind === "year" ? 12 : range.kind === "quarter" ? 3 : 1;
  const keys = new Set<string>([String(year)]);
  for (let month = first; month < first + months; month++) {
    keys.add(`${year}-Q${Math.ceil(month / 3)}`);
    keys.add(`${year}-${String(month).padStart(2, "0")}`);
  }
  keys.delete(periodKey);
  return [...keys];
}

/** An example key of a period kind, for error messages. */
export const PERIOD_KEY_EXAMPLE: Record<RebatePeriod, string> = { month: "2026-07", quarter: "2026-Q3", year: "2026" };

/** Whether the period has ended at `at` in `timezone` (its last local day is over). */
export function periodEnded(range: PeriodRange, at: number, timezone: string): boolean {
  return at >= startOfLocalDate(range.end, timezone);
}

/**
 * Calendar arithmetic in a merchant's time zone (Intl only, no dependency). Periods and expiry dates
 * are local days; instants are UTC milliseconds.
 */
const partFormatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = partFormatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    partFormatters.set(timezone, f);
  }
  return f;
}

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

interface LocalParts extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

function formattedParts(atMs: number, timezone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(timezone).formatToParts(atMs)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Offset of the zone from UTC at an instant, in whole seconds as ms, asking Intl. */
function formattedOffsetMs(atMs: number, timezone: string): number {
  const p = formattedParts(atMs, timezone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (atMs - (((atMs % 1000) + 1000) % 1000));
}

const HOUR_MS = 3_600_000;
/** Offsets by zone and UTC hour, for hours with one offset throughout (formatToParts dominated checkout CPU). */
const hourOffsets = new Map<string, number>();
const MAX_CACHED_HOURS = 4096;

/**
 * Offset of the zone from UTC at an instant, in ms (Asia/Shanghai: +8 h). An hour whose first and last
 * second have the same offset has no transition inside it (no zone changes its offset twice within an
 * hour), so its offset is cached and the local time follows by arithmetic; other hours ask Intl each time.
 */
export function zoneOffsetMs(atMs: number, timezone: string): number {
  const hourStart = Math.floor(atMs / HOUR_MS) * HOUR_MS;
  const key = `${timezone} ${hourStart}`;
  const cached = hourOffsets.get(key);
  if (cached !== undefined) return cached;
  const first = formattedOffsetMs(hourStart, timezone);
  if (first !== formattedOffsetMs(hourStart + HOUR_MS - 1000, timezone)) return formattedOffsetMs(atMs, timezone);
  if (hourOffsets.size >= MAX_CACHED_HOURS) hourOffsets.clear();
  hourOffsets.set(key, first);
  return first;
}

function localParts(atMs: number, timezone: string): LocalParts {
  const local = new Date(atMs + zoneOffsetMs(atMs, timezone));
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
  };
}

/** The local calendar date of an instant. */
export function localDate(atMs: number, timezone: string): LocalDate {
  const { year, month, day } = localParts(atMs, timezone);
  return { year, month, day };
}

const DAY_MS = 24 * HOUR_MS;

const sameDate = (a: LocalDate, b: LocalDate) => a.year === b.year && a.month === b.month && a.day === b.day;

/**
 * The instant a local date starts: its first instant, which is midnight at the offset then in force, or, where
 * a DST change skips midnight (Santiago, Havana: 00:00 -> 01:00), the change itself, and the first of two
 * midnights where one repeats (Gaza). Each is the date's naive midnight minus an offset in force within a day
 * of it (no zone changes offset twice in a day), so the start is the earliest such candidate still on the date.
 */
export function startOfLocalDate(date: LocalDate, timezone: string): number {
  const naive = Date.UTC(date.year, date.month - 1, date.day);
  let start = Number.POSITIVE_INFINITY;
  for (const probe of [naive - DAY_MS, naive, naive + DAY_MS]) {
    const candidate = naive - zoneOffsetMs(probe, timezone);
    if (candidate < start && sameDate(localDate(candidate, timezone), date)) start = candidate;
  }
  // Unreachable for real zones; kept so a date always maps to an instant.
  return Number.isFinite(start) ? start : naive - zoneOffsetMs(naive, timezone);
}

/** Adds calendar days to a local date (month and year roll over). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The instant points earned at `earnedAtMs` expire under "N days after earning, at the end of that day":
 * the start of the local day after (earned day + N). Expired means now >= this instant.
 *
 * @example endOfLocalDayAfter(Date.parse("2026-03-01T02:00:00Z"), 30, "Asia/Shanghai") // 2026-03-31T16:00:00.000Z
 */
export function endOfLocalDayAfter(earnedAtMs: number, days: number, timezone: string): number {
  return startOfLocalDate(addDays(localDate(earnedAtMs, timezone), days + 1), timezone);
}

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoWeekday } from "../../src/earning/calendar";
import { addDays, endOfLocalDayAfter, localDate, startOfLocalDate, zoneOffsetMs } from "../../src/platform/timezone";

describe("time zone arithmetic", () => {
  it("ends a day at the merchant's midnight", () => {
    // Earned 1 March 10:00 in Shanghai, 30 days: valid through 31 March, expired from 1 April 00:00 Shanghai.
    expect(new Date(endOfLocalDayAfter(Date.parse("2026-03-01T02:00:00Z"), 30, "Asia/Shanghai")).toISOString()).toBe(
      "2026-03-31T16:00:00.000Z",
    );
    // Earned at 23:30 Shanghai on 28 Feb (still 28 Feb locally although 15:30 UTC).
    expect(new Date(endOfLocalDayAfter(Date.parse("2026-02-28T15:30:00Z"), 1, "Asia/Shanghai")).toISOString()).toBe(
      "2026-03-01T16:00:00.000Z",
    );
  });

  it("handles daylight saving changes", () => {
    // New York springs forward on 8 March 2026: midnight is still at -05:00, noon at -04:00.
    expect(new Date(startOfLocalDate({ year: 2026, month: 3, day: 8 }, "America/New_York")).toISOString()).toBe(
      "2026-03-08T05:00:00.000Z",
    );
    expect(new Date(startOfLocalDate({ year: 2026, month: 3, day: 9 }, "America/New_York")).toISOString()).toBe(
      "2026-03-09T04:00:00.000Z",
    );
    expect(zoneOffsetMs(Date.parse("2026-07-01T12:00:00Z"), "America/New_York")).toBe(-4 * 3600_000);
  });

  it("starts a day whose midnight a DST change skips at the change, not an hour before on the day before", () => {
    // Santiago springs forward at 00:00 on 6 September 2026: the day starts at 01:00 -03:00.
    expect(new Date(startOfLocalDate({ year: 2026, month: 9, day: 6 }, "America/Santiago")).toISOString()).toBe(
      "2026-09-06T04:00:00.000Z",
    );
  });

  it("gives every date's first instant, in zones whose changes skip or repeat midnight", () => {
    const zones = [
      "America/Santiago",
      "America/Asuncion",
      "America/Havana",
      "Asia/Gaza",
      "America/New_York",
      "Australia/Lord_Howe",
      "Pacific/Apia",
      "Asia/Kathmandu",
    ];
    for (const zone of zones)
      for (let date = { year: 2024, month: 1, day: 1 }; date.year < 2027; date = addDays(date, 1)) {
        const start = startOfLocalDate(date, zone);
        const label = `${zone} ${date.year}-${date.month}-${date.day}`;
        expect(localDate(start, zone), label).toEqual(date);
        expect(localDate(start - 1, zone), label).not.toEqual(date);
      }
  });
});

describe("cached hour offsets", () => {
  it("give the weekday Intl gives, in every zone", () => {
    const names: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }), (zone, at) => {
        const intlDay = new Intl.DateTimeFormat("en-US", { timeZone: zone, weekday: "short" }).format(at);
        expect(isoWeekday(at, zone)).toBe(names[intlDay]);
      }),
      { numRuns: 500 },
    );
  });

  const ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "UTC",
  ];
  const formatters = new Map<string, Intl.DateTimeFormat>();
  const intl = (atMs: number, timezone: string) => {
    const f =
      formatters.get(timezone) ??
      new Intl.DateTimeFormat("en-US", {
        timeZone: timezone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    formatters.set(timezone, f);
    const p = Object.fromEntries(
      f
        .formatToParts(atMs)
        .filter((x) => x.type !== "literal")
        .map((x) => [x.type, Number(x.value)]),
    );
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - (atMs - (((atMs % 1000) + 1000) % 1000));
  };

  it("agree with Intl at every instant, across DST changes and odd offsets", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }), (zone, at) => {
        expect(zoneOffsetMs(at, zone)).toBe(intl(at, zone));
      }),
      { numRuns: 2000 },
    );
    // Around the transitions themselves: every minute of 2026's DST days in New York and Lord Howe.
    for (const [zone, day] of [
      ["America/New_York", Date.UTC(2026, 2, 8)],
      ["America/New_York", Date.UTC(2026, 10, 1)],
      ["Australia/Lord_Howe", Date.UTC(2026, 3, 4)],
      ["Australia/Lord_Howe", Date.UTC(2026, 9, 3)],
    ] as const)
      for (let at = day - 86_400_000; at < day + 2 * 86_400_000; at += 60_000)
        expect(zoneOffsetMs(at, zone)).toBe(intl(at, zone));
  }, 60_000);
});

import { describe, expect, it } from "vitest";
import { endOfLocalDayAfter, startOfLocalDate, zoneOffsetMs } from "../../src/platform/timezone";

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
});

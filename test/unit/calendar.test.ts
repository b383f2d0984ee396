import { describe, expect, it } from "vitest";
import { birthdayMonthOf, isAnniversary } from "../../src/earning/calendar";

describe("calendar conditions", () => {
  it("reads the month of YYYY-MM-DD and MM-DD birthdays", () => {
    expect(birthdayMonthOf("1990-11-15")).toBe(11);
    expect(birthdayMonthOf("02-29")).toBe(2);
    expect(birthdayMonthOf(null)).toBeNull();
  });

  it("anniversaries fall on the same local day of a later year; 29 February on 28 February in other years", () => {
    expect(isAnniversary({ year: 2024, month: 5, day: 3 }, { year: 2025, month: 5, day: 3 })).toBe(true);
    expect(isAnniversary({ year: 2024, month: 5, day: 3 }, { year: 2024, month: 5, day: 3 })).toBe(false);
    expect(isAnniversary({ year: 2024, month: 5, day: 3 }, { year: 2025, month: 5, day: 4 })).toBe(false);
    expect(isAnniversary({ year: 2024, month: 2, day: 29 }, { year: 2025, month: 2, day: 28 })).toBe(true);
    expect(isAnniversary({ year: 2024, month: 2, day: 29 }, { year: 2028, month: 2, day: 29 })).toBe(true);
    expect(isAnniversary({ year: 2024, month: 2, day: 29 }, { year: 2028, month: 2, day: 28 })).toBe(false);
  });
});

/**
 * Property: a perk's state does not depend on when anyone looked. A member orders on some local days; the
 * perk's state is read at random instants in between (each read recording what it finds, as the perks read and
 * the perk-lapse job do) or only once at the end. Both end with the same recorded lapse, the same unlock and the
 * same streak, and the recorded lapse is the latest one an oracle finds by walking the days: a gap of more than
 * N days after an active day (or enrolment) lapses at the start of day N + 1.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PerkStatusSeen, perkTransitions, type StoredPerkState, transitionState } from "../../src/perks/transitions";
import { type ActiveDays, type PerkDef, perkStatus } from "../../src/perks/unlock";
import { addDays, type LocalDate, localDate, startOfLocalDate } from "../../src/platform/timezone";
import { propertySeed } from "../support/seeds";

const ZONES = ["Asia/Shanghai", "America/Santiago", "UTC", "Pacific/Kiritimati", "America/Los_Angeles"];
const HOUR = 3_600_000;

const scenario = fc.record({
  timezone: fc.constantFrom(...ZONES),
  enrolDay: fc.integer({ min: 0, max: 800 }),
  lapseDays: fc.integer({ min: 1, max: 20 }),
  streakMonths: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  // Day offsets from enrolment with an order (local noon), and the reads (day offset, local hour).
  orderDays: fc.uniqueArray(fc.integer({ min: 0, max: 150 }), { maxLength: 12 }),
  reads: fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 23 })), { maxLength: 12 }),
  endDay: fc.integer({ min: 150, max: 200 }),
});

const key = (d: LocalDate) => `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
const dayDiff = (a: LocalDate, b: LocalDate) =>
  Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);

describe("perk lapses", () => {
  it("the recorded lapse, the unlock and the streak are the same however often the state was read", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const tz = s.timezone;
        const enrolDate = addDays({ year: 2025, month: 1, day: 1 }, s.enrolDay);
        const at = (offset: number, hour: number) => startOfLocalDate(addDays(enrolDate, offset), tz) + hour * HOUR;
        const enrolledAt = at(0, 9);
        const days = [...s.orderDays].sort((a, b) => a - b).map((o) => ({ date: addDays(enrolDate, o), at: at(o, 12) }));
        const perk: PerkDef = {
          id: "p",
          name: "p",
          value: 1,
          unlock: s.streakMonths === undefined ? {} : { streakMonths: s.streakMonths },
          quota: null,
          lapseAfterInactiveDays: s.lapseDays,
        };
        // What the reads see at an instant: the days with an order placed by then.
        const factsAt = (t: number) => {
          const seen = days.filter((d) => d.at <= t);
          const activeDays: ActiveDays = {
            last: seen.at(-1)?.date ?? null,
            returns: seen.map((d, i) => ({ after: i === 0 ? null : (seen[i - 1]?.date ?? null), on: d.date })),
          };
          const orderMonths = new Set(seen.map((d) => key(d.date).slice(0, 7)));
          return { enrolledAt, activeDays, orderMonths, tierRank: null, tierRanks: new Map<string, number>(), lifetimeSpend: 0 };
        };
        const observe = (stored: StoredPerkState | undefined, t: number) => {
          const status: PerkStatusSeen = perkStatus(perk, { ...factsAt(t), lapsedAt: stored?.lapsedAt ?? null }, t, tz);
          let state = stored;
          for (const transition of perkTransitions(stored, status, s.lapseDays, t)) state = transitionState(state, transition);
          return { state, status };
        };
        const end = at(s.endDay, 18);
        let often: StoredPerkState | undefined;
        const reads = s.reads.map(([offset, hour]) => at(offset, hour)).filter((t) => t < end);
        for (const t of reads.sort((x, y) => x - y)) often = observe(often, t).state;
        const a = observe(often, end);
        const b = observe(undefined, end);
        expect(a.state?.lapsedAt ?? null).toBe(b.state?.lapsedAt ?? null);
        expect(a.state?.unlocked ?? false).toBe(b.state?.unlocked ?? false);
        expect(a.status.progress).toEqual(b.status.progress);

        // Oracle: walk the active days from enrolment; the latest lapse at or before the end.
        let latest: number | null = null;
        let since = localDate(enrolledAt, tz);
        for (const d of [...days.map((x) => x.date), null]) {
          const lapse = startOfLocalDate(addDays(since, s.lapseDays + 1), tz);
          const lapsed = d === null ? lapse <= end : dayDiff(since, d) > s.lapseDays;
          if (lapsed) latest = lapse;
          if (d) since = d;
        }
        expect(b.state?.lapsedAt ?? null).toBe(latest);
      }),
      { numRuns: 400, seed: propertySeed(20261201) },
    );
  });
});

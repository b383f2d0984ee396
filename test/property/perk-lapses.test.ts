/**
 * Property: a perk's state does not depend on when anyone looked. A member orders on some local days; the
 * perk's state is read at random instants in between (each read recording what it finds, as the perks read and
 * the perk-lapse job do) or only once at the end. Both end with the same recorded lapse, the same unlock and the
 * same streak, and the recorded lapse is the latest one an oracle finds by walking the days: a gap of more than
 * N days after an active day (or enrolment) lapses at the start of day N + 1. With orders posted late (a past
 * occurredAt), a read may record a lapse that a later-posted order fills: the unlock and the streak still end the
 * same, as they follow the order days, not what a read saw of them.
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

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

/**
 * Reads the perk at the scenario's instants (recording what each finds) and once at the end from nothing.
 * `lateBy[i]`: days after its date that the i-th order is posted (occurredAt in the past); reads see an order
 * once it is posted.
 */
function readOftenAndOnce(s: Scenario, lateBy: readonly number[] = [], endDay = s.endDay) {
  const tz = s.timezone;
  const enrolDate = addDays({ year: 2025, month: 1, day: 1 }, s.enrolDay);
  const at = (offset: number, hour: number) => startOfLocalDate(addDays(enrolDate, offset), tz) + hour * HOUR;
  const enrolledAt = at(0, 9);
  const days = [...s.orderDays]
    .sort((a, b) => a - b)
    .map((o, i) => ({ date: addDays(enrolDate, o), at: at(o + (lateBy[i] ?? 0), 12) }));
  const perk: PerkDef = {
    id: "p",
    name: "p",
    value: 1,
    unlock: s.streakMonths === undefined ? {} : { streakMonths: s.streakMonths },
    quota: null,
    lapseAfterInactiveDays: s.lapseDays,
  };
  // What the reads see at an instant: the days with an order posted by then.
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
    const status: PerkStatusSeen = perkStatus(perk, factsAt(t), t, tz);
    let state = stored;
    for (const transition of perkTransitions(stored, status, s.lapseDays, t)) state = transitionState(state, transition);
    return { state, status };
  };
  // After every order is posted.
  const end = Math.max(at(endDay, 18), ...days.map((d) => d.at + HOUR));
  let often: StoredPerkState | undefined;
  const reads = s.reads.map(([offset, hour]) => at(offset, hour)).filter((t) => t < end);
  for (const t of reads.sort((x, y) => x - y)) often = observe(often, t).state;
  return { a: observe(often, end), b: observe(undefined, end), days, enrolledAt, end, tz };
}

describe("perk lapses", () => {
  it("the unlock and the streak are the same however often the state was read, also when orders are posted late", () => {
    const late = fc.record({
      s: scenario,
      lateBy: fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 12 }),
      // The end comes within the lapse of the last order, so no lapse in force at the end hides an earlier one.
      slack: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(
      fc.property(late, ({ s, lateBy, slack }) => {
        const last = Math.max(0, ...s.orderDays);
        const { a, b } = readOftenAndOnce(s, lateBy, last + Math.min(slack, s.lapseDays - 1));
        expect(a.status.unlocked).toBe(b.status.unlocked);
        expect(a.status.progress).toEqual(b.status.progress);
      }),
      { numRuns: 400, seed: propertySeed(20261130) },
    );
  });

  it("the recorded lapse, the unlock and the streak are the same however often the state was read", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { a, b, days, enrolledAt, end, tz } = readOftenAndOnce(s);
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

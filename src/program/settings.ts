/** Program settings as plain data, with the defaults a new merchant starts from. */
import type { programs } from "../db/schema";
import { DAY_MS } from "../platform/clock";
import { mulDiv } from "../platform/math";
import { endOfLocalDayAfter } from "../platform/timezone";

export type ExpiryPolicy = { policy: "none" } | { policy: "after_earn"; days: number } | { policy: "inactivity"; days: number };

export interface ProgramSettings {
  pointValue: { points: number; amount: number };
  pendingDays: number;
  expiry: ExpiryPolicy;
  autoEnroll: boolean;
}

export const DEFAULT_PROGRAM: ProgramSettings = {
  pointValue: { points: 100, amount: 100 },
  pendingDays: 0,
  expiry: { policy: "none" },
  autoEnroll: true,
};

export function programFromRow(row: typeof programs.$inferSelect | undefined | null): ProgramSettings {
  if (!row) return DEFAULT_PROGRAM;
  return {
    pointValue: { points: row.pointValuePoints, amount: row.pointValueAmount },
    pendingDays: row.pendingDays,
    expiry:
      row.expiryPolicy === "none" || row.expiryDays === null
        ? { policy: "none" }
        : { policy: row.expiryPolicy, days: row.expiryDays },
    autoEnroll: row.autoEnroll,
  };
}

export function programToRow(merchantId: string, settings: ProgramSettings, at: number): typeof programs.$inferInsert {
  return {
    merchantId,
    pointValuePoints: settings.pointValue.points,
    pointValueAmount: settings.pointValue.amount,
    pendingDays: settings.pendingDays,
    expiryPolicy: settings.expiry.policy,
    expiryDays: settings.expiry.policy === "none" ? null : settings.expiry.days,
    autoEnroll: settings.autoEnroll,
    updatedAt: at,
  };
}

/** Worth of points in minor units, rounded down (the merchant never gives more than the stated rate). */
export function pointsValue(settings: ProgramSettings, points: number): number {
  return mulDiv(points, settings.pointValue.amount, settings.pointValue.points);
}

/** When a new lot becomes spendable, and whether it starts pending. */
export function lotAvailability(settings: ProgramSettings, occurredAt: number, at: number): { availableAt: number; pending: boolean } {
  const availableAt = Math.max(at, occurredAt + settings.pendingDays * DAY_MS);
  return { availableAt, pending: availableAt > at };
}

/** Expiry instant of a lot earned at `earnedAt` (null: the lot itself never expires). */
export function lotExpiry(settings: ProgramSettings, earnedAt: number, timezone: string): number | null {
  return settings.expiry.policy === "after_earn" ? endOfLocalDayAfter(earnedAt, settings.expiry.days, timezone) : null;
}

/** The instant a member's points all expire under the inactivity policy (null under other policies). */
export function inactivityDeadline(settings: ProgramSettings, lastActivity: number, timezone: string): number | null {
  return settings.expiry.policy === "inactivity" ? endOfLocalDayAfter(lastActivity, settings.expiry.days, timezone) : null;
}

/** The account fields that tell what is due for a member. */
export interface MemberClock {
  nextReleaseAt: number | null;
  lastOrderAt: number | null;
  enrolledAt: number;
}

/** What must be settled for a member before an operation at `at` (see LedgerWriter.settle). */
export function dueFor(member: MemberClock, settings: ProgramSettings, timezone: string, at: number, expireDue: boolean) {
  const lastActivity = member.lastOrderAt ?? member.enrolledAt;
  const deadline = inactivityDeadline(settings, lastActivity, timezone);
  return {
    releaseDue: member.nextReleaseAt !== null && member.nextReleaseAt <= at,
    expireDue,
    ...(deadline !== null && deadline <= at ? { inactiveSince: lastActivity } : {}),
  };
}

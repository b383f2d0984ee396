/** Program settings as plain data, with the defaults a new merchant starts from. */
import type { programs } from "../db/schema";
import type { DueHold, SettleInput } from "../ledger/statements";
import { DAY_MS } from "../platform/clock";
import { mulDiv } from "../platform/math";
import { endOfLocalDayAfter } from "../platform/timezone";

/** What a referral pays (src/referrals): null when referrals are off. */
export interface ReferralSettings {
  referrerPoints: number;
  refereePoints: number;
  /** Least net amount (minor units) the referee's first order must keep, refunds deducted. */
  minOrderAmount: number;
}

/** A first order of 1 minor unit qualifies unless the merchant asks for more. */
export const DEFAULT_REFERRAL_MIN_ORDER_AMOUNT = 1;

/**
 * `since` (inactivity only, never in replies): when the policy took effect as it stands; a member's inactivity
 * counts from the later of it and the last activity.
 */
export type ExpiryPolicy =
  | { policy: "none" }
  | { policy: "after_earn"; days: number }
  | { policy: "inactivity"; days: number; since?: number };

export interface ProgramSettings {
  pointValue: { points: number; amount: number };
  pendingDays: number;
  expiry: ExpiryPolicy;
  autoEnroll: boolean;
  /** The part of an order paid with points (redemptions linked by orderId) earns too. */
  earnOnPointsPaid: boolean;
  referral: ReferralSettings | null;
}

export const DEFAULT_PROGRAM: ProgramSettings = {
  pointValue: { points: 100, amount: 100 },
  pendingDays: 0,
  expiry: { policy: "none" },
  autoEnroll: true,
  earnOnPointsPaid: false,
  referral: null,
};

/** The referral settings stored as three columns (any null: off). */
export function referralFromColumns(
  referrerPoints: number | null | undefined,
  refereePoints: number | null | undefined,
  minOrderAmount: number | null | undefined,
): ReferralSettings | null {
  if (referrerPoints == null || refereePoints == null) return null;
  return { referrerPoints, refereePoints, minOrderAmount: minOrderAmount ?? DEFAULT_REFERRAL_MIN_ORDER_AMOUNT };
}

/** The expiry policy stored as three columns. */
export function expiryFromColumns(
  policy: string | null | undefined,
  days: number | null | undefined,
  since: number | null | undefined,
): ExpiryPolicy {
  if (days == null) return { policy: "none" };
  if (policy === "after_earn") return { policy, days };
  if (policy === "inactivity") return since == null ? { policy, days } : { policy, days, since };
  return { policy: "none" };
}

/** The policy as the merchant set it (what replies show): without when it took effect. */
export function publicExpiry(expiry: ExpiryPolicy): ExpiryPolicy {
  return expiry.policy === "inactivity" ? { policy: expiry.policy, days: expiry.days } : expiry;
}

export function programFromRow(row: typeof programs.$inferSelect | undefined | null): ProgramSettings {
  if (!row) return DEFAULT_PROGRAM;
  return {
    pointValue: { points: row.pointValuePoints, amount: row.pointValueAmount },
    pendingDays: row.pendingDays,
    expiry: expiryFromColumns(row.expiryPolicy, row.expiryDays, row.expirySince),
    autoEnroll: row.autoEnroll,
    earnOnPointsPaid: row.earnOnPointsPaid,
    referral: referralFromColumns(row.referralReferrerPoints, row.referralRefereePoints, row.referralMinOrderAmount),
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
    earnOnPointsPaid: settings.earnOnPointsPaid,
    referralReferrerPoints: settings.referral?.referrerPoints ?? null,
    referralRefereePoints: settings.referral?.refereePoints ?? null,
    referralMinOrderAmount: settings.referral?.minOrderAmount ?? null,
    updatedAt: at,
  };
}

/** The allowed browser origins stored as a JSON array (null: none). */
export function originsFromColumn(value: string | null | undefined): string[] {
  if (!value) return [];
  const parsed: unknown = JSON.parse(value);
  return Array.isArray(parsed) ? parsed.filter((o): o is string => typeof o === "string") : [];
}

/** Worth of points in minor units, rounded down (the merchant never gives more than the stated rate). */
export function pointsValue(settings: ProgramSettings, points: number): number {
  return mulDiv(points, settings.pointValue.amount, settings.pointValue.points);
}

/** When a new lot becomes spendable, and whether it starts pending. */
export function lotAvailability(
  settings: ProgramSettings,
  occurredAt: number,
  at: number,
): { availableAt: number; pending: boolean } {
  const availableAt = Math.max(at, occurredAt + settings.pendingDays * DAY_MS);
  return { availableAt, pending: availableAt > at };
}

/** Expiry instant of a lot earned at `earnedAt` (null: the lot itself never expires). */
export function lotExpiry(settings: ProgramSettings, earnedAt: number, timezone: string): number | null {
  return settings.expiry.policy === "after_earn" ? endOfLocalDayAfter(earnedAt, settings.expiry.days, timezone) : null;
}

/**
 * The instant a member's points all expire under the inactivity policy (null under other policies): the end
 * of the local day `days` after the last activity, or after the policy took effect if that came later.
 */
export function inactivityDeadline(
  settings: Pick<ProgramSettings, "expiry">,
  lastActivity: number,
  timezone: string,
): number | null {
  const { expiry } = settings;
  if (expiry.policy !== "inactivity") return null;
  return endOfLocalDayAfter(Math.max(lastActivity, expiry.since ?? 0), expiry.days, timezone);
}

/** The account fields that tell what is due for a member. */
export interface MemberClock {
  nextReleaseAt: number | null;
  /** Last order, credit or spend as posted (null: none since enrolment). */
  lastActivityAt: number | null;
  enrolledAt: number;
  /** Holds past their time, still open. */
  dueHolds?: readonly DueHold[];
}

/** Inactivity counts from the last activity as posted, or from enrolment: never from a backdated order date. */
export function lastActivity(member: Pick<MemberClock, "lastActivityAt" | "enrolledAt">): number {
  return member.lastActivityAt ?? member.enrolledAt;
}

/** The clock of member row alias `m` as a JSON MemberClock, for jobs that read many members in one statement. */
export const memberClockJsonSql = (m: string) =>
  `json_object('nextReleaseAt', ${m}.next_release_at, 'lastActivityAt', ${m}.last_activity_at, 'enrolledAt', ${m}.enrolled_at)`;

/** What must be settled for a member before an operation at `at` (see LedgerWriter.settle). */
export function dueFor(
  member: MemberClock,
  settings: Pick<ProgramSettings, "expiry">,
  timezone: string,
  at: number,
  expireDue: boolean,
): SettleInput {
  const since = lastActivity(member);
  const deadline = inactivityDeadline(settings, since, timezone);
  return {
    releaseDue: member.nextReleaseAt !== null && member.nextReleaseAt <= at,
    expireDue,
    ...(deadline !== null && deadline <= at ? { inactiveSince: since } : {}),
    ...(member.dueHolds?.length ? { dueHolds: member.dueHolds } : {}),
  };
}

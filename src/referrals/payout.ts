/**
 * Paying a referral: the status moves pending -> paid only if, inside the batch, it is still pending, due,
 * and its first order still holds the minimum net of refunds; a guard aborts the batch otherwise, so the
 * `bonus` credits of both members are written exactly once, whatever runs or refunds overlap. Each credit
 * first settles what is due for its member, as an order's credit does: a bonus is activity, and points
 * past the inactivity deadline must expire before it moves the member's last activity to now.
 */
import { LedgerWriter } from "../ledger/statements";
import { MINUTE_MS } from "../platform/clock";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import { DEFAULT_PROGRAM, dueFor, expiryFromColumns, lotExpiry, type MemberClock, memberClockJsonSql } from "../program/settings";
import { BELOW_MINIMUM } from "./clawback";

/** A due referral as the payout job reads it, with what its credits need of the program. */
export interface DueReferral {
  merchantId: string;
  refereeId: string;
  referrerId: string;
  firstOrderId: string;
  referrerPoints: number;
  refereePoints: number;
  minOrderAmount: number;
  /** The first order's amount net of refunds, as read (the batch checks it again). */
  net: number;
  timezone: string;
  expiryPolicy: string | null;
  expiryDays: number | null;
  expirySince: number | null;
  /** Each member's clock as read, a JSON MemberClock (activity since the read wins: see memberScopes.inactive). */
  referrerClock: string;
  refereeClock: string;
}

const key = (r: DueReferral): Sql => sql`merchant_id = ${r.merchantId} AND referee_id = ${r.refereeId}`;
const netOfFirstOrder = sql`(SELECT o.amount - o.refunded_amount FROM orders o
  WHERE o.merchant_id = referrals.merchant_id AND o.id = referrals.first_order_id)`;

/** The clock of member row `m` as a JSON MemberClock. */
const clockOf = (m: string): Sql => sql.raw(memberClockJsonSql(m));

/** Due referrals, soonest first; all merchants' (cron) or one's (a run through the API). */
export function dueReferralsSql(at: number, merchantId: string | undefined, limit: number): Sql {
  const merchantFilter = merchantId ? sql`AND referrals.merchant_id = ${merchantId}` : sql``;
  return sql`SELECT referrals.merchant_id AS merchantId, referee_id AS refereeId, referrer_id AS referrerId,
      first_order_id AS firstOrderId, referrer_points AS referrerPoints, referee_points AS refereePoints,
      min_order_amount AS minOrderAmount, COALESCE(${netOfFirstOrder}, 0) AS net, x.timezone,
      p.expiry_policy AS expiryPolicy, p.expiry_days AS expiryDays, p.expiry_since AS expirySince,
      ${clockOf("a")} AS referrerClock, ${clockOf("b")} AS refereeClock
    FROM referrals JOIN merchants x ON x.id = referrals.merchant_id
    LEFT JOIN programs p ON p.merchant_id = referrals.merchant_id
    JOIN members a ON a.merchant_id = referrals.merchant_id AND a.id = referrals.referrer_id
    JOIN members b ON b.merchant_id = referrals.merchant_id AND b.id = referrals.referee_id
    WHERE referrals.status = 'pending' AND referrals.due_at <= ${at} ${merchantFilter}
    ORDER BY referrals.due_at LIMIT ${limit}`;
}

/**
 * The batch that pays one referral: the guarded status change, then per side paid, the member's settling
 * (pending lots past their window, and every lot once the inactivity deadline has passed) and its bonus.
 */
export function payStatements(db: D1Database, r: DueReferral, at: number): D1PreparedStatement[] {
  const referrerEntry = r.referrerPoints > 0 ? newId("le", at) : null;
  const refereeEntry = r.refereePoints > 0 ? newId("le", at) : null;
  const statements = [
    prepare(
      db,
      sql`UPDATE referrals SET status = 'paid', paid_at = ${at}, referrer_entry_id = ${referrerEntry},
          referee_entry_id = ${refereeEntry}
        WHERE ${key(r)} AND status = 'pending' AND due_at <= ${at} AND ${netOfFirstOrder} >= min_order_amount`,
    ),
    prepare(db, guardSql(GUARD.conflict, sql`changes() = 0`)),
  ];
  const program = { ...DEFAULT_PROGRAM, expiry: expiryFromColumns(r.expiryPolicy, r.expiryDays, r.expirySince) };
  const expiresAt = lotExpiry(program, at, r.timezone);
  const credit = (memberId: string, clock: string, entryId: string | null, points: number, reason: string) => {
    if (!entryId) return [];
    const due = dueFor(JSON.parse(clock) as MemberClock, program, r.timezone, at, false);
    return new LedgerWriter(db, r.merchantId, memberId, at).settle(due).credit({
      entryId,
      type: "bonus",
      points,
      pending: false,
      availableAt: at,
      expiresAt,
      countsAsEarned: true,
      refs: { orderId: r.firstOrderId, reason },
    }).statements;
  };
  return [
    ...statements,
    ...credit(r.referrerId, r.referrerClock, referrerEntry, r.referrerPoints, `referral of ${r.refereeId}`),
    ...credit(r.refereeId, r.refereeClock, refereeEntry, r.refereePoints, `referred by ${r.referrerId}`),
  ];
}

/** Voids a due referral whose first order no longer holds the minimum (never one that was paid meanwhile). */
export function voidSql(r: DueReferral, at: number): Sql {
  return sql`UPDATE referrals SET status = 'void', reason = ${BELOW_MINIMUM}, ended_at = ${at}
    WHERE ${key(r)} AND status = 'pending' AND COALESCE(${netOfFirstOrder}, 0) < min_order_amount`;
}

/**
 * Voids a referral whose payment the ledger refused (a guard other than a race, e.g. `total_limit`: a
 * member's totals would pass the exact-integer range). The same batch would be refused on every run, and
 * due referrals are taken oldest first, so left pending it would stop every later payout. `reason` names
 * the refusal; an operator can still credit the members by adjustment.
 */
export function refusedSql(r: DueReferral, reason: string, at: number): Sql {
  return sql`UPDATE referrals SET status = 'void', reason = ${reason}, ended_at = ${at} WHERE ${key(r)} AND status = 'pending'`;
}

/** How long a referral whose payment failed unexpectedly (perhaps transiently) waits before it is tried again. */
export const PAYOUT_RETRY_DELAY_MS = 60 * MINUTE_MS;

/** Moves a due referral's due time past `at`, so the oldest-first runs pay the others before it is retried. */
export function deferSql(r: DueReferral, at: number): Sql {
  return sql`UPDATE referrals SET due_at = ${at + PAYOUT_RETRY_DELAY_MS} WHERE ${key(r)} AND status = 'pending' AND due_at <= ${at}`;
}

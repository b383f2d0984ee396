/**
 * Paying a referral: the status moves pending -> paid only if, inside the batch, it is still pending, due,
 * and its first order still holds the minimum net of refunds; a guard aborts the batch otherwise, so the
 * `bonus` credits of both members are written exactly once, whatever runs or refunds overlap.
 */
import { LedgerWriter } from "../ledger/statements";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import { DEFAULT_PROGRAM, expiryFromColumns, lotExpiry } from "../program/settings";
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
}

const key = (r: DueReferral): Sql => sql`merchant_id = ${r.merchantId} AND referee_id = ${r.refereeId}`;
const netOfFirstOrder = sql`(SELECT o.amount - o.refunded_amount FROM orders o
  WHERE o.merchant_id = referrals.merchant_id AND o.id = referrals.first_order_id)`;

/** Due referrals, soonest first; all merchants' (cron) or one's (a run through the API). */
export function dueReferralsSql(at: number, merchantId: string | undefined, limit: number): Sql {
  const merchantFilter = merchantId ? sql`AND referrals.merchant_id = ${merchantId}` : sql``;
  return sql`SELECT referrals.merchant_id AS merchantId, referee_id AS refereeId, referrer_id AS referrerId,
      first_order_id AS firstOrderId, referrer_points AS referrerPoints, referee_points AS refereePoints,
      min_order_amount AS minOrderAmount, COALESCE(${netOfFirstOrder}, 0) AS net, x.timezone,
      p.expiry_policy AS expiryPolicy, p.expiry_days AS expiryDays
    FROM referrals JOIN merchants x ON x.id = referrals.merchant_id
    LEFT JOIN programs p ON p.merchant_id = referrals.merchant_id
    WHERE referrals.status = 'pending' AND referrals.due_at <= ${at} ${merchantFilter}
    ORDER BY referrals.due_at LIMIT ${limit}`;
}

/** The batch that pays one referral: the guarded status change, then a bonus credit per side paid. */
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
  const expiresAt = lotExpiry({ ...DEFAULT_PROGRAM, expiry: expiryFromColumns(r.expiryPolicy, r.expiryDays) }, at, r.timezone);
  const credit = (memberId: string, entryId: string | null, points: number, reason: string) => {
    if (!entryId) return [];
    return new LedgerWriter(db, r.merchantId, memberId, at).credit({
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
    ...credit(r.referrerId, referrerEntry, r.referrerPoints, `referral of ${r.refereeId}`),
    ...credit(r.refereeId, refereeEntry, r.refereePoints, `referred by ${r.referrerId}`),
  ];
}

/** Voids a due referral whose first order no longer holds the minimum (never one that was paid meanwhile). */
export function voidSql(r: DueReferral, at: number): Sql {
  return sql`UPDATE referrals SET status = 'void', reason = ${BELOW_MINIMUM}, ended_at = ${at}
    WHERE ${key(r)} AND status = 'pending' AND COALESCE(${netOfFirstOrder}, 0) < min_order_amount`;
}

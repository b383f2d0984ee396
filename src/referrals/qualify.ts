/**
 * The referee's first order qualifies its referral: one statement in the order's batch, added only when
 * the checkout context shows a referred member without orders, so ordinary orders pay nothing for it.
 * The rewards and the minimum are fixed here, from the settings the order was evaluated under.
 */
import { type Sql, sql } from "../platform/d1/sql";
import type { ReferralSettings } from "../program/settings";

export interface Qualification {
  merchantId: string;
  refereeId: string;
  orderId: string;
  /** When the order's return window ends: its lot's availableAt (lotAvailability). */
  dueAt: number;
  /** Settings in force for the order; null: referrals are off, the referral is void. */
  settings: ReferralSettings | null;
  at: number;
}

/**
 * Only the first order to commit sets it (first_order_id IS NULL): two first orders racing both carry the
 * statement, and the later one changes nothing.
 */
export function qualifySql(q: Qualification): Sql {
  const where = sql`WHERE merchant_id = ${q.merchantId} AND referee_id = ${q.refereeId} AND first_order_id IS NULL`;
  if (!q.settings)
    return sql`UPDATE referrals SET first_order_id = ${q.orderId}, due_at = ${q.dueAt}, status = 'void',
      reason = 'referrals_off', ended_at = ${q.at} ${where}`;
  const { referrerPoints, refereePoints, minOrderAmount } = q.settings;
  return sql`UPDATE referrals SET first_order_id = ${q.orderId}, due_at = ${q.dueAt}, status = 'pending',
      referrer_points = ${referrerPoints}, referee_points = ${refereePoints}, min_order_amount = ${minOrderAmount} ${where}`;
}

/**
 * A refund of the referee's first order that takes its net amount below the referral's minimum ends the
 * referral: a pending one is voided, a paid one is clawed back (both rewards reversed, in the refund's
 * batch). The status change is a compare-and-set on the status the refund read: a payout committed in
 * between aborts the batch as a conflict, and the refund is planned again and claws back what was paid.
 */
import { LedgerWriter, type SettleInput } from "../ledger/statements";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import type { ReferralRow } from "./reads";

export const BELOW_MINIMUM = "first order refunded below the minimum";

/** What the refund does to the referral (pure): nothing, void it, or claw it back. */
export function referralOutcome(referral: ReferralRow | undefined, netAfter: number): "void" | "claw_back" | null {
  if (!referral || referral.minOrderAmount === null || netAfter >= referral.minOrderAmount) return null;
  if (referral.status === "pending") return "void";
  if (referral.status === "paid") return "claw_back";
  return null;
}

interface RefundRef {
  orderId: string;
  refundId: string;
  at: number;
  /** What is due for the referrer before the take-back (program/settings.ts dueFor), read with the refund. */
  referrerDue?: SettleInput;
}

/** The referral's statements in the refund's batch (none when the refund leaves it be). */
export function referralRefundStatements(
  db: D1Database,
  referral: ReferralRow | undefined,
  netAfter: number,
  refund: RefundRef,
): D1PreparedStatement[] {
  const outcome = referralOutcome(referral, netAfter);
  if (!referral || !outcome) return [];
  const from = outcome === "void" ? "pending" : "paid";
  const to = outcome === "void" ? "void" : "clawed_back";
  const statements = [
    prepare(
      db,
      sql`UPDATE referrals SET status = ${to}, reason = ${BELOW_MINIMUM}, ended_at = ${refund.at}
        WHERE merchant_id = ${referral.merchantId} AND referee_id = ${referral.refereeId} AND status = ${from}`,
    ),
    prepare(db, guardSql(GUARD.conflict, sql`changes() = 0`)),
  ];
  if (outcome === "claw_back") {
    // The referrer was not settled by the refund (the referee was): everything due for it first, the inactivity
    // deadline included, as before any reversal. A clock read before the batch is safe: the inactivity expiry
    // re-checks the last activity inside it.
    const referrerDue = refund.referrerDue ?? { releaseDue: true, expireDue: true };
    statements.push(
      ...takeBack(db, referral, referral.referrerId, referral.referrerPoints, referral.referrerEntryId, refund, referrerDue),
    );
    const refereeDue = { releaseDue: true, expireDue: true };
    statements.push(
      ...takeBack(db, referral, referral.refereeId, referral.refereePoints, referral.refereeEntryId, refund, refereeDue),
    );
  }
  return statements;
}

/**
 * Reverses one side's reward: from its own bonus lot first, then other lots, then debt, like a refund.
 * Points of the bonus that already expired are gone and are not taken twice.
 */
function takeBack(
  db: D1Database,
  referral: ReferralRow,
  memberId: string,
  points: number | null,
  lotId: string | null,
  refund: RefundRef,
  due: SettleInput,
): D1PreparedStatement[] {
  if (!points || !lotId) return [];
  const ledger = new LedgerWriter(db, referral.merchantId, memberId, refund.at);
  ledger.settle(due);
  const expired = sql`COALESCE((SELECT expired FROM point_lots WHERE id = ${lotId}), 0)`;
  return ledger.reverse({
    entryId: newId("le", refund.at),
    points: sql`${points} - ${expired}`,
    orderId: refund.orderId,
    ownLotId: lotId,
    refundId: refund.refundId,
    reason: "referral clawed back",
  }).statements;
}

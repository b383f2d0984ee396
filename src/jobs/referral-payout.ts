/**
 * referral-payout: pays referrals whose referee's first order has passed its return window and still holds
 * the minimum net of refunds; voids those whose first order fell below it. Each referral is paid in its own
 * batch, guarded by a compare-and-set on its status, so repeated or overlapping runs pay each one once.
 */
import { prepare } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { type DueReferral, dueReferralsSql, payStatements, voidSql } from "../referrals/payout";
import type { Job } from "./types";

/** Referrals per chunk: one batch each, so a chunk stays well inside the Workers subrequest limit. */
const PAYOUTS_PER_CHUNK = 20;

export const referralPayoutJob: Job = {
  name: "referral-payout",
  description:
    "Referrals whose referee's first order has passed the return window, and still holds the minimum after refunds, pay " +
    "their bonus points to both members; those whose first order fell below the minimum become void.",
  async runChunk(db, at, scope, limit) {
    const take = Math.min(limit, PAYOUTS_PER_CHUNK);
    const { results } = await prepare(db, dueReferralsSql(at, scope.merchantId, take)).all<DueReferral>();
    let processed = 0;
    for (const referral of results) {
      if (referral.net >= referral.minOrderAmount && (await pay(db, referral, at))) processed++;
      else if ((await prepare(db, voidSql(referral, at)).run()).meta.changes > 0) processed++;
    }
    return { processed, more: results.length === take };
  },
};

/** false when the referral moved meanwhile (paid by an overlapping run, voided or refunded below the minimum). */
async function pay(db: D1Database, referral: DueReferral, at: number): Promise<boolean> {
  try {
    await db.batch(payStatements(db, referral, at));
    return true;
  } catch (error) {
    const failure = classifyBatchError(error);
    if (!(failure.kind === "guard" && failure.reason === "conflict")) throw error;
    return false;
  }
}

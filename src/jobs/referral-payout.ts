/**
 * referral-payout: pays referrals whose referee's first order has passed its return window and still holds
 * the minimum net of refunds; voids those whose first order fell below it. Each referral is paid in its own
 * batch, guarded by a compare-and-set on its status, so repeated or overlapping runs pay each one once.
 *
 * Due referrals are taken oldest first, so one that cannot be paid must not stay at the head of the queue:
 * a payment the ledger refuses (a guard such as `total_limit`) voids the referral with that reason, and an
 * unexpected error moves its due time an hour on and fails the run with the error once the chunk is done.
 * A race (`conflict`) changes nothing: the next run reads the referral again.
 */
import { GUARD } from "../platform/d1/guard";
import { prepare } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { type DueReferral, deferSql, dueReferralsSql, payStatements, refusedSql, voidSql } from "../referrals/payout";
import type { Job } from "./types";

/** Referrals per chunk: one batch each, so a chunk stays well inside the Workers subrequest limit. */
const PAYOUTS_PER_CHUNK = 20;

export const referralPayoutJob: Job = {
  name: "referral-payout",
  description:
    "Referrals whose referee's first order has passed the return window, and still holds the minimum after refunds, pay " +
    "their bonus points to both members; those whose first order fell below the minimum become void, and so do those " +
    "whose payment the ledger refuses (reason: the refusal, e.g. total_limit).",
  async runChunk(db, at, scope, limit) {
    const take = Math.min(limit, PAYOUTS_PER_CHUNK);
    const { results } = await prepare(db, dueReferralsSql(at, scope.merchantId, take)).all<DueReferral>();
    let processed = 0;
    const failures: string[] = [];
    for (const referral of results) {
      const outcome = referral.net >= referral.minOrderAmount ? await pay(db, referral, at) : "unpaid";
      if (outcome === "done") processed++;
      else if (outcome === "unpaid" && (await prepare(db, voidSql(referral, at)).run()).meta.changes > 0) processed++;
      else if (typeof outcome === "object")
        failures.push(`referral of ${referral.refereeId} (merchant ${referral.merchantId}): ${outcome.error}`);
    }
    // The failed ones are out of the way (deferred); the run records why.
    if (failures.length) throw new Error(`payment failed, retried in an hour: ${failures.join("; ")}`);
    return { processed, more: results.length === take };
  },
};

/**
 * `done`: paid, or voided because the ledger refused it. `unpaid`: it moved meanwhile (paid by an overlapping
 * run, voided or refunded below the minimum), the caller voids it if it is below the minimum. `{ error }`:
 * failed unexpectedly, deferred.
 */
async function pay(db: D1Database, referral: DueReferral, at: number): Promise<"done" | "unpaid" | { error: string }> {
  try {
    await db.batch(payStatements(db, referral, at));
    return "done";
  } catch (error) {
    const failure = classifyBatchError(error);
    if (failure.kind === "guard" && failure.reason === GUARD.conflict) return "unpaid";
    // A guard is a refusal that the same batch would meet on every run.
    if (failure.kind === "guard") {
      const voided = await prepare(db, refusedSql(referral, failure.reason, at)).run();
      return voided.meta.changes > 0 ? "done" : "unpaid";
    }
    // Unexpected, perhaps transient: tried again later, out of the way of the others meanwhile.
    await prepare(db, deferSql(referral, at)).run();
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

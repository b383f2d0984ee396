/**
 * switching-cost: values every member's switching-cost statement in chunks (never valued first, then the
 * oldest, again after a day), so GET /v1/switching-cost reads a distribution already computed instead of
 * valuing 100,000 members in one request. Chosen by state; a repeated run finds nothing due.
 *
 * A valuation counts what the member holds once what is due is settled, as the member's own statement does.
 * Settling member by member (the statement's way) would cost a round trip per member, so each chunk first
 * runs one chunk of each settling job for the merchant, at the same instant, and values only once none of
 * them has anything left: a cron run has just run them (nothing left, a few empty reads), a run on demand or
 * one behind a backlog settles it first.
 */
import { prepare, sql } from "../platform/d1/sql";
import { valueSwitchingCosts } from "../switching-cost/service";
import { expiryJob, inactivityExpiryJob } from "./expiry";
import { holdReleaseJob } from "./hold-release";
import { pendingReleaseJob } from "./pending-release";
import type { Job } from "./types";

/** The jobs that settle what is due, in the cron's order: holds, return windows, dates, the inactivity deadline. */
const SETTLING_JOBS: readonly Job[] = [holdReleaseJob, pendingReleaseJob, expiryJob, inactivityExpiryJob];

/** Runs one chunk of each settling job for the merchant; true when any of them has more due than a chunk. */
async function settleDue(db: D1Database, at: number, merchantId: string, limit: number): Promise<boolean> {
  let more = false;
  for (const job of SETTLING_JOBS) more = (await job.runChunk(db, at, { merchantId }, limit)).more || more;
  return more;
}

export const switchingCostJob: Job = {
  name: "switching-cost",
  description:
    "Values members' switching-cost statements for the merchant's distribution, each at most once a day, after settling " +
    "what is due (holds, return windows, expiry) so expired or released points are not counted.",
  async runChunk(db, at, scope, limit) {
    const filter = scope.merchantId ? sql`WHERE id = ${scope.merchantId}` : sql``;
    const { results } = await prepare(db, sql`SELECT id, currency, timezone FROM merchants ${filter}`).all<{
      id: string;
      currency: string;
      timezone: string;
    }>();
    let processed = 0;
    let more = false;
    for (const merchant of results) {
      // Valued only once nothing due is left; a backlog makes the runner come back (more) after the next chunk.
      if (await settleDue(db, at, merchant.id, limit)) {
        more = true;
        continue;
      }
      const chunk = await valueSwitchingCosts(db, merchant, at, limit);
      processed += chunk.processed;
      more ||= chunk.more;
    }
    return { processed, more };
  },
};

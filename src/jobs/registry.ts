/**
 * Every scheduled job, in the order a cron run executes them.
 */
import { expiryJob, inactivityExpiryJob } from "./expiry";
import { holdReleaseJob } from "./hold-release";
import { housekeepingJob } from "./housekeeping";
import { pendingReleaseJob } from "./pending-release";
import { perkLapseJob } from "./perk-lapse";
import { referralPayoutJob } from "./referral-payout";
import { switchingCostJob } from "./switching-cost";
import { tierReviewJob } from "./tier-review";
import type { Job } from "./types";

export const JOBS: readonly Job[] = [
  holdReleaseJob,
  pendingReleaseJob,
  expiryJob,
  inactivityExpiryJob,
  tierReviewJob,
  perkLapseJob,
  referralPayoutJob,
  switchingCostJob,
  housekeepingJob,
];

export const JOB_NAMES = JOBS.map((j) => j.name) as [string, ...string[]];

export function findJob(name: string): Job | undefined {
  return JOBS.find((j) => j.name === name);
}

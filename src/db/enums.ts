/**
 * Every enumerated value the engine stores, once: drizzle's column types (`text(..., { enum })`), the zod
 * schemas of requests and replies, and the TypeScript types all come from these lists.
 */
export const ENTRY_TYPES = [
  "earn",
  "redeem",
  "refund_reversal",
  "redemption_return",
  "expire",
  "adjust",
  "rebate",
  "bonus",
  "hold",
  "release",
] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

export const KEY_SCOPES = ["admin", "checkout", "read"] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export const EXPIRY_POLICIES = ["none", "after_earn", "inactivity"] as const;

export const REDEMPTION_STATUSES = ["held", "captured", "cancelled", "released"] as const;
export type RedemptionStatus = (typeof REDEMPTION_STATUSES)[number];

export const JOB_TRIGGERS = ["cron", "manual"] as const;
export const JOB_RUN_STATUSES = ["running", "succeeded", "failed"] as const;

export const TIER_METRICS = ["spend", "points", "orders"] as const;
export type TierMetric = (typeof TIER_METRICS)[number];

export const TIER_WINDOWS = ["calendar_year", "rolling_days"] as const;

export const TIER_CHANGE_REASONS = ["upgrade", "review", "manual", "ladder_change"] as const;
export type TierChangeReason = (typeof TIER_CHANGE_REASONS)[number];

export const PERK_QUOTA_PERIODS = ["month", "year"] as const;
export const PERK_EVENT_KINDS = ["unlocked", "lapsed", "locked"] as const;

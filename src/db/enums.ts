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
/** What a ledger entry moves: points, or store credit in minor units (from rebates paid as credit). */
export const ASSETS = ["points", "credit"] as const;
export type Asset = (typeof ASSETS)[number];

export const REBATE_PERIODS = ["month", "quarter", "year"] as const;
export type RebatePeriod = (typeof REBATE_PERIODS)[number];

export const REBATE_PAYOUTS = ["points", "credit"] as const;
export type RebatePayout = (typeof REBATE_PAYOUTS)[number];

/** A close is `running` from its first write until every allocation is paid, then `closed`. */
export const REBATE_CLOSE_STATUSES = ["running", "closed"] as const;
export type RebateCloseStatus = (typeof REBATE_CLOSE_STATUSES)[number];

/** Phases of a running close: `rank` computes each share and its remainder, `pay` credits them. */
export const REBATE_CLOSE_PHASES = ["rank", "pay", "done"] as const;
export type RebateClosePhase = (typeof REBATE_CLOSE_PHASES)[number];

/**
 * A referral's life: `waiting` for the referee's first order, `pending` through that order's return window,
 * then `paid`, or `void` (the order was refunded below the minimum before payment, referrals were off, or
 * the ledger refused the payment, e.g. `total_limit`), or `clawed_back` (a refund took the paid order below
 * the minimum afterwards).
 */
export const REFERRAL_STATUSES = ["waiting", "pending", "paid", "void", "clawed_back"] as const;
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];

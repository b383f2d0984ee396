/**
 * D1 tables: the source of truth for migrations (drizzle-kit generates migrations/ from this file).
 *
 * Every tenant-owned row carries `merchant_id`, and member-owned rows also `member_id`: those two keys
 * are what lets a large merchant move to one D1 per merchant or per member-hash shard without a rewrite.
 * Times are integer milliseconds since the epoch (UTC); money and points are integers.
 *
 * The tables checkout, redemptions and refunds insert into are WITHOUT ROWID, which drizzle cannot express:
 * migrations/0014_without_rowid.sql rebuilt them, and test/db/without-rowid.test.ts keeps them so.
 */

import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import {
  ASSETS,
  ENTRY_TYPES,
  EXPIRY_POLICIES,
  JOB_RUN_STATUSES,
  JOB_TRIGGERS,
  KEY_SCOPES,
  PERK_EVENT_KINDS,
  PERK_QUOTA_PERIODS,
  REBATE_CLOSE_PHASES,
  REBATE_CLOSE_STATUSES,
  REBATE_PAYOUTS,
  REBATE_PERIODS,
  REDEMPTION_STATUSES,
  REFERRAL_STATUSES,
  TIER_CHANGE_REASONS,
  TIER_METRICS,
  TIER_WINDOWS,
} from "./enums";

export const merchants = sqliteTable("merchants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  currency: text("currency").notNull(),
  timezone: text("timezone").notNull(),
  createdAt: integer("created_at").notNull(),
  /**
   * Bumped in the same batch as every change of the merchant's earning configuration (rules, program
   * settings, tier ladder): isolates cache that configuration and re-read it only when this changes.
   */
  configVersion: integer("config_version").notNull().default(0),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    scope: text("scope", { enum: KEY_SCOPES }).notNull(),
    name: text("name").notNull(),
    /** SHA-256 of the secret, hex. The secret itself is never stored. */
    secretHash: text("secret_hash").notNull(),
    /** Last characters of the secret, so a merchant can tell keys apart in a list. */
    hint: text("hint").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_secret_hash").on(t.secretHash), index("api_keys_merchant").on(t.merchantId, t.id)],
);

export const programs = sqliteTable("programs", {
  merchantId: text("merchant_id").primaryKey(),
  pointValuePoints: integer("point_value_points").notNull(),
  pointValueAmount: integer("point_value_amount").notNull(),
  pendingDays: integer("pending_days").notNull(),
  expiryPolicy: text("expiry_policy", { enum: EXPIRY_POLICIES }).notNull(),
  expiryDays: integer("expiry_days"),
  /**
   * Under the inactivity policy: when it took effect as it stands (switched on, or its days shortened). A
   * member's inactivity counts from the later of this and the last activity, so a change wipes no one at once.
   */
  expirySince: integer("expiry_since"),
  autoEnroll: integer("auto_enroll", { mode: "boolean" }).notNull(),
  /** Browser origins allowed on /v1/me (CORS), a JSON array of strings; null when none. */
  allowedOrigins: text("allowed_origins"),
  /** 1: the part of an order paid with points earns too (by default only the money part earns). */
  earnOnPointsPaid: integer("earn_on_points_paid", { mode: "boolean" }).notNull().default(false),
  /** Referral rewards (src/referrals); all three null: referrals are off. */
  referralReferrerPoints: integer("referral_referrer_points"),
  referralRefereePoints: integer("referral_referee_points"),
  /** Least net amount (minor units) the referee's first order must keep for the referral to pay. */
  referralMinOrderAmount: integer("referral_min_order_amount"),
  updatedAt: integer("updated_at").notNull(),
});

/** A member and its points account: the account columns change only through src/ledger. */
export const members = sqliteTable(
  "members",
  {
    merchantId: text("merchant_id").notNull(),
    id: text("id").notNull(),
    email: text("email"),
    name: text("name"),
    birthday: text("birthday"),
    attributes: text("attributes"),
    enrolledAt: integer("enrolled_at").notNull(),
    /** Latest order's occurredAt, as the merchant reported it (may be backdated). */
    lastOrderAt: integer("last_order_at"),
    /**
     * When the member last did something, as posted: an order, a credit or a spend. Inactivity expiry
     * counts from here (or from enrolment when null), never from a backdated occurredAt.
     */
    lastActivityAt: integer("last_activity_at"),
    erasedAt: integer("erased_at"),
    tierId: text("tier_id"),
    /** Spendable points. Below zero only through refund reversals (debt that later earnings repay). */
    balance: integer("balance").notNull().default(0),
    /** Earned but not yet spendable (inside the return window). */
    pending: integer("pending").notNull().default(0),
    /** Reserved by open holds. */
    held: integer("held").notNull().default(0),
    /** Store credit in minor units (spendable; never below zero). */
    credit: integer("credit").notNull().default(0),
    /** Store credit reserved by open holds. */
    creditHeld: integer("credit_held").notNull().default(0),
    lifetimeEarned: integer("lifetime_earned").notNull().default(0),
    lifetimeRedeemed: integer("lifetime_redeemed").notNull().default(0),
    orderCount: integer("order_count").notNull().default(0),
    /** Sequence number of the member's newest ledger entry. */
    entrySeq: integer("entry_seq").notNull().default(0),
    /** When the member's earliest pending lot becomes spendable (null: nothing pending). */
    nextReleaseAt: integer("next_release_at"),
    updatedAt: integer("updated_at").notNull(),
    // Tier status (src/tiers). `tierId` above is the current tier; null means the ladder's lowest tier.
    /** The status lapses at this instant (a local midnight); a review after it (plus grace) may move down. */
    tierQualifiedUntil: integer("tier_qualified_until"),
    /** 1 while a tier assigned by hand holds (until `tierManualUntil`, or until changed when null). */
    tierManual: integer("tier_manual").notNull().default(0),
    tierManualUntil: integer("tier_manual_until"),
    /**
     * The member's qualification metric over the tier window, kept as orders and refunds are posted:
     * sums of member_periods day rows from `tierWindowStart` (a day key) on. Null: not computed yet.
     */
    tierWindowStart: text("tier_window_start"),
    tierSpend: integer("tier_spend").notNull().default(0),
    tierPoints: integer("tier_points").notNull().default(0),
    tierOrders: integer("tier_orders").notNull().default(0),
    /** The ladder version the member was last placed under (a ladder change re-places older ones). */
    tierVersion: integer("tier_version").notNull().default(0),
    /** The member's switching-cost total (minor units) as the switching-cost job last valued it, and when. */
    switchingCost: integer("switching_cost"),
    switchingCostAt: integer("switching_cost_at"),
    /** The member's code for referring others, made on first request; unique across merchants. */
    referralCode: text("referral_code"),
    /** The member who referred this one (set only when the member is created). */
    referredBy: text("referred_by"),
  },
  // Expression index members_last_activity (inactivity expiry) is in migrations/0002_last_activity.sql.
  (t) => [
    primaryKey({ columns: [t.merchantId, t.id] }),
    // Tier review: members whose status lapses, by date; manual assignments that end.
    index("members_tier_lapse").on(t.merchantId, t.tierQualifiedUntil).where(sql`tier_qualified_until IS NOT NULL`),
    index("members_tier_manual_end").on(t.merchantId, t.tierManualUntil).where(sql`tier_manual_until IS NOT NULL`),
    // Ladder change: members not yet placed under the current ladder version.
    index("members_tier_version").on(t.merchantId, t.tierVersion),
    // The distribution of switching costs by value. The switching-cost job's expression index
    // members_switching_cost_due (never valued first, then the oldest) is in migrations/0009_switching_cost.sql.
    index("members_switching_cost").on(t.merchantId, t.switchingCost).where(sql`switching_cost IS NOT NULL`),
    // Codes are globally unique, so a code of another merchant can be told from an unknown one.
    uniqueIndex("members_referral_code").on(t.referralCode).where(sql`referral_code IS NOT NULL`),
  ],
);

/**
 * A member's activity per local period of the merchant's timezone, kept as orders and refunds are posted
 * (a refund counts in its order's period): `d2026-11-29` day rows, `m2026-11` month rows and one `all`
 * lifetime row. Tiers,
 * rebates and perks read a window or a period here in a bounded number of rows, never the order history.
 */
export const memberPeriods = sqliteTable(
  "member_periods",
  {
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    period: text("period").notNull(),
    /** Order amounts net of refunds, minor units. */
    spend: integer("spend").notNull().default(0),
    /** Points the orders earned, net of refund reversals. */
    points: integer("points").notNull().default(0),
    /** Orders, less those refunded in full. */
    orders: integer("orders").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.memberId, t.period] }),
    // Period closes (rebates) read every member of one period.
    index("member_periods_by_period").on(t.merchantId, t.period, t.memberId),
  ],
);

/** Append-only: rows are inserted, never updated or deleted. */
export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    seq: integer("seq").notNull(),
    type: text("type", { enum: ENTRY_TYPES }).notNull(),
    /** What `points` and `balanceAfter` count: points, or store credit in minor units. */
    asset: text("asset", { enum: ASSETS }).notNull().default("points"),
    points: integer("points").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    createdAt: integer("created_at").notNull(),
    orderId: text("order_id"),
    ruleId: text("rule_id"),
    /** The version of `ruleId` that awarded the points. */
    ruleVersion: integer("rule_version"),
    redemptionId: text("redemption_id"),
    refundId: text("refund_id"),
    /** The lot an `expire` entry expired (and, for credits, the lot they created). */
    lotId: text("lot_id"),
    availableAt: integer("available_at"),
    expiresAt: integer("expires_at"),
    reason: text("reason"),
  },
  (t) => [uniqueIndex("ledger_member_seq").on(t.merchantId, t.memberId, t.seq)],
);

/**
 * Every credit that can later be spent, expired or reversed is a lot. `remaining` is what is left of it;
 * spending walks lots soonest-expiring first. `expireKey` is `expires_at`, or a far-future value for
 * lots that never expire, so one index orders them.
 */
export const pointLots = sqliteTable(
  "point_lots",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    entryId: text("entry_id").notNull(),
    orderId: text("order_id"),
    points: integer("points").notNull(),
    remaining: integer("remaining").notNull(),
    /** Points of this lot that expired (never more than were left unspent). */
    expired: integer("expired").notNull().default(0),
    /** 1 while the lot is inside the return window and not yet spendable. */
    isPending: integer("is_pending").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    availableAt: integer("available_at").notNull(),
    expiresAt: integer("expires_at"),
    expireKey: integer("expire_key").notNull(),
    /** Points a refund of this lot's order took elsewhere while its points were out (ledger/claims.ts). */
    owed: integer("owed").notNull().default(0),
  },
  (t) => [
    // Spending walks a member's spendable lots soonest-expiring first.
    index("lots_open_by_expiry").on(t.merchantId, t.memberId, t.expireKey, t.id).where(sql`remaining > 0 AND is_pending = 0`),
    // Release of pending lots: all due ones (job) and one member's (inline).
    index("lots_pending_due").on(t.availableAt).where(sql`is_pending = 1`),
    index("lots_member_pending").on(t.merchantId, t.memberId, t.availableAt).where(sql`is_pending = 1`),
    // Expiry job: only lots that can expire and still hold points, by expiry time.
    index("lots_expiring").on(t.expireKey).where(sql`remaining > 0 AND expires_at IS NOT NULL`),
  ],
);

/** Which lots a debit took points from, so a cancel or return can put them back exactly. */
export const lotMoves = sqliteTable(
  "lot_moves",
  {
    moveId: text("move_id").notNull(),
    lotId: text("lot_id").notNull(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    points: integer("points").notNull(),
    /** On a payer record (move id `paid:<merchant>:<member>`): points given back to the lot since (ledger/claims.ts). */
    undone: integer("undone").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.moveId, t.lotId] })],
);

export const orders = sqliteTable(
  "orders",
  {
    merchantId: text("merchant_id").notNull(),
    id: text("id").notNull(),
    memberId: text("member_id").notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    occurredAt: integer("occurred_at").notNull(),
    channel: text("channel"),
    items: text("items"),
    pointsEarned: integer("points_earned").notNull(),
    /**
     * What points paid of the order (minor units) when it earned only on the money part: refunds then reverse
     * in proportion to that part, so refunding all the money takes back all the points.
     */
    pointsPaid: integer("points_paid").notNull().default(0),
    awards: text("awards").notNull(),
    /**
     * What the order consumed of rule limits, JSON [{ ruleId, points, period }] (period null: the budget
     * only), so a refund gives back its share. Null when no award was limited.
     */
    ruleUsage: text("rule_usage"),
    lotId: text("lot_id"),
    refundedAmount: integer("refunded_amount").notNull().default(0),
    pointsReversed: integer("points_reversed").notNull().default(0),
    /** Reversal points not taken back because the order's own points had already expired. */
    expiredExcused: integer("expired_excused").notNull().default(0),
    /** Quantity refunded so far per sku, JSON pairs [["sku", 2], ...] (older rows: a JSON object). */
    refundedItems: text("refunded_items"),
    /**
     * The stamps the order gave per card and how many refunds took back, JSON [{ cardId, counts, given,
     * taken, minAmount?, units? }] (units: the matching units by sku, [["sku", 2], ...]). Null: no stamps.
     */
    stamps: text("stamps"),
    createdAt: integer("created_at").notNull(),
    /**
     * Always null once stored. The order's insert may set it to a batch-guard reason (platform/d1/guard.ts):
     * the trigger `orders_guard` (migrations/0015) then aborts the batch with it, so the checks an order batch
     * must pass before it writes ride on the order's own insert instead of a statement of their own.
     */
    guard: text("guard"),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.id] }),
    index("orders_member").on(t.merchantId, t.memberId, t.occurredAt),
    // Rule replay walks a merchant's orders of a date range in time order.
    index("orders_occurred").on(t.merchantId, t.occurredAt, t.id),
  ],
);

export const refunds = sqliteTable(
  "refunds",
  {
    merchantId: text("merchant_id").notNull(),
    orderId: text("order_id").notNull(),
    id: text("id").notNull(),
    memberId: text("member_id").notNull(),
    amount: integer("amount").notNull(),
    items: text("items"),
    pointsReversed: integer("points_reversed").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.orderId, t.id] }), index("refunds_member").on(t.merchantId, t.memberId)],
);

export const redemptions = sqliteTable(
  "redemptions",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    /** Points, or credit in minor units when `asset` is credit. */
    points: integer("points").notNull(),
    value: integer("value").notNull(),
    asset: text("asset", { enum: ASSETS }).notNull().default("points"),
    status: text("status", { enum: REDEMPTION_STATUSES }).notNull(),
    orderId: text("order_id"),
    holdExpiresAt: integer("hold_expires_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("redemptions_member").on(t.merchantId, t.memberId),
    index("redemptions_hold_due").on(t.holdExpiresAt).where(sql`status = 'held'`),
    // A member's holds past their time, released inline by reads and spends.
    index("redemptions_member_holds").on(t.merchantId, t.memberId, t.holdExpiresAt).where(sql`status = 'held'`),
    // An order's earning base subtracts what its linked redemptions paid.
    index("redemptions_order").on(t.merchantId, t.orderId).where(sql`order_id IS NOT NULL`),
  ],
);

export const rules = sqliteTable(
  "rules",
  {
    merchantId: text("merchant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    active: integer("active", { mode: "boolean" }).notNull(),
    priority: integer("priority").notNull(),
    startsAt: integer("starts_at"),
    endsAt: integer("ends_at"),
    conditions: text("conditions").notNull(),
    effect: text("effect").notNull(),
    /** 1: a matching rule stops the rules of lower priority. */
    exclusive: integer("exclusive", { mode: "boolean" }).notNull().default(false),
    /** JSON { perOrder?, perMember?, budget? }, null without limits. */
    limits: text("limits"),
    /** Bumped by every create or replace; each version is kept in rule_versions. */
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.id] })],
);

/** Every version of every rule as the API showed it (JSON body), kept after the rule is deleted. */
export const ruleVersions = sqliteTable(
  "rule_versions",
  {
    merchantId: text("merchant_id").notNull(),
    ruleId: text("rule_id").notNull(),
    version: integer("version").notNull(),
    body: text("body").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.ruleId, t.version] })],
);

/**
 * Points a rule has awarded against its limits: the budget (member_id and period empty) and, per member,
 * per local period (`d2026-11-29`, `m2026-11`, `y2026`). Raised by orders with a conditional update inside
 * their batch, lowered by refunds.
 */
export const ruleUsage = sqliteTable(
  "rule_usage",
  {
    merchantId: text("merchant_id").notNull(),
    ruleId: text("rule_id").notNull(),
    memberId: text("member_id").notNull(),
    period: text("period").notNull(),
    points: integer("points").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.ruleId, t.memberId, t.period] }),
    // The checkout reads the budgets and one member's current periods.
    index("rule_usage_member").on(t.merchantId, t.memberId, t.period),
  ],
);

/** Stamp cards ("buy 10, get 1"): definitions, read with the checkout's cached configuration. */
export const stampCards = sqliteTable(
  "stamp_cards",
  {
    merchantId: text("merchant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    active: integer("active", { mode: "boolean" }).notNull(),
    /** "orders" (one stamp per matching order) or "quantity" (one per matching unit). */
    counts: text("counts").notNull(),
    /** JSON { skus?, categories?, minAmount? }, null: every order. */
    match: text("match"),
    stamps: integer("stamps").notNull(),
    /** JSON { kind: "points", points } | { kind: "voucher", name, value }. */
    reward: text("reward").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.id] })],
);

/** A member's stamps on a card (the remainder after completed cards) and how many cards were completed. */
export const memberStamps = sqliteTable(
  "member_stamps",
  {
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    cardId: text("card_id").notNull(),
    stamps: integer("stamps").notNull(),
    /** Stamps refunds took back after the card they were on had paid out: the next stamps pay them first. */
    debt: integer("debt").notNull().default(0),
    completed: integer("completed").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.memberId, t.cardId] })],
);

/** Vouchers issued by completed stamp cards; redeemed once. */
export const vouchers = sqliteTable(
  "vouchers",
  {
    code: text("code").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    cardId: text("card_id").notNull(),
    name: text("name").notNull(),
    /** Minor units. */
    value: integer("value").notNull(),
    orderId: text("order_id").notNull(),
    createdAt: integer("created_at").notNull(),
    redeemedAt: integer("redeemed_at"),
  },
  (t) => [index("vouchers_member").on(t.merchantId, t.memberId, t.createdAt)],
);

/** Stored responses of state-changing POSTs, so a retry returns the first answer and writes nothing. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    merchantId: text("merchant_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    status: integer("status"),
    response: text("response"),
    createdAt: integer("created_at").notNull(),
    /** The member whose body the stored response carries (`member`), so erasing the member can scrub it. */
    memberId: text("member_id"),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.key] }),
    index("idempotency_created").on(t.createdAt),
    index("idempotency_member").on(t.merchantId, t.memberId).where(sql`member_id IS NOT NULL`),
  ],
);

/** Short-lived member tokens for the /v1/me routes, stored only as hashes. */
export const memberTokens = sqliteTable(
  "member_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    expiresAt: integer("expires_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("member_tokens_expiry").on(t.expiresAt)],
);

/** How a merchant's members qualify for tiers: one row per merchant with a ladder. */
export const tierLadders = sqliteTable("tier_ladders", {
  merchantId: text("merchant_id").primaryKey(),
  metric: text("metric", { enum: TIER_METRICS }).notNull(),
  windowKind: text("window_kind", { enum: TIER_WINDOWS }).notNull(),
  /** Days of a rolling window (null for calendar years). */
  windowDays: integer("window_days"),
  graceDays: integer("grace_days").notNull(),
  downgradeSteps: integer("downgrade_steps").notNull(),
  upgradeAppliesToQualifyingOrder: integer("upgrade_applies", { mode: "boolean" }).notNull(),
  /**
   * Bumped by every change of placement rules; members placed under an older version are re-placed in
   * chunks. A new member starts placed under the current version (trigger members_tier_version_on_insert).
   */
  version: integer("version").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * The metric and thresholds each version of a merchant's ladder placed members by, written with the version.
 * A ladder change re-places members placed under an older one, and a member whose status still holds keeps
 * what that status proves: the threshold of its tier under the version that placed it (tiers/placement.ts).
 */
export const tierLadderVersions = sqliteTable(
  "tier_ladder_versions",
  {
    merchantId: text("merchant_id").notNull(),
    version: integer("version").notNull(),
    metric: text("metric", { enum: TIER_METRICS }).notNull(),
    /** JSON object: tier id -> threshold. */
    thresholds: text("thresholds").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.version] })],
);

/** Tier ladder of a merchant (frequent-buyer tiers). Members point at a tier by `tier_id`. */
export const tiers = sqliteTable(
  "tiers",
  {
    merchantId: text("merchant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    threshold: integer("threshold").notNull(),
    earnMultiplierBps: integer("earn_multiplier_bps").notNull().default(10000),
    position: integer("position").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.id] })],
);

/** Every tier change of a member, with what caused it. Append-only. */
export const tierHistory = sqliteTable(
  "tier_history",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    fromTier: text("from_tier"),
    toTier: text("to_tier").notNull(),
    reason: text("reason", { enum: TIER_CHANGE_REASONS }).notNull(),
    detail: text("detail").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("tier_history_member").on(t.merchantId, t.memberId, t.at)],
);

/** Perks a merchant grants: unlock conditions as JSON (perks/unlock.ts), an optional quota and lapse. */
export const perks = sqliteTable(
  "perks",
  {
    merchantId: text("merchant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    /** What one use is worth to the member, minor units. */
    value: integer("value").notNull(),
    unlock: text("unlock").notNull(),
    quotaUses: integer("quota_uses"),
    quotaPer: text("quota_per", { enum: PERK_QUOTA_PERIODS }),
    lapseAfterDays: integer("lapse_after_days"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.id] })],
);

/** A perk's recorded state for a member: whether it was last seen unlocked, and its latest lapse. */
export const memberPerks = sqliteTable(
  "member_perks",
  {
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    perkId: text("perk_id").notNull(),
    unlocked: integer("unlocked", { mode: "boolean" }).notNull(),
    /** When the perk last lapsed for lack of orders: its streak counts only months after it. */
    lapsedAt: integer("lapsed_at"),
    changedAt: integer("changed_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.memberId, t.perkId] }),
    // perk-lapse: perks held unlocked.
    index("member_perks_unlocked").on(t.merchantId, t.perkId).where(sql`unlocked = 1`),
  ],
);

/** Unlocks, lapses and locks of a member's perks, with time and reason. Append-only. */
export const perkEvents = sqliteTable(
  "perk_events",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    perkId: text("perk_id").notNull(),
    kind: text("kind", { enum: PERK_EVENT_KINDS }).notNull(),
    reason: text("reason").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("perk_events_member").on(t.merchantId, t.memberId, t.at)],
);

/** Uses of a perk; `period` is the quota period (`m2026-11`, `y2026`), null without a quota. */
export const perkUses = sqliteTable(
  "perk_uses",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    memberId: text("member_id").notNull(),
    perkId: text("perk_id").notNull(),
    period: text("period"),
    createdAt: integer("created_at").notNull(),
    reversedAt: integer("reversed_at"),
    reverseReason: text("reverse_reason"),
  },
  (t) => [index("perk_uses_member").on(t.merchantId, t.memberId, t.perkId, t.period)],
);

/** One run of a scheduled job (cron or on demand): what it did, for operations. */
export const jobRuns = sqliteTable(
  "job_runs",
  {
    id: text("id").primaryKey(),
    job: text("job").notNull(),
    /** Null for a cron run over every merchant. */
    merchantId: text("merchant_id"),
    trigger: text("trigger", { enum: JOB_TRIGGERS }).notNull(),
    status: text("status", { enum: JOB_RUN_STATUSES }).notNull(),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
    processed: integer("processed").notNull().default(0),
    /** Items the run changed (a review that finds a member still qualified processes without changing). */
    changed: integer("changed").notNull().default(0),
    chunks: integer("chunks").notNull().default(0),
    /** More due work was left for the next run (the run stopped at its chunk budget). */
    more: integer("more", { mode: "boolean" }).notNull().default(false),
    errors: text("errors"),
  },
  (t) => [index("job_runs_merchant").on(t.merchantId, t.startedAt), index("job_runs_started").on(t.startedAt)],
);

/** A profit-sharing rebate program: a share of the merchant's declared period profit, split by net spend. */
export const rebatePrograms = sqliteTable(
  "rebate_programs",
  {
    merchantId: text("merchant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    period: text("period", { enum: REBATE_PERIODS }).notNull(),
    shareBps: integer("share_bps").notNull(),
    payout: text("payout", { enum: REBATE_PAYOUTS }).notNull(),
    /** Least net spend in the period to share in it (minor units; 0: any positive spend). */
    minSpend: integer("min_spend").notNull().default(0),
    /** JSON array of tier ids a member must hold; null: every tier. */
    tiers: text("tiers"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.id] })],
);

/**
 * One close of one period of a rebate program: written once, by the request that starts it (a second start
 * fails on the primary key). Everything the payouts depend on is frozen here and in rebate_allocations.
 */
export const rebateCloses = sqliteTable(
  "rebate_closes",
  {
    merchantId: text("merchant_id").notNull(),
    programId: text("program_id").notNull(),
    periodKey: text("period_key").notNull(),
    /** The Idempotency-Key that started the close: a retry with it resumes, another key is 409. */
    idempotencyKey: text("idempotency_key").notNull(),
    status: text("status", { enum: REBATE_CLOSE_STATUSES }).notNull(),
    phase: text("phase", { enum: REBATE_CLOSE_PHASES }).notNull(),
    payout: text("payout", { enum: REBATE_PAYOUTS }).notNull(),
    netProfit: integer("net_profit").notNull(),
    shareBps: integer("share_bps").notNull(),
    pool: integer("pool").notNull(),
    totalNetSpend: integer("total_net_spend").notNull().default(0),
    /** Eligible members (allocation rows). */
    members: integer("members").notNull().default(0),
    /** Point value frozen at the start (points payout). */
    pointValuePoints: integer("point_value_points").notNull(),
    pointValueAmount: integer("point_value_amount").notNull(),
    /** Rank phase: the last member id ranked (chunks walk member ids in order). */
    cursor: text("cursor"),
    /** Pay phase: the (remainder, memberId) of the last member whose share is rounded up. */
    thresholdRemainder: integer("threshold_remainder"),
    thresholdMember: text("threshold_member"),
    /** Members paid so far, and the money they were allocated. */
    processed: integer("processed").notNull().default(0),
    paid: integer("paid").notNull().default(0),
    /** Points payout: points credited, and the money those points do not cover (rounded down to whole points). */
    pointsPaid: integer("points_paid").notNull().default(0),
    unconverted: integer("unconverted").notNull().default(0),
    note: text("note"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.programId, t.periodKey] }),
    // Stalled closes, resumed by the scheduled run.
    index("rebate_closes_running").on(t.status, t.updatedAt).where(sql`status = 'running'`),
  ],
);

/**
 * Each eligible member's share of one close, frozen when the close starts (net spend) and ranked once
 * (base share and remainder); `paid` flips in the same transaction as the member's ledger credit.
 */
export const rebateAllocations = sqliteTable(
  "rebate_allocations",
  {
    merchantId: text("merchant_id").notNull(),
    programId: text("program_id").notNull(),
    periodKey: text("period_key").notNull(),
    memberId: text("member_id").notNull(),
    spend: integer("spend").notNull(),
    /** floor(pool * spend / totalNetSpend), and what that floor left over (< totalNetSpend). */
    base: integer("base"),
    remainder: integer("remainder"),
    /** Money allocated (base, +1 for the largest remainders), set when paid. */
    amount: integer("amount"),
    /** Points or credit written to the ledger. */
    units: integer("units"),
    paid: integer("paid").notNull().default(0),
    paidAt: integer("paid_at"),
  },
  (t) => [
    // Chunks of a close walk this key by member id (a cursor), so no index on `paid` is needed.
    primaryKey({ columns: [t.merchantId, t.programId, t.periodKey, t.memberId] }),
    // A member's rebate statement, newest first.
    index("rebate_allocations_member").on(t.merchantId, t.memberId, t.paidAt).where(sql`paid = 1 AND amount > 0`),
  ],
);

/**
 * One row per referred member (the referee), written with the member. The rewards and the minimum are
 * copied from the program when the first order qualifies it, so later setting changes do not move them.
 */
export const referrals = sqliteTable(
  "referrals",
  {
    merchantId: text("merchant_id").notNull(),
    refereeId: text("referee_id").notNull(),
    referrerId: text("referrer_id").notNull(),
    /** The referrer's code the referee was created with. */
    code: text("code").notNull(),
    status: text("status", { enum: REFERRAL_STATUSES }).notNull(),
    createdAt: integer("created_at").notNull(),
    /** The referee's first order (null while waiting for it). */
    firstOrderId: text("first_order_id"),
    /** When the first order's return window ends and the payout job may pay. */
    dueAt: integer("due_at"),
    referrerPoints: integer("referrer_points"),
    refereePoints: integer("referee_points"),
    minOrderAmount: integer("min_order_amount"),
    paidAt: integer("paid_at"),
    /** The bonus entries (and lots) of the payment; null when that side was paid nothing. */
    referrerEntryId: text("referrer_entry_id"),
    refereeEntryId: text("referee_entry_id"),
    /** Void or clawback: why, and when. */
    reason: text("reason"),
    endedAt: integer("ended_at"),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.refereeId] }),
    // The payout job: a merchant's pending referrals by due date, and every merchant's (cron).
    index("referrals_due").on(t.merchantId, t.status, t.dueAt),
    index("referrals_pending_due").on(t.dueAt).where(sql`status = 'pending'`),
    // A refund finds the referral its order qualified.
    index("referrals_first_order").on(t.merchantId, t.firstOrderId).where(sql`first_order_id IS NOT NULL`),
    // A member's referrals made, newest first.
    index("referrals_referrer").on(t.merchantId, t.referrerId, t.createdAt),
  ],
);

/**
 * D1 tables: the source of truth for migrations (drizzle-kit generates migrations/ from this file).
 *
 * Every tenant-owned row carries `merchant_id`, and member-owned rows also `member_id`: those two keys
 * are what lets a large merchant move to one D1 per merchant or per member-hash shard without a rewrite.
 * Times are integer milliseconds since the epoch (UTC); money and points are integers.
 */

import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { ENTRY_TYPES, EXPIRY_POLICIES, JOB_RUN_STATUSES, JOB_TRIGGERS, KEY_SCOPES, REDEMPTION_STATUSES } from "./enums";

export const merchants = sqliteTable("merchants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  currency: text("currency").notNull(),
  timezone: text("timezone").notNull(),
  createdAt: integer("created_at").notNull(),
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
  autoEnroll: integer("auto_enroll", { mode: "boolean" }).notNull(),
  /** Browser origins allowed on /v1/me (CORS), a JSON array of strings; null when none. */
  allowedOrigins: text("allowed_origins"),
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
    /** Store credit in minor units. */
    credit: integer("credit").notNull().default(0),
    lifetimeEarned: integer("lifetime_earned").notNull().default(0),
    lifetimeRedeemed: integer("lifetime_redeemed").notNull().default(0),
    orderCount: integer("order_count").notNull().default(0),
    /** Sequence number of the member's newest ledger entry. */
    entrySeq: integer("entry_seq").notNull().default(0),
    /** When the member's earliest pending lot becomes spendable (null: nothing pending). */
    nextReleaseAt: integer("next_release_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  // Expression index members_last_activity (inactivity expiry) is in migrations/0002_last_activity.sql.
  (t) => [primaryKey({ columns: [t.merchantId, t.id] })],
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
    points: integer("points").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    createdAt: integer("created_at").notNull(),
    orderId: text("order_id"),
    ruleId: text("rule_id"),
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
    awards: text("awards").notNull(),
    lotId: text("lot_id"),
    refundedAmount: integer("refunded_amount").notNull().default(0),
    pointsReversed: integer("points_reversed").notNull().default(0),
    /** Reversal points not taken back because the order's own points had already expired. */
    expiredExcused: integer("expired_excused").notNull().default(0),
    /** Quantity refunded so far per sku, JSON pairs [["sku", 2], ...] (older rows: a JSON object). */
    refundedItems: text("refunded_items"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.id] }), index("orders_member").on(t.merchantId, t.memberId, t.occurredAt)],
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
    points: integer("points").notNull(),
    value: integer("value").notNull(),
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
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.id] })],
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
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.key] }), index("idempotency_created").on(t.createdAt)],
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
    chunks: integer("chunks").notNull().default(0),
    /** More due work was left for the next run (the run stopped at its chunk budget). */
    more: integer("more", { mode: "boolean" }).notNull().default(false),
    errors: text("errors"),
  },
  (t) => [index("job_runs_merchant").on(t.merchantId, t.startedAt), index("job_runs_started").on(t.startedAt)],
);

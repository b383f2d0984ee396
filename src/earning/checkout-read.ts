/**
 * The checkout's read as ONE statement returning one row: the configuration version, the configuration
 * itself (program, ladder, active rules, stamp cards) only when the version moved past the isolate's cached
 * one, and the member's side (member row, rule usage, stamps, what points paid of the order, whether the
 * order exists). Each read is a scalar subquery rendering its rows as JSON, so the checkout costs one D1
 * statement however many reads it has: statements, not rows, dominate a local D1 round trip's CPU.
 *
 * Reads the cached configuration says cannot matter (rule usage without limited rules, stamps without
 * cards) return '[]' unless the version moved, when they are read for the new configuration.
 */
import { type Sql, sql } from "../platform/d1/sql";
import { ladderQuery } from "../tiers/ladder-row";
import { MAX_ACTIVE_RULES } from "./limits";
import { candidatePeriodKeys } from "./rule-limits";
import { MAX_ACTIVE_STAMP_CARDS } from "./stamp-card-row";

/** What the checkout already knows: the isolate cache entry it may use, and what its configuration needs. */
export interface CheckoutCacheRef {
  /** Cache key (null: read everything, cache nothing). */
  key: string | null;
  /** The cached version (null: none). */
  known: number | null;
  /** In the cached configuration: some active rule has limits / some stamp card is active. */
  needsUsage: boolean;
  needsStamps: boolean;
}

export const NO_CACHE: CheckoutCacheRef = { key: null, known: null, needsUsage: true, needsStamps: true };

const PROGRAM_COLUMNS = [
  "merchantId",
  "pointValuePoints",
  "pointValueAmount",
  "pendingDays",
  "expiryPolicy",
  "expiryDays",
  "expirySince",
  "autoEnroll",
  "earnOnPointsPaid",
  "referralReferrerPoints",
  "referralRefereePoints",
  "referralMinOrderAmount",
  "updatedAt",
];
const LADDER_COLUMNS = [
  "metric",
  "windowKind",
  "windowDays",
  "graceDays",
  "downgradeSteps",
  "upgradeApplies",
  "version",
  "tiers",
];
const RULE_COLUMNS = [
  "merchantId",
  "id",
  "name",
  "active",
  "priority",
  "startsAt",
  "endsAt",
  "conditions",
  "effect",
  "exclusive",
  "limits",
  "version",
  "createdAt",
  "updatedAt",
];
const CARD_COLUMNS = ["id", "name", "counts", "match", "stamps", "reward"];
/** The member side's fields (MemberRow in checkout-context.ts) and the SQL of each, over a members row. */
const MEMBER_FIELDS = sql.raw(
  [
    ["storedTierId", "tier_id"],
    ["orderCount", "order_count"],
    ["nextReleaseAt", "next_release_at"],
    ["lastActivityAt", "last_activity_at"],
    ["enrolledAt", "enrolled_at"],
    ["tierWindowStart", "tier_window_start"],
    ["tierSpend", "tier_spend"],
    ["tierPoints", "tier_points"],
    ["tierOrders", "tier_orders"],
    ["attributes", "attributes"],
    ["birthday", "birthday"],
    ["referred", "referred_by IS NOT NULL"],
    ["inDebt", "balance < 0"],
  ]
    .map(([field, expression]) => `'${field}', ${expression}`)
    .join(", "),
);
const USAGE_COLUMNS = ["ruleId", "memberId", "period", "points"];

/** Program settings as a programs row (programFromRead parses it; booleans come back as 0/1). */
export function programRead(merchant: Sql): Sql {
  return sql`SELECT merchant_id AS merchantId, point_value_points AS pointValuePoints,
      point_value_amount AS pointValueAmount, pending_days AS pendingDays, expiry_policy AS expiryPolicy,
      expiry_days AS expiryDays, expiry_since AS expirySince, auto_enroll AS autoEnroll, earn_on_points_paid AS earnOnPointsPaid,
      referral_referrer_points AS referralReferrerPoints, referral_referee_points AS referralRefereePoints,
      referral_min_order_amount AS referralMinOrderAmount, updated_at AS updatedAt
    FROM programs WHERE merchant_id = ${merchant}`;
}

/**
 * The active rules as RuleRow. Bounded: rules beyond MAX_ACTIVE_RULES are refused when created or activated
 * (inside the write batch). In evaluation order (rule-set.ts), so were the bound ever passed, the rules kept
 * would be the same on every read: the first to apply, never an arbitrary subset.
 */
export function activeRulesRead(merchant: Sql): Sql {
  return sql`SELECT merchant_id AS merchantId, id, name, active, priority, starts_at AS startsAt, ends_at AS endsAt,
      conditions, effect, exclusive, limits, version, created_at AS createdAt, updated_at AS updatedAt
    FROM rules WHERE merchant_id = ${merchant} AND active = 1 ORDER BY priority DESC, id LIMIT ${MAX_ACTIVE_RULES}`;
}

/** `'key', "key"` pairs for json_object, built once per column list; the names are constants, never input. */
const fieldLists = new WeakMap<readonly string[], Sql>();
function jsonFields(columns: readonly string[]): Sql {
  let fields = fieldLists.get(columns);
  if (!fields) {
    fields = sql.raw(columns.map((c) => `'${c}', "${c}"`).join(", "));
    fieldLists.set(columns, fields);
  }
  return fields;
}

/** The query's rows as a JSON array ('[]' when none). */
function jsonRows(query: Sql, columns: readonly string[]): Sql {
  return sql`(SELECT json_group_array(json_object(${jsonFields(columns)})) FROM (${query}))`;
}

/** The query's first row as a JSON object (NULL when none). */
function jsonRow(query: Sql, columns: readonly string[]): Sql {
  return sql`(SELECT json_object(${jsonFields(columns)}) FROM (${query}) LIMIT 1)`;
}

/**
 * The member's row as the checkout reads it, as a JSON object (NULL when not enrolled). `m` names the merchant
 * row of the enclosing statement. Rendered straight from the row: the fewer nodes, the cheaper the statement
 * is to compile, and it is compiled in every checkout's read, guard and reply.
 */
function memberJson(m: Sql, memberId: string): Sql {
  return sql`(SELECT json_object(${MEMBER_FIELDS}) FROM members WHERE merchant_id = ${m} AND id = ${memberId})`;
}

/** The member's stamps as a JSON array, in a fixed order so two evaluations over the same rows render the same text. */
function stampsJson(m: Sql, memberId: string): Sql {
  return sql`(SELECT json_group_array(json_object('cardId', card_id, 'stamps', stamps, 'debt', debt))
    FROM (SELECT card_id, stamps, debt FROM member_stamps WHERE merchant_id = ${m} AND member_id = ${memberId} ORDER BY card_id))`;
}

/** The member side of the checkout that does not depend on the order: member row and stamps, as JSON text. */
export function memberSideSql(m: Sql, memberId: string): { member: Sql; stamps: Sql } {
  return {
    member: memberJson(m, memberId),
    stamps: stampsJson(m, memberId),
  };
}

/**
 * The statement. `merchant` is the merchant's id, or the merchant of the calling key (merchantOfKey) when
 * the read rides along with authentication; inner reads refer to the row it found. `at`: the request's time.
 */
export function checkoutRead(
  merchant: Sql,
  memberId: string,
  orderId: string,
  occurredAt: number,
  at: number,
  cache: CheckoutCacheRef,
): Sql {
  const m = sql.raw("m.id");
  const periods = sql.join(
    candidatePeriodKeys(occurredAt).map((key) => sql`${key}`),
    sql`, `,
  );
  const changed = cache.known === null ? sql`1` : sql`m.config_version <> ${cache.known}`;
  const ifChanged = (read: Sql) => sql`CASE WHEN ${changed} THEN ${read} END`;
  const ifNeeded = (needed: boolean, read: Sql) => (needed ? read : sql`CASE WHEN ${changed} THEN ${read} ELSE '[]' END`);
  // Budgets (member and period empty) and this member's periods around the order time: both along the
  // rule_usage_member index; only rows of rules with limits exist.
  const usage = sql`SELECT rule_id AS ruleId, member_id AS memberId, period, points FROM rule_usage
    WHERE merchant_id = ${m} AND ((member_id = '' AND period = '') OR (member_id = ${memberId} AND period IN (${periods})))`;
  // Bounded like the rules (refused past the bound when written); by id, the order cards are listed in.
  const cards = sql`SELECT id, name, counts, match, stamps, reward FROM stamp_cards
    WHERE merchant_id = ${m} AND active = 1 ORDER BY id LIMIT ${MAX_ACTIVE_STAMP_CARDS}`;
  const side = memberSideSql(m, memberId);
  return sql`SELECT m.config_version AS version, ${cache.known} AS known, ${cache.key} AS cacheKey,
      ${ifChanged(jsonRow(programRead(m), PROGRAM_COLUMNS))} AS program,
      ${ifChanged(jsonRow(ladderQuery(m), LADDER_COLUMNS))} AS ladder,
      ${ifChanged(jsonRows(activeRulesRead(m), RULE_COLUMNS))} AS rules,
      ${ifChanged(jsonRows(cards, CARD_COLUMNS))} AS cards,
      ${side.member} AS member,
      ${ifNeeded(cache.needsUsage, jsonRows(usage, USAGE_COLUMNS))} AS usage,
      ${ifNeeded(cache.needsStamps, side.stamps)} AS stamps,
      ${paidSql(m, memberId, orderId)} AS paid,
      ${holdPendingSql(m, memberId, orderId, at)} AS holdPending,
      EXISTS (SELECT 1 FROM orders WHERE merchant_id = ${m} AND id = ${orderId}) AS orderExists
    FROM merchants m WHERE m.id = ${merchant}`;
}

/**
 * What the member's captured redemptions linked to the order paid of it, in minor units. Only the member's own:
 * another member's redemption naming the same order id pays nothing of this order. Looked up by order (its
 * redemptions are one or two), never through the member's, which the planner would otherwise pick for holds.
 */
export function paidSql(m: Sql, memberId: string, orderId: string): Sql {
  return sql`(SELECT COALESCE(SUM(value), 0) FROM redemptions INDEXED BY redemptions_order
        WHERE merchant_id = ${m} AND order_id = ${orderId} AND member_id = ${memberId} AND status = 'captured')`;
}

/**
 * Whether points are held for the order at `at` (a hold linked by orderId, neither captured nor cancelled, within
 * its time): what points pay of the order is not known yet, so the order cannot be posted (orders/service.ts).
 * A hold past its time pays nothing: a capture then fails and releases it, as the hold-release job does.
 */
export function holdPendingSql(m: Sql, memberId: string, orderId: string, at: number): Sql {
  return sql`EXISTS (SELECT 1 FROM redemptions INDEXED BY redemptions_order
        WHERE merchant_id = ${m} AND order_id = ${orderId} AND member_id = ${memberId} AND status = 'held' AND hold_expires_at > ${at})`;
}

/** The statement's row, JSON columns still as text (null when the merchant was not found). */
export interface CheckoutRow {
  version: number;
  known: number | null;
  cacheKey: string | null;
  program: string | null;
  ladder: string | null;
  rules: string | null;
  cards: string | null;
  member: string | null;
  usage: string;
  stamps: string;
  paid: number;
  holdPending: number;
  orderExists: number;
  /** Not read: made from the isolate's member snapshot (member-snapshot.ts), to be checked by the batch. */
  speculative?: boolean;
}

/** Everything an order needs to be evaluated, read in one D1 round trip. */

import type { programs } from "../db/schema";
import { merchantOfKey, type Prefetch } from "../platform/auth";
import { MINUTE_MS, now } from "../platform/clock";
import type { Prefetched } from "../platform/context";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { ApiError } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import { MAX_UNITS } from "../platform/validation";
import { type MemberClock, type ProgramSettings, programFromRow } from "../program/settings";
import type { Ladder } from "../tiers/ladder";
import { type LadderRow, ladderFromRow, ladderQuery } from "../tiers/ladder-row";
import { type CheckoutConfig, cachedConfig, cachedVersion, rememberConfig } from "./config-cache";
import { MAX_ACTIVE_RULES } from "./limits";
import { candidatePeriodKeys } from "./rule-limits";
import { type RuleRow, ruleFromRow } from "./rule-row";
import type { OrderInput } from "./schemas";
import { MAX_ACTIVE_STAMP_CARDS, type StampCard, type StampCardRow, stampCardFromRow } from "./stamp-card-row";
import type { LimitUsage, MemberFacts, Rule } from "./types";

/** The member's tier status as stored (see members.tier_* in db/schema.ts). */
export interface MemberTierState {
  /** Stored tier id (null: never placed, the lowest tier). */
  storedTierId: string | null;
  tierWindowStart: string | null;
  tierSpend: number;
  tierPoints: number;
  tierOrders: number;
}

export interface CheckoutContext {
  program: ProgramSettings;
  /** The tier ladder, null when the merchant has none. */
  ladder: Ladder | null;
  /** null when the member is not enrolled yet. `referred`: created with a referral code (src/referrals). */
  member: (MemberFacts & MemberClock & MemberTierState & { referred: boolean }) | null;
  rules: Rule[];
  /** What the active rules have awarded against their budgets, and this member against per-member limits. */
  usage: LimitUsage;
  /** What captured redemptions linked to the order paid of it, in minor units. */
  paidWithPoints: number;
  /** The member's stamps per card id. */
  stampProgress: ReadonlyMap<string, number>;
  stampCards: StampCard[];
  orderExists: boolean;
}

/** The checkout's reads by name, in the order they are batched (and their results come back). */
const CHECKOUT_READS = ["config", "program", "ladder", "member", "rules", "cards", "usage", "paid", "stamps", "order"] as const;
type CheckoutRead = (typeof CHECKOUT_READS)[number];

/**
 * The checkout's reads with the merchant given as an SQL expression: its id, or the merchant of the calling
 * key (merchantOfKey) when they ride along with authentication (see Prefetch). Raw SQL rather than drizzle:
 * it is the hottest read path and must be batchable with the key lookup.
 */
function checkoutQueries(merchant: Sql, memberId: string, orderId: string, occurredAt: number, cache: CacheRef) {
  const periods = sql.join(
    candidatePeriodKeys(occurredAt).map((key) => sql`${key}`),
    sql`, `,
  );
  const known = cache.key === null ? null : cachedVersion(cache.key);
  // With a cached configuration, its reads return rows only when the version moved past it.
  const ifChanged = (query: Sql) =>
    known === null
      ? query
      : sql`SELECT * FROM (${query}) WHERE (SELECT config_version FROM merchants WHERE id = ${merchant}) <> ${known}`;
  const queries: Record<CheckoutRead, Sql> = {
    config: sql`SELECT config_version AS version, ${known} AS known, ${cache.key} AS cacheKey FROM merchants WHERE id = ${merchant}`,
    program: programRead(merchant),
    ladder: ladderQuery(merchant),
    member: sql`SELECT tier_id AS storedTierId, order_count AS orderCount, next_release_at AS nextReleaseAt,
        last_activity_at AS lastActivityAt, enrolled_at AS enrolledAt, tier_window_start AS tierWindowStart,
        tier_spend AS tierSpend, tier_points AS tierPoints, tier_orders AS tierOrders, attributes, birthday,
        referred_by IS NOT NULL AS referred
      FROM members WHERE merchant_id = ${merchant} AND id = ${memberId}`,
    rules: activeRulesRead(merchant),
    // Budgets (member and period empty) and this member's periods around the order time: both along the
    // rule_usage_member index; only rows of rules with limits exist.
    usage: sql`SELECT rule_id AS ruleId, member_id AS memberId, period, points FROM rule_usage
      WHERE merchant_id = ${merchant} AND ((member_id = '' AND period = '') OR (member_id = ${memberId} AND period IN (${periods})))`,
    cards: sql`SELECT id, name, counts, match, stamps, reward FROM stamp_cards
      WHERE merchant_id = ${merchant} AND active = 1 LIMIT ${MAX_ACTIVE_STAMP_CARDS}`,
    stamps: sql`SELECT card_id AS cardId, stamps FROM member_stamps WHERE merchant_id = ${merchant} AND member_id = ${memberId}`,
    // What redemptions linked to this order paid of it (redemptions_order index): only the rest earns.
    paid: sql`SELECT COALESCE(SUM(value), 0) AS value FROM redemptions
      WHERE merchant_id = ${merchant} AND order_id = ${orderId} AND status = 'captured'`,
    order: sql`SELECT 1 AS found FROM orders WHERE merchant_id = ${merchant} AND id = ${orderId}`,
  };
  return {
    ...queries,
    program: ifChanged(queries.program),
    ladder: ifChanged(queries.ladder),
    rules: ifChanged(queries.rules),
    cards: ifChanged(queries.cards),
  };
}

/** Program settings as a programs row (programFromRead parses it; booleans come back as 0/1). */
export function programRead(merchant: Sql): Sql {
  return sql`SELECT merchant_id AS merchantId, point_value_points AS pointValuePoints,
      point_value_amount AS pointValueAmount, pending_days AS pendingDays, expiry_policy AS expiryPolicy,
      expiry_days AS expiryDays, auto_enroll AS autoEnroll, earn_on_points_paid AS earnOnPointsPaid,
      referral_referrer_points AS referralReferrerPoints, referral_referee_points AS referralRefereePoints,
      referral_min_order_amount AS referralMinOrderAmount, updated_at AS updatedAt
    FROM programs WHERE merchant_id = ${merchant}`;
}

/** The active rules as RuleRow. Bounded: rules beyond MAX_ACTIVE_RULES are refused when created or activated. */
export function activeRulesRead(merchant: Sql): Sql {
  return sql`SELECT merchant_id AS merchantId, id, name, active, priority, starts_at AS startsAt, ends_at AS endsAt,
      conditions, effect, exclusive, limits, version, created_at AS createdAt, updated_at AS updatedAt
    FROM rules WHERE merchant_id = ${merchant} AND active = 1 LIMIT ${MAX_ACTIVE_RULES}`;
}

/** A programs row as read by programRead, as settings. */
export function programFromRead(row: Record<string, unknown> | undefined): ProgramSettings {
  const program = row as
    | (typeof programs.$inferSelect & { autoEnroll: boolean | number; earnOnPointsPaid: boolean | number })
    | undefined;
  return programFromRow(
    program
      ? { ...program, autoEnroll: Boolean(program.autoEnroll), earnOnPointsPaid: Boolean(program.earnOnPointsPaid) }
      : undefined,
  );
}

/** The isolate cache entry the reads may use (null: read everything). */
interface CacheRef {
  key: string | null;
}

/** The checkout's reads as named statements, under names no other prefetch uses. */
export function checkoutReads(
  db: D1Database,
  merchant: Sql,
  memberId: string,
  orderId: string,
  occurredAt: number,
  cache: CacheRef = { key: null },
): Record<`checkout.${CheckoutRead}`, D1PreparedStatement> {
  const queries = checkoutQueries(merchant, memberId, orderId, occurredAt, cache);
  return Object.fromEntries(CHECKOUT_READS.map((name) => [`checkout.${name}`, prepare(db, queries[name])])) as Record<
    `checkout.${CheckoutRead}`,
    D1PreparedStatement
  >;
}

/** Rows of each read, from results named as checkoutReads names them. */
function byName(results: Prefetched): Record<CheckoutRead, Record<string, unknown>[]> {
  const rows = (name: CheckoutRead) => (results[`checkout.${name}`]?.results ?? []) as Record<string, unknown>[];
  return {
    config: rows("config"),
    program: rows("program"),
    ladder: rows("ladder"),
    member: rows("member"),
    rules: rows("rules"),
    usage: rows("usage"),
    paid: rows("paid"),
    cards: rows("cards"),
    stamps: rows("stamps"),
    order: rows("order"),
  };
}

/** The checkout's results when they all rode along with authentication. */
function prefetchedCheckout(prefetched: Prefetched | undefined) {
  return prefetched && CHECKOUT_READS.every((name) => prefetched[`checkout.${name}`]) ? prefetched : undefined;
}

function configFrom(rows: Record<CheckoutRead, Record<string, unknown>[]>): CheckoutConfig {
  return {
    program: programFromRead(rows.program[0]),
    ladder: ladderFromRow(rows.ladder[0] as LadderRow | undefined),
    rules: (rows.rules as RuleRow[]).map(ruleFromRow),
    stampCards: (rows.cards as unknown as StampCardRow[]).map(stampCardFromRow),
  };
}

/**
 * The configuration: cached when the reads skipped it (the version is the one the cache held), else built
 * from the rows and cached. undefined when the cache moved on since the reads were made: read again.
 */
function configOf(rows: Record<CheckoutRead, Record<string, unknown>[]>): CheckoutConfig | undefined {
  const version = rows.config[0] as { version: number; known: number | null; cacheKey: string | null } | undefined;
  if (!version || version.cacheKey === null) return configFrom(rows);
  if (version.known === version.version) return cachedConfig(version.cacheKey, version.version);
  const config = configFrom(rows);
  rememberConfig(version.cacheKey, version.version, config);
  return config;
}

function contextFrom(rows: Record<CheckoutRead, Record<string, unknown>[]>): CheckoutContext | undefined {
  const config = configOf(rows);
  if (!config) return undefined;
  const member = rows.member[0] as
    | (MemberClock &
        MemberTierState & { orderCount: number; attributes: string | null; birthday: string | null; referred: number })
    | undefined;
  return {
    ...config,
    member: member
      ? {
          ...member,
          ...tierFacts(config.ladder, member.storedTierId),
          previousOrders: member.orderCount,
          referred: Boolean(member.referred),
          attributes: member.attributes ? (JSON.parse(member.attributes) as Record<string, unknown>) : {},
        }
      : null,
    usage: usageFromRows(rows.usage as unknown as UsageRow[]),
    stampProgress: new Map((rows.stamps as { cardId: string; stamps: number }[]).map((r) => [r.cardId, r.stamps])),
    paidWithPoints: Number((rows.paid[0] as { value?: number } | undefined)?.value ?? 0),
    orderExists: rows.order.length > 0,
  };
}

interface UsageRow {
  ruleId: string;
  memberId: string;
  period: string;
  points: number;
}

function usageFromRows(rows: readonly UsageRow[]): LimitUsage {
  const budget = new Map<string, number>();
  const member = new Map<string, Map<string, number>>();
  for (const row of rows) {
    if (row.memberId === "") budget.set(row.ruleId, row.points);
    else member.set(row.ruleId, (member.get(row.ruleId) ?? new Map()).set(row.period, row.points));
  }
  return { budget, member };
}

/** The order time a request names (now when absent or unreadable: validation refuses the latter). */
export function orderTimeOf(occurredAt: unknown, at: number): number {
  const parsed = typeof occurredAt === "string" ? Date.parse(occurredAt) : Number.NaN;
  return Number.isNaN(parsed) ? at : parsed;
}

/** The checkout context: from the reads prefetched with authentication when present, else read now. */
export async function loadCheckoutContext(
  scope: RequestScope,
  input: Pick<OrderInput, "memberId" | "orderId" | "occurredAt">,
): Promise<CheckoutContext> {
  const { memberId, orderId } = input;
  const prefetched = prefetchedCheckout(scope.prefetched);
  const fromPrefetch = prefetched ? contextFrom(byName(prefetched)) : undefined;
  if (fromPrefetch) return fromPrefetch;
  const occurredAt = orderTimeOf(input.occurredAt, scope.at);
  const reads = checkoutReads(scope.db, sql`${scope.merchant.id}`, memberId, orderId, occurredAt);
  const names = Object.keys(reads) as (keyof typeof reads)[];
  const results = await scope.db.batch(names.map((name) => reads[name]));
  const context = contextFrom(byName(Object.fromEntries(names.map((name, i) => [name, results[i]!]))));
  if (!context) throw new Error("checkout read without a cache key returned no configuration");
  return context;
}

/** Prefetch for routes whose JSON body names the member and order (POST /v1/orders, quote). */
export const prefetchCheckout: Prefetch = async (c) => {
  const body = (await c.req.json().catch(() => null)) as { memberId?: unknown; orderId?: unknown; occurredAt?: unknown } | null;
  const hash = c.var.secretHash;
  if (!hash || typeof body?.memberId !== "string" || typeof body.orderId !== "string") return {};
  return checkoutReads(c.var.db, merchantOfKey(hash), body.memberId, body.orderId, orderTimeOf(body.occurredAt, now()), {
    key: hash,
  });
};

/** How far into the future an order time may be: client clocks run a little ahead. */
export const CLOCK_SKEW_MS = 5 * MINUTE_MS;

/** Checks shared by posting and quoting an order. Returns the order time. */
export function checkOrder(input: OrderInput, merchantCurrency: string, at: number): number {
  if (input.currency !== merchantCurrency)
    throw new ApiError(
      "unprocessable",
      `The order currency ${input.currency} is not the merchant's currency ${merchantCurrency}.`,
      [{ path: "currency", message: `must be ${merchantCurrency}` }],
    );
  const occurredAt = input.occurredAt ? Date.parse(input.occurredAt) : at;
  // A few minutes of clock skew are tolerated; an order from the future is a client bug.
  if (occurredAt > at + CLOCK_SKEW_MS)
    throw new ApiError("unprocessable", "occurredAt is in the future.", [
      { path: "occurredAt", message: "must not be in the future" },
    ]);
  return occurredAt;
}

/** Points beyond MAX_UNITS would leave exact integer range for clients (and for us): refuse the order. */
export function assertEarnable(points: number): void {
  if (points > MAX_UNITS)
    throw new ApiError("unprocessable", `The order would earn more than ${MAX_UNITS} points.`, [
      { path: "amount", message: "earns too many points" },
    ]);
}

export const NEW_MEMBER: MemberFacts = { tierId: null, previousOrders: 0 };

/** What rules see of a member's tier: the stored one, the lowest when never placed; none without a ladder. */
export function tierFacts(ladder: Ladder | null, storedTierId: string | null): Pick<MemberFacts, "tierId" | "earnMultiplierBps"> {
  if (!ladder) return { tierId: storedTierId };
  const tier = ladder.tiers.find((t) => t.id === storedTierId) ?? ladder.tiers[0];
  return { tierId: tier?.id ?? null, earnMultiplierBps: tier?.earnMultiplierBps ?? 10_000 };
}

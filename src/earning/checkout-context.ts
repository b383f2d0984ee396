/** Everything an order needs to be evaluated, read in one D1 round trip. */

import type { programs } from "../db/schema";
import { merchantOfKey, type Prefetch, type PrefetchReads } from "../platform/auth";
import { MINUTE_MS, now } from "../platform/clock";
import type { Prefetched } from "../platform/context";
import { prepare, sql } from "../platform/d1/sql";
import { ApiError } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import { MAX_UNITS } from "../platform/validation";
import { type MemberClock, type ProgramSettings, programFromRow } from "../program/settings";
import type { Ladder } from "../tiers/ladder";
import { type LadderRow, ladderFromRow } from "../tiers/ladder-row";
import { type CheckoutCacheRef, type CheckoutRow, checkoutRead, NO_CACHE } from "./checkout-read";
import { type CheckoutConfig, cachedConfig, cachedVersion, rememberConfig } from "./config-cache";
import { type Speculation, takeSnapshot } from "./member-snapshot";
import { type RuleRow, ruleSetFromRows } from "./rule-row";
import type { RuleSet } from "./rule-set";
import type { OrderInput } from "./schemas";
import { type StampCard, type StampCardRow, stampCardFromRow } from "./stamp-card-row";
import type { StampProgress } from "./stamps";
import type { LimitUsage, MemberFacts } from "./types";

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
  /**
   * null when the member is not enrolled yet. `referred`: created with a referral code (src/referrals);
   * `inDebt`: a refund left the balance below zero (later credits repay it first).
   */
  member: (MemberFacts & MemberClock & MemberTierState & { referred: boolean; inDebt: boolean }) | null;
  /** The active rules, compiled once per configuration version. */
  ruleSet: RuleSet;
  /** What the active rules have awarded against their budgets, and this member against per-member limits. */
  usage: LimitUsage;
  /** What captured redemptions linked to the order paid of it, in minor units. */
  paidWithPoints: number;
  /** Points are held for the order (a linked hold neither captured nor cancelled, within its time). */
  holdPending: boolean;
  /** The member's stamps and stamp debt per card id. */
  stampProgress: ReadonlyMap<string, StampProgress>;
  stampCards: StampCard[];
  orderExists: boolean;
  /**
   * The merchant's configuration version the rules, program and ladder above are of: the write batch checks
   * it is still current, so an order never commits against a rule or setting changed since its read.
   */
  configVersion: number;
  /** Set when planned from the isolate's member snapshot: the write batch must start with its guard. */
  speculation?: Speculation;
}

/** The isolate cache entry the read may use, and which member-side reads its configuration needs. */
function cacheRef(key: string | null): CheckoutCacheRef {
  const known = key === null ? null : cachedVersion(key);
  const config = key === null || known === null ? undefined : cachedConfig(key, known);
  if (!config) return { ...NO_CACHE, key };
  return {
    key,
    known,
    needsUsage: config.ruleSet.limited,
    needsStamps: config.stampCards.length > 0,
  };
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

const parsed = <T>(json: string | null): T | undefined => (json === null ? undefined : (JSON.parse(json) as T));

function configFrom(row: CheckoutRow): CheckoutConfig {
  return {
    program: programFromRead(parsed(row.program)),
    ladder: ladderFromRow(parsed<LadderRow>(row.ladder)),
    ruleSet: ruleSetFromRows(parsed<RuleRow[]>(row.rules) ?? []),
    stampCards: (parsed<StampCardRow[]>(row.cards) ?? []).map(stampCardFromRow),
  };
}

/**
 * The configuration: cached when the read skipped it (the version is the one the cache held), else built
 * from the row and cached. undefined when the cache moved on since the read was made: read again.
 */
function configOf(row: CheckoutRow): CheckoutConfig | undefined {
  if (row.cacheKey === null) return configFrom(row);
  if (row.known === row.version) return cachedConfig(row.cacheKey, row.version);
  const config = configFrom(row);
  rememberConfig(row.cacheKey, row.version, config);
  return config;
}

type MemberRow = MemberClock &
  MemberTierState & {
    orderCount: number;
    attributes: string | null;
    birthday: string | null;
    referred: number;
    inDebt: number;
  };

function contextFrom(row: CheckoutRow | undefined): CheckoutContext | undefined {
  if (!row) return undefined;
  const config = configOf(row);
  if (!config) return undefined;
  const member = parsed<MemberRow>(row.member);
  return {
    ...config,
    member: member
      ? {
          ...member,
          ...tierFacts(config.ladder, member.storedTierId),
          previousOrders: member.orderCount,
          referred: Boolean(member.referred),
          inDebt: Boolean(member.inDebt),
          attributes: member.attributes ? (JSON.parse(member.attributes) as Record<string, unknown>) : {},
        }
      : null,
    usage: usageFromRows(JSON.parse(row.usage) as UsageRow[]),
    stampProgress: new Map(
      (JSON.parse(row.stamps) as { cardId: string; stamps: number; debt: number }[]).map((r) => [
        r.cardId,
        { stamps: r.stamps, debt: r.debt },
      ]),
    ),
    paidWithPoints: Number(row.paid),
    holdPending: Boolean(row.holdPending),
    orderExists: Boolean(row.orderExists),
    configVersion: row.version,
    ...(row.speculative && row.member !== null
      ? { speculation: { version: row.version, snapshot: { member: row.member, stamps: row.stamps } } }
      : {}),
  };
}

/** The name the checkout read rides under in a prefetch (no other prefetch uses it). */
const CHECKOUT_READ = "checkout";

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

/** The checkout context: from the read prefetched with authentication when present, else read now. */
export async function loadCheckoutContext(
  scope: RequestScope,
  input: Pick<OrderInput, "memberId" | "orderId" | "occurredAt">,
): Promise<CheckoutContext> {
  const { memberId, orderId } = input;
  const prefetched = scope.prefetched?.[CHECKOUT_READ]?.results[0] as CheckoutRow | undefined;
  const fromPrefetch = contextFrom(prefetched);
  if (fromPrefetch) return fromPrefetch;
  const occurredAt = orderTimeOf(input.occurredAt, scope.at);
  const readWith = async (cache: CheckoutCacheRef) => {
    const read = checkoutRead(sql`${scope.merchant.id}`, memberId, orderId, occurredAt, scope.at, cache);
    return contextFrom((await prepare(scope.db, read).first<CheckoutRow>()) ?? undefined);
  };
  // Through the isolate's cache when the key is known: a read after a speculation found the configuration
  // moved must leave the cache at the new version, or every later speculation of this isolate goes stale.
  const cached = scope.configKey ? await readWith(cacheRef(scope.configKey)) : undefined;
  const context = cached ?? (await readWith(NO_CACHE));
  if (!context) throw new Error("checkout read without a cache key returned no configuration");
  return context;
}

type CheckoutBody = { memberId: string; orderId: string; occurredAt?: unknown };

/** The member and order the JSON body names, undefined when it names none (validation then refuses it). */
async function checkoutBody(c: Parameters<Prefetch>[0]): Promise<CheckoutBody | undefined> {
  const body = (await c.req.json().catch(() => null)) as { memberId?: unknown; orderId?: unknown; occurredAt?: unknown } | null;
  if (typeof body?.memberId !== "string" || typeof body.orderId !== "string") return undefined;
  return body as CheckoutBody;
}

/** Prefetch for routes whose JSON body names the member and order (POST /v1/orders, quote). */
export const prefetchCheckout: Prefetch = async (c): Promise<PrefetchReads> => {
  const body = await checkoutBody(c);
  const hash = c.get("secretHash");
  if (!hash || !body) return {};
  const read = checkoutRead(
    merchantOfKey(hash),
    body.memberId,
    body.orderId,
    orderTimeOf(body.occurredAt, now()),
    now(),
    cacheRef(hash),
  );
  return { [CHECKOUT_READ]: prepare(c.get("db"), read) };
};

/**
 * The checkout "read" without reading: the cached configuration and the member's snapshot, when the
 * configuration has no limited rules (their usage depends on the order's periods). POST /v1/orders only:
 * its batch checks the key and the snapshot (member-snapshot.ts).
 */
async function speculateCheckout(c: Parameters<Prefetch>[0], merchantId: string): Promise<Prefetched | undefined> {
  const body = await checkoutBody(c);
  const hash = c.get("secretHash");
  if (!hash || !body) return undefined;
  const ref = cacheRef(hash);
  if (ref.known === null || ref.needsUsage) return undefined;
  const snapshot = takeSnapshot(merchantId, body.memberId);
  if (!snapshot) return undefined;
  const row: CheckoutRow = {
    version: ref.known,
    known: ref.known,
    cacheKey: hash,
    program: null,
    ladder: null,
    rules: null,
    cards: null,
    member: snapshot.member,
    usage: "[]",
    stamps: snapshot.stamps,
    paid: 0,
    holdPending: 0,
    orderExists: 0,
    speculative: true,
  };
  return { [CHECKOUT_READ]: { results: [row], success: true, meta: {} as D1Meta } as D1Result };
}

/** POST /v1/orders: the checkout prefetch, or its speculation when the isolate can plan without reading. */
export const prefetchOrder: Prefetch = Object.assign((c: Parameters<Prefetch>[0]) => prefetchCheckout(c), {
  speculate: speculateCheckout,
});

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

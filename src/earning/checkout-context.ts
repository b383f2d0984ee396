/** Everything an order needs to be evaluated, read in one D1 round trip. */
import type { Context } from "hono";
import type { programs } from "../db/schema";
import { MERCHANT_OF_KEY, type Prefetch } from "../platform/auth";
import { MINUTE_MS } from "../platform/clock";
import type { AppEnv } from "../platform/context";
import { ApiError } from "../platform/errors";
import { MAX_UNITS } from "../platform/validation";
import { type MemberClock, type ProgramSettings, programFromRow } from "../program/settings";
import { type RuleRow, ruleFromRow } from "./rule-row";
import type { OrderInput } from "./schemas";
import type { MemberFacts, Rule } from "./types";

export interface CheckoutContext {
  program: ProgramSettings;
  /** null when the member is not enrolled yet. */
  member: (MemberFacts & MemberClock) | null;
  rules: Rule[];
  orderExists: boolean;
}

/**
 * The four reads of a checkout as raw SQL, with the merchant given as an SQL expression: `?1` bound to the
 * merchant id, or MERCHANT_OF_KEY bound to the key hash when they ride along with authentication
 * (see Prefetch). Raw SQL rather than drizzle here: it is the hottest read path and must be batchable
 * with the key lookup.
 */
export function checkoutReads(
  db: D1Database,
  merchantSql: string,
  first: string,
  memberId: string,
  orderId: string,
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `SELECT merchant_id AS merchantId, point_value_points AS pointValuePoints, point_value_amount AS pointValueAmount,
           pending_days AS pendingDays, expiry_policy AS expiryPolicy, expiry_days AS expiryDays, auto_enroll AS autoEnroll,
           updated_at AS updatedAt
         FROM programs WHERE merchant_id = ${merchantSql}`,
      )
      .bind(first),
    db
      .prepare(
        `SELECT tier_id AS tierId, order_count AS orderCount, next_release_at AS nextReleaseAt, last_activity_at AS lastActivityAt,
           enrolled_at AS enrolledAt
         FROM members WHERE merchant_id = ${merchantSql} AND id = ?2`,
      )
      .bind(first, memberId),
    db
      .prepare(
        `SELECT merchant_id AS merchantId, id, name, active, priority, starts_at AS startsAt, ends_at AS endsAt, conditions, effect,
           created_at AS createdAt, updated_at AS updatedAt
         FROM rules WHERE merchant_id = ${merchantSql} AND active = 1`,
      )
      .bind(first),
    db.prepare(`SELECT 1 AS found FROM orders WHERE merchant_id = ${merchantSql} AND id = ?2`).bind(first, orderId),
  ];
}

function contextFrom(results: D1Result[]): CheckoutContext {
  const [programRows, memberRows, ruleRows, orderRows] = results.map((r) => r.results as Record<string, unknown>[]);
  const program = programRows?.[0] as (typeof programs.$inferSelect & { autoEnroll: boolean | number }) | undefined;
  const member = memberRows?.[0] as (MemberClock & { tierId: string | null; orderCount: number }) | undefined;
  return {
    program: programFromRow(program ? { ...program, autoEnroll: Boolean(program.autoEnroll) } : undefined),
    member: member ? { ...member, previousOrders: member.orderCount } : null,
    rules: ((ruleRows ?? []) as RuleRow[]).map(ruleFromRow),
    orderExists: (orderRows?.length ?? 0) > 0,
  };
}

/** The checkout context: from the reads prefetched with authentication when present, else read now. */
export async function loadCheckoutContext(
  c: Context<AppEnv>,
  merchantId: string,
  memberId: string,
  orderId: string,
): Promise<CheckoutContext> {
  const prefetched = c.var.prefetched;
  if (prefetched && prefetched.length === 4) return contextFrom(prefetched);
  return contextFrom(await c.var.db.batch(checkoutReads(c.var.db, "?1", merchantId, memberId, orderId)));
}

/** Prefetch for routes whose JSON body names the member and order (POST /v1/orders, quote). */
export const prefetchCheckout: Prefetch = async (c) => {
  const body = (await c.req.json().catch(() => null)) as { memberId?: unknown; orderId?: unknown } | null;
  const hash = c.var.secretHash;
  if (!hash || typeof body?.memberId !== "string" || typeof body.orderId !== "string") return [];
  return checkoutReads(c.var.db, MERCHANT_OF_KEY, hash, body.memberId, body.orderId);
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

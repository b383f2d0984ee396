/** Everything an order needs to be evaluated, read in one D1 round trip. */
import { and, eq } from "drizzle-orm";
import { members, orders, programs } from "../db/schema";
import type { Orm } from "../platform/db";
import { ApiError } from "../platform/errors";
import { MAX_UNITS } from "../platform/validation";
import { type MemberClock, type ProgramSettings, programFromRow } from "../program/settings";
import { activeRulesQuery, ruleFromRow } from "../rules/repository";
import type { MemberFacts, Rule } from "../rules/types";
import type { OrderInput } from "./schemas";

export interface CheckoutContext {
  program: ProgramSettings;
  /** null when the member is not enrolled yet. */
  member: (MemberFacts & MemberClock) | null;
  rules: Rule[];
  orderExists: boolean;
}

export async function loadCheckoutContext(orm: Orm, merchantId: string, memberId: string, orderId: string): Promise<CheckoutContext> {
  const [programRows, memberRows, ruleRows, orderRows] = await orm.batch([
    orm.select().from(programs).where(eq(programs.merchantId, merchantId)),
    orm
      .select({
        tierId: members.tierId,
        orderCount: members.orderCount,
        nextReleaseAt: members.nextReleaseAt,
        lastOrderAt: members.lastOrderAt,
        enrolledAt: members.enrolledAt,
      })
      .from(members)
      .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId))),
    activeRulesQuery(orm, merchantId),
    orm
      .select({ id: orders.id })
      .from(orders)
      .where(and(eq(orders.merchantId, merchantId), eq(orders.id, orderId))),
  ]);
  const member = memberRows[0];
  return {
    program: programFromRow(programRows[0]),
    member: member ? { ...member, previousOrders: member.orderCount } : null,
    rules: ruleRows.map(ruleFromRow),
    orderExists: orderRows.length > 0,
  };
}

/** Checks shared by posting and quoting an order. Returns the order time. */
export function checkOrder(input: OrderInput, merchantCurrency: string, at: number): number {
  if (input.currency !== merchantCurrency)
    throw new ApiError("unprocessable", `The order currency ${input.currency} is not the merchant's currency ${merchantCurrency}.`, [
      { path: "currency", message: `must be ${merchantCurrency}` },
    ]);
  const occurredAt = input.occurredAt ? Date.parse(input.occurredAt) : at;
  // A few minutes of clock skew are tolerated; an order from the future is a client bug.
  if (occurredAt > at + 5 * 60_000)
    throw new ApiError("unprocessable", "occurredAt is in the future.", [{ path: "occurredAt", message: "must not be in the future" }]);
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

/** Referral rows as the API shows them, read by the referrals routes and by the member export. */
import { and, desc, eq, lt, or } from "drizzle-orm";
import { referrals } from "../db/schema";
import { toIso, toIsoOrNull } from "../platform/clock";
import type { Orm } from "../platform/db";
import type { ReferralBody } from "./schemas";

export type ReferralRow = typeof referrals.$inferSelect;

/** Where a page of a member's referrals continues: the last row's (createdAt, refereeId). */
export type ReferralCursor = [number, string];

/** The referrals a member made, newest first (referrals_referrer index). */
export function referralsMadeQuery(orm: Orm, merchantId: string, referrerId: string, limit: number, after?: ReferralCursor) {
  const older = after
    ? or(lt(referrals.createdAt, after[0]), and(eq(referrals.createdAt, after[0]), lt(referrals.refereeId, after[1])))
    : undefined;
  return orm
    .select()
    .from(referrals)
    .where(and(eq(referrals.merchantId, merchantId), eq(referrals.referrerId, referrerId), older))
    .orderBy(desc(referrals.createdAt), desc(referrals.refereeId))
    .limit(limit);
}

/** The referral that brought the member in, if any (primary key). */
export function referralOfQuery(orm: Orm, merchantId: string, refereeId: string) {
  return orm
    .select()
    .from(referrals)
    .where(and(eq(referrals.merchantId, merchantId), eq(referrals.refereeId, refereeId)));
}

export function referralBody(row: ReferralRow): ReferralBody {
  return {
    refereeId: row.refereeId,
    referrerId: row.referrerId,
    status: row.status,
    createdAt: toIso(row.createdAt),
    firstOrderId: row.firstOrderId,
    dueAt: toIsoOrNull(row.dueAt),
    referrerPoints: row.referrerPoints,
    refereePoints: row.refereePoints,
    minOrderAmount: row.minOrderAmount,
    paidAt: toIsoOrNull(row.paidAt),
    reason: row.reason,
    endedAt: toIsoOrNull(row.endedAt),
  };
}

export const isReferralCursor = (v: unknown): v is ReferralCursor =>
  Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string";

/** The referral an order qualified as its referee's first order, if any (referrals_first_order index). */
export function referralOfOrderQuery(orm: Orm, merchantId: string, orderId: string) {
  return orm
    .select()
    .from(referrals)
    .where(and(eq(referrals.merchantId, merchantId), eq(referrals.firstOrderId, orderId)));
}

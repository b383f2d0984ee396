/** Referral codes and the referrals a member made. Linking is in link.ts, payment in the payout job. */
import { and, eq } from "drizzle-orm";
import { members } from "../db/schema";
import { prepare, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { decodeCursor, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { newReferralCode } from "./code";
import { isReferralCursor, referralBody, referralsMadeQuery } from "./reads";

/** Draws of a new code before giving up: with 2^50 codes, even one collision is rare. */
const CODE_ATTEMPTS = 5;

/**
 * The member's referral code, made on first request. The update keeps a code already set (COALESCE), so
 * concurrent first requests agree on one; a draw that collides with another member's code is drawn again.
 */
export async function referralCode(scope: RequestScope, memberId: string): Promise<{ code: string }> {
  const { db, merchant, at } = scope;
  const member = sql`merchant_id = ${merchant.id} AND id = ${memberId}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const [, read] = await db.batch<{ code: string | null }>([
        prepare(
          db,
          sql`UPDATE members SET referral_code = COALESCE(referral_code, ${newReferralCode()}), updated_at = ${at}
            WHERE ${member} AND referral_code IS NULL AND erased_at IS NULL`,
        ),
        prepare(db, sql`SELECT referral_code AS code FROM members WHERE ${member}`),
      ]);
      const row = read?.results[0];
      if (!row) throw notFound(`Member ${memberId}`);
      // Erasure retires the code (members/service.ts): an erased member refers no one.
      if (row.code === null) throw new ApiError("unprocessable", `Member ${memberId} was erased: it has no referral code.`);
      return { code: row.code };
    } catch (error) {
      const failure = classifyBatchError(error);
      if (failure.kind !== "unique" || failure.table !== "members" || attempt >= CODE_ATTEMPTS) throw error;
    }
  }
}

/** The referrals the member made, newest first, with their status. */
export async function listReferrals(scope: RequestScope, memberId: string, limit: number, cursor?: string) {
  const { orm, merchant } = scope;
  const after = cursor ? decodeCursor(cursor, isReferralCursor) : undefined;
  const [memberRows, rows] = await orm.batch([
    orm
      .select({ id: members.id })
      .from(members)
      .where(and(eq(members.merchantId, merchant.id), eq(members.id, memberId))),
    referralsMadeQuery(orm, merchant.id, memberId, limit + 1, after),
  ]);
  if (memberRows.length === 0) throw notFound(`Member ${memberId}`);
  const result = page(rows, limit, (last) => [last.createdAt, last.refereeId]);
  return { data: result.data.map(referralBody), nextCursor: result.nextCursor };
}

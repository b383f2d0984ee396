/**
 * Linking a new member to its referrer, at creation only (PUT /v1/members/{memberId} with referredBy). The
 * members service reads these facts in one round trip, decides with refusal.ts, and adds these statements
 * to the batch that inserts the member, so the member and its referral are written together or not at all.
 */

import { guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import type { LinkFacts } from "./refusal";

/** Deepest referrer chain walked for loops; chains only grow one member at a time, so this is generous. */
export const MAX_REFERRAL_CHAIN = 1000;

/** Guard reason of a loop found inside the write batch. */
export const LOOP_GUARD = "referral_loop";

/**
 * Whether the chain of referrers starting at the code's owner (within the merchant) reaches `memberId`,
 * as column `loop`. Linking only at creation makes a loop impossible through the API; this keeps it so
 * even if rows were ever written another way.
 */
function loopSql(merchantId: string, memberId: string, code: string): Sql {
  return sql`WITH RECURSIVE chain(id, depth) AS (
      SELECT id, 0 FROM members WHERE referral_code = ${code} AND merchant_id = ${merchantId}
      UNION ALL
      SELECT m.referred_by, c.depth + 1 FROM chain c JOIN members m ON m.merchant_id = ${merchantId} AND m.id = c.id
      WHERE m.referred_by IS NOT NULL AND c.depth < ${MAX_REFERRAL_CHAIN})
    SELECT EXISTS (SELECT 1 FROM chain WHERE id = ${memberId}) AS loop`;
}

/** The facts of a link, read in one batch. `code` is normalized (see code.ts). */
export async function readLinkFacts(db: D1Database, merchantId: string, memberId: string, code: string): Promise<LinkFacts> {
  const [owner, existing, loop, program] = await db.batch<Record<string, unknown>>([
    prepare(db, sql`SELECT merchant_id AS merchantId, id AS memberId FROM members WHERE referral_code = ${code}`),
    prepare(db, sql`SELECT referred_by AS referredBy FROM members WHERE merchant_id = ${merchantId} AND id = ${memberId}`),
    prepare(db, loopSql(merchantId, memberId, code)),
    prepare(db, sql`SELECT referral_referrer_points IS NOT NULL AS isOn FROM programs WHERE merchant_id = ${merchantId}`),
  ]);
  const ownerRow = owner?.results[0] as { merchantId: string; memberId: string } | undefined;
  const existingRow = existing?.results[0] as { referredBy: string | null } | undefined;
  return {
    referralsOn: Boolean((program?.results[0] as { isOn?: number } | undefined)?.isOn),
    owner: ownerRow ?? null,
    existing: existingRow ?? null,
    loop: Boolean((loop?.results[0] as { loop?: number } | undefined)?.loop),
  };
}

/** Statements that go before the member's insert: the loop, checked again inside the transaction. */
export function linkGuardStatements(db: D1Database, merchantId: string, memberId: string, code: string): D1PreparedStatement[] {
  return [prepare(db, guardSql(LOOP_GUARD, sql`(${loopSql(merchantId, memberId, code)}) = 1`))];
}

/** The referral row of a new member, waiting for its first order. Goes after the member's insert. */
export function referralInsert(
  db: D1Database,
  link: { merchantId: string; refereeId: string; referrerId: string; code: string; at: number },
): D1PreparedStatement {
  return prepare(
    db,
    sql`INSERT INTO referrals (merchant_id, referee_id, referrer_id, code, status, created_at)
      VALUES (${link.merchantId}, ${link.refereeId}, ${link.referrerId}, ${link.code}, 'waiting', ${link.at})`,
  );
}

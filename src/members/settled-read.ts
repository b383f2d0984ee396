/**
 * The member read that settles what is due first: shared by the member routes (GET /v1/members/{memberId},
 * the export, expiring points) and by any capability that must see a member as it is now (the switching-cost
 * statement), so what is due is decided and settled in one place.
 */
import { MEMBER_JSON_SQL } from "../ledger/member-json";
import { type DueHold, LedgerWriter } from "../ledger/statements";
import { now } from "../platform/clock";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { notFound } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import { dueFor, expiryFromColumns } from "../program/settings";

/** The member's account row, aliased `m`. */
export const memberRow = (merchantId: string | Sql, memberId: string): Sql =>
  sql`m.merchant_id = ${merchantId} AND m.id = ${memberId}`;

/** The rendered member body as column `body`. */
export const selectMemberJson = (merchantId: string, memberId: string): Sql =>
  sql`SELECT ${sql.raw(MEMBER_JSON_SQL)} AS body FROM members m WHERE ${memberRow(merchantId, memberId)}`;

/**
 * Reads the rendered member body plus what is due for it: pending points past their window, lots past
 * their date, holds past their time, and what the inactivity deadline needs. `merchant` is the merchant id,
 * or the key's merchant when the read rides along with authentication.
 */
export function memberReadStatement(db: D1Database, merchant: Sql, memberId: string, at: number): D1PreparedStatement {
  return prepare(
    db,
    sql`SELECT ${sql.raw(MEMBER_JSON_SQL)} AS body, m.next_release_at AS nextReleaseAt, m.last_activity_at AS lastActivityAt,
         m.enrolled_at AS enrolledAt, p.expiry_policy AS expiryPolicy, p.expiry_days AS expiryDays,
         p.expiry_since AS expirySince,
         EXISTS (SELECT 1 FROM point_lots WHERE merchant_id = m.merchant_id AND member_id = m.id AND remaining > 0
                 AND is_pending = 0 AND expire_key <= ${at}) AS expiryDue,
         (SELECT json_group_array(json_object('id', r.id, 'points', r.points, 'orderId', r.order_id, 'asset', r.asset)) FROM redemptions r
          WHERE r.merchant_id = m.merchant_id AND r.member_id = m.id AND r.status = 'held' AND r.hold_expires_at <= ${at}) AS dueHolds
       FROM members m LEFT JOIN programs p ON p.merchant_id = m.merchant_id
       WHERE ${memberRow(merchant, memberId)}`,
  );
}

/** The body the last statement of a batch rendered (selectMemberJson); the member row exists by then. */
export function renderedBody(result: D1Result<{ body?: string }> | undefined): string {
  const body = result?.results[0]?.body;
  if (body === undefined) throw new Error("the batch rendered no member body");
  return body;
}

/** A row of memberReadStatement. */
export interface MemberReadRow {
  body: string;
  nextReleaseAt: number | null;
  lastActivityAt: number | null;
  enrolledAt: number;
  expiryPolicy: string | null;
  expiryDays: number | null;
  expirySince: number | null;
  expiryDue: number;
  dueHolds: string;
}

/** How often a read retries when a hold it releases was captured or cancelled at the same moment. */
const READ_SETTLE_ATTEMPTS = 3;

/**
 * The member body rendered by SQL, or 404. A read that finds anything due (pending points past their
 * window, points past their date or the inactivity deadline, holds past their time) settles it first, as
 * the jobs would (whichever comes first does it, once), so a balance shown is always a balance that can
 * be spent. `first` is memberReadStatement's row when the caller already read it (null: no such member).
 */
export async function settledMemberJson(scope: RequestScope, memberId: string, first?: MemberReadRow | null): Promise<string> {
  const { db, merchant } = scope;
  for (let attempt = 1; ; attempt++) {
    const at = attempt === 1 ? scope.at : now();
    const row =
      attempt === 1 && first !== undefined
        ? first
        : await memberReadStatement(db, sql`${merchant.id}`, memberId, at).first<MemberReadRow>();
    if (!row) throw notFound(`Member ${memberId}`);
    const clock = { ...row, dueHolds: JSON.parse(row.dueHolds) as DueHold[] };
    const expiry = { expiry: expiryFromColumns(row.expiryPolicy, row.expiryDays, row.expirySince) };
    const due = dueFor(clock, expiry, merchant.timezone, at, Boolean(row.expiryDue));
    if (!due.releaseDue && !due.expireDue && due.inactiveSince === undefined && !due.dueHolds) return row.body;
    const ledger = new LedgerWriter(db, merchant.id, memberId, at).settle(due);
    try {
      const results = await db.batch<{ body: string }>([
        ...ledger.statements,
        prepare(db, selectMemberJson(merchant.id, memberId)),
      ]);
      return renderedBody(results.at(-1));
    } catch (error) {
      const failure = classifyBatchError(error);
      if (!(failure.kind === "guard" && failure.reason === "conflict") || attempt >= READ_SETTLE_ATTEMPTS) throw error;
    }
  }
}

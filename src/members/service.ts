/** Member records, their ledger, adjustments, tokens, export and erasure. */
import { and, asc, desc, sql as drizzleSql, eq, gt, lt, lte } from "drizzle-orm";
import type { Context } from "hono";
import { ledgerEntries, members, orders, pointLots, programs, redemptions, refunds } from "../db/schema";
import { MEMBER_JSON_SQL, type MemberBody, SELECT_MEMBER_JSON } from "../ledger/member-json";
import { type DueHold, LedgerWriter } from "../ledger/statements";
import { currentMerchant, MEMBER_TOKEN_PREFIX, merchantOfKey, type Prefetch } from "../platform/auth";
import { DAY_MS, now, toIso } from "../platform/clock";
import type { AppEnv } from "../platform/context";
import { randomToken, sha256Hex } from "../platform/crypto";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { idempotentWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import { decodeCursor, isNumber, page } from "../platform/pagination";
import { commitWrite, conflictIsRace, retryOnRace } from "../platform/write";
import { dueFor, expiryFromColumns, inactivityDeadline, lastActivity, lotExpiry, programFromRow } from "../program/settings";
import { loadAccountContext } from "./account-context";
import { entryBody } from "./ledger-entries";
import type { MemberInput } from "./schemas";

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
         EXISTS (SELECT 1 FROM point_lots WHERE merchant_id = m.merchant_id AND member_id = m.id AND remaining > 0
                 AND is_pending = 0 AND expire_key <= ${at}) AS expiryDue,
         (SELECT json_group_array(json_object('id', r.id, 'points', r.points, 'orderId', r.order_id)) FROM redemptions r
          WHERE r.merchant_id = m.merchant_id AND r.member_id = m.id AND r.status = 'held' AND r.hold_expires_at <= ${at}) AS dueHolds
       FROM members m LEFT JOIN programs p ON p.merchant_id = m.merchant_id
       WHERE m.merchant_id = ${merchant} AND m.id = ${memberId}`,
  );
}

interface MemberReadRow {
  body: string;
  nextReleaseAt: number | null;
  lastActivityAt: number | null;
  enrolledAt: number;
  expiryPolicy: string | null;
  expiryDays: number | null;
  expiryDue: number;
  dueHolds: string;
}

/** Prefetch for GET /v1/members/{memberId}: the whole read rides along with authentication. */
export const prefetchMember: Prefetch = (c) => {
  const hash = c.var.secretHash;
  const memberId = c.req.param("memberId");
  return hash && memberId ? [memberReadStatement(c.var.db, merchantOfKey(hash), memberId, now())] : [];
};

/** How often a read retries when a hold it releases was captured or cancelled at the same moment. */
const READ_SETTLE_ATTEMPTS = 3;

/**
 * The member body rendered by SQL, or 404. A read that finds anything due (pending points past their
 * window, points past their date or the inactivity deadline, holds past their time) settles it first, as
 * the jobs would (whichever comes first does it, once), so a balance shown is always a balance that can
 * be spent.
 */
export async function readMemberJson(
  db: D1Database,
  merchant: { id: string; timezone: string },
  memberId: string,
  prefetched?: D1Result[],
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const at = now();
    const row =
      attempt === 1 && prefetched?.length === 1
        ? ((prefetched[0]!.results[0] as MemberReadRow | undefined) ?? null)
        : await memberReadStatement(db, sql`${merchant.id}`, memberId, at).first<MemberReadRow>();
    if (!row) throw notFound(`Member ${memberId}`);
    const clock = { ...row, dueHolds: JSON.parse(row.dueHolds) as DueHold[] };
    const due = dueFor(
      clock,
      { expiry: expiryFromColumns(row.expiryPolicy, row.expiryDays) },
      merchant.timezone,
      at,
      Boolean(row.expiryDue),
    );
    if (!due.releaseDue && !due.expireDue && due.inactiveSince === undefined && !due.dueHolds) return row.body;
    const ledger = new LedgerWriter(db, merchant.id, memberId, at).settle(due);
    try {
      const results = await db.batch<{ body: string }>([
        ...ledger.statements,
        db.prepare(SELECT_MEMBER_JSON).bind(merchant.id, memberId),
      ]);
      return results[results.length - 1]!.results[0]!.body;
    } catch (error) {
      const failure = classifyBatchError(error);
      if (!(failure.kind === "guard" && failure.reason === "conflict") || attempt >= READ_SETTLE_ATTEMPTS) throw error;
    }
  }
}

/** Points that will expire within `withinDays`, by date. */
export async function expiringPoints(
  c: Context<AppEnv>,
  merchantId: string,
  timezone: string,
  memberId: string,
  withinDays: number,
) {
  const orm = c.var.orm;
  // Settle first, so points already past their date (or the inactivity deadline) are not shown as coming.
  await readMemberJson(c.var.db, { id: merchantId, timezone }, memberId);
  const at = now();
  const until = at + withinDays * DAY_MS;
  const [memberRows, programRows, lotRows] = await orm.batch([
    orm
      .select({
        balance: members.balance,
        pending: members.pending,
        lastActivityAt: members.lastActivityAt,
        enrolledAt: members.enrolledAt,
      })
      .from(members)
      .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId))),
    orm.select().from(programs).where(eq(programs.merchantId, merchantId)),
    orm
      .select({ expiresAt: pointLots.expiresAt, points: drizzleSql<number>`SUM(${pointLots.remaining})` })
      .from(pointLots)
      .where(
        and(
          eq(pointLots.merchantId, merchantId),
          eq(pointLots.memberId, memberId),
          gt(pointLots.remaining, 0),
          gt(pointLots.expireKey, at),
          lte(pointLots.expireKey, until),
        ),
      )
      .groupBy(pointLots.expiresAt)
      .orderBy(asc(pointLots.expiresAt)),
  ]);
  const member = memberRows[0];
  if (!member) throw notFound(`Member ${memberId}`);
  const program = programFromRow(programRows[0]);
  let expiring = lotRows.map((r) => ({ points: r.points, expiresAt: toIso(r.expiresAt!) }));
  if (program.expiry.policy === "inactivity") {
    // Everything goes at once on the inactivity deadline, unless the member orders before it.
    const deadline = inactivityDeadline(program, lastActivity(member), timezone)!;
    const points = Math.max(0, member.balance) + member.pending;
    expiring = deadline > at && deadline <= until && points > 0 ? [{ points, expiresAt: toIso(deadline) }] : [];
  }
  return {
    memberId,
    withinDays,
    policy: program.expiry.policy,
    total: expiring.reduce((sum, e) => sum + e.points, 0),
    expiring,
  };
}

/** The personal fields of a member: the ones erasure removes and an erased member cannot take again. */
const PERSONAL_FIELDS = ["email", "name", "birthday", "attributes"] as const;

const erasedConflict = (memberId: string, fields: string[] = []) =>
  new ApiError(
    "conflict",
    `Member ${memberId} was erased: it takes no personal data or member tokens again. Its points and orders still work.`,
    fields.length > 0 ? fields.map((path) => ({ path, message: "cannot be set on an erased member" })) : undefined,
  );

export async function upsertMember(
  c: Context<AppEnv>,
  memberId: string,
  input: MemberInput,
): Promise<{ created: boolean; body: string }> {
  const merchant = currentMerchant(c);
  const db = c.var.db;
  const at = now();
  // Omitted fields keep their value; null clears one.
  const set = (field: keyof MemberInput, column: string, n: number) =>
    input[field] === undefined ? `${column} = ${column}` : `${column} = ?${n}`;
  const attributes =
    input.attributes === undefined ? undefined : input.attributes === null ? null : JSON.stringify(input.attributes);
  const personal = PERSONAL_FIELDS.filter((field) => input[field] != null);
  // One transaction: an erased member (erased even a moment ago) is left untouched, and the read tells why.
  const [existing, , rendered] = await db.batch<{ erased?: number; body?: string }>([
    db
      .prepare(`SELECT erased_at IS NOT NULL AS erased FROM members WHERE merchant_id = ?1 AND id = ?2`)
      .bind(merchant.id, memberId),
    db
      .prepare(
        `INSERT INTO members (merchant_id, id, email, name, birthday, attributes, enrolled_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT (merchant_id, id) DO UPDATE SET ${set("email", "email", 3)}, ${set("name", "name", 4)},
           ${set("birthday", "birthday", 5)}, ${set("attributes", "attributes", 6)}, updated_at = ?7
         WHERE members.erased_at IS NULL`,
      )
      .bind(merchant.id, memberId, input.email ?? null, input.name ?? null, input.birthday ?? null, attributes ?? null, at),
    db.prepare(SELECT_MEMBER_JSON).bind(merchant.id, memberId),
  ]);
  const found = existing?.results[0];
  if (found?.erased && personal.length > 0) throw erasedConflict(memberId, personal);
  return { created: found === undefined, body: rendered!.results[0]!.body! };
}

export async function listLedger(c: Context<AppEnv>, merchantId: string, memberId: string, limit: number, cursor?: string) {
  const orm = c.var.orm;
  const before = cursor ? decodeCursor(cursor, isNumber) : undefined;
  const [memberRows, rows] = await orm.batch([
    orm
      .select({ id: members.id })
      .from(members)
      .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId))),
    orm
      .select()
      .from(ledgerEntries)
      .where(
        and(
          eq(ledgerEntries.merchantId, merchantId),
          eq(ledgerEntries.memberId, memberId),
          before !== undefined ? lt(ledgerEntries.seq, before) : undefined,
        ),
      )
      .orderBy(desc(ledgerEntries.seq))
      .limit(limit + 1),
  ]);
  if (memberRows.length === 0) throw notFound(`Member ${memberId}`);
  const result = page(rows, limit, (last) => last.seq);
  return { data: result.data.map(entryBody), nextCursor: result.nextCursor };
}

export function adjustPoints(c: Context<AppEnv>, memberId: string, points: number, reason: string): Promise<Response> {
  // A due hold this adjustment releases was captured or cancelled at the same moment: read again.
  return retryOnRace(() => attemptAdjustment(c, memberId, points, reason));
}

async function attemptAdjustment(c: Context<AppEnv>, memberId: string, points: number, reason: string): Promise<Response> {
  const merchant = currentMerchant(c);
  const at = now();
  const { member, program } = await loadAccountContext(c.var.orm, merchant.id, memberId, at);
  const db = c.var.db;
  const write = idempotentWrite(c, at);
  const entryId = newId("le", at);
  const ledger = new LedgerWriter(db, merchant.id, memberId, at).settle(
    dueFor(member, program, merchant.timezone, at, points < 0),
  );
  if (points > 0) {
    ledger.credit({
      entryId,
      type: "adjust",
      points,
      pending: false,
      availableAt: at,
      expiresAt: lotExpiry(program, at, merchant.timezone),
      countsAsEarned: false,
      refs: { reason },
    });
  } else {
    ledger.spend({ entryId, type: "adjust", points: -points, moveId: entryId, refs: { reason } });
  }
  const statements = [
    ...ledger.statements,
    write.finish(
      201,
      `SELECT json_object('id', ?1, 'points', CAST(?2 AS INTEGER), 'reason', ?3, 'member', ${MEMBER_JSON_SQL}) FROM members m WHERE m.merchant_id = ?4 AND m.id = ?5`,
      [entryId, points, reason, merchant.id, memberId],
    ),
  ];
  return commitWrite(c.var.db, write, statements, 201, conflictIsRace);
}

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export async function mintMemberToken(c: Context<AppEnv>, memberId: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS) {
  const merchant = currentMerchant(c);
  const db = c.var.db;
  const at = now();
  const token = `${MEMBER_TOKEN_PREFIX}${randomToken(40)}`;
  const expiresAt = at + ttlSeconds * 1000;
  // The insert re-checks the member in the same transaction, so a token is never minted for an erased member.
  const [member] = await db.batch<{ erased: number }>([
    db
      .prepare(`SELECT erased_at IS NOT NULL AS erased FROM members WHERE merchant_id = ?1 AND id = ?2`)
      .bind(merchant.id, memberId),
    db
      .prepare(
        `INSERT INTO member_tokens (token_hash, merchant_id, member_id, expires_at, created_at)
         SELECT ?1, merchant_id, id, ?4, ?5 FROM members WHERE merchant_id = ?2 AND id = ?3 AND erased_at IS NULL`,
      )
      .bind(await sha256Hex(token), merchant.id, memberId, expiresAt, at),
  ]);
  const found = member?.results[0];
  if (!found) throw notFound(`Member ${memberId}`);
  if (found.erased) throw erasedConflict(memberId);
  return { token, expiresAt: toIso(expiresAt) };
}

/** Everything held about a member (privacy: the right of access). */
export async function exportMember(c: Context<AppEnv>, memberId: string) {
  const merchant = currentMerchant(c);
  const orm = c.var.orm;
  const member = JSON.parse(await readMemberJson(c.var.db, merchant, memberId)) as MemberBody;
  const [entryRows, orderRows, refundRows, redemptionRows] = await orm.batch([
    orm
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.merchantId, merchant.id), eq(ledgerEntries.memberId, memberId)))
      .orderBy(desc(ledgerEntries.seq)),
    orm
      .select()
      .from(orders)
      .where(and(eq(orders.merchantId, merchant.id), eq(orders.memberId, memberId))),
    orm
      .select()
      .from(refunds)
      .where(and(eq(refunds.merchantId, merchant.id), eq(refunds.memberId, memberId))),
    orm
      .select()
      .from(redemptions)
      .where(and(eq(redemptions.merchantId, merchant.id), eq(redemptions.memberId, memberId))),
  ]);
  return {
    exportedAt: toIso(now()),
    member,
    ledger: entryRows.map(entryBody),
    orders: orderRows.map((o) => ({
      orderId: o.id,
      amount: o.amount,
      currency: o.currency,
      occurredAt: toIso(o.occurredAt),
      channel: o.channel,
      items: o.items ? (JSON.parse(o.items) as unknown) : null,
      pointsEarned: o.pointsEarned,
      refundedAmount: o.refundedAmount,
      pointsReversed: o.pointsReversed,
    })),
    refunds: refundRows.map((r) => ({
      refundId: r.id,
      orderId: r.orderId,
      amount: r.amount,
      pointsReversed: r.pointsReversed,
      createdAt: toIso(r.createdAt),
    })),
    redemptions: redemptionRows.map((r) => ({
      id: r.id,
      status: r.status,
      points: r.points,
      value: r.value,
      orderId: r.orderId,
      createdAt: toIso(r.createdAt),
    })),
  };
}

/**
 * Erasure (privacy: the right to be forgotten): personal fields are removed and tokens revoked. Points,
 * orders and ledger stay, keyed by the merchant's member id, so every total still adds up.
 */
export async function eraseMember(c: Context<AppEnv>, memberId: string): Promise<void> {
  const merchant = currentMerchant(c);
  const db = c.var.db;
  const at = now();
  const [updated] = await db.batch([
    db
      .prepare(
        `UPDATE members SET email = NULL, name = NULL, birthday = NULL, attributes = NULL, erased_at = COALESCE(erased_at, ?1), updated_at = ?1
         WHERE merchant_id = ?2 AND id = ?3`,
      )
      .bind(at, merchant.id, memberId),
    db.prepare(`DELETE FROM member_tokens WHERE merchant_id = ?1 AND member_id = ?2`).bind(merchant.id, memberId),
  ]);
  if (!updated?.meta.changes) throw notFound(`Member ${memberId}`);
}

/** Member records, their ledger, adjustments, tokens, export and erasure. */

import { and, asc, desc, sql as drizzleSql, eq, gt, lt, lte } from "drizzle-orm";
import { ledgerEntries, members, pointLots, programs } from "../db/schema";
import { MEMBER_JSON_SQL } from "../ledger/member-json";
import { LedgerWriter } from "../ledger/statements";
import { MEMBER_TOKEN_PREFIX } from "../platform/auth";
import { DAY_MS, now, SECOND_MS, toIso } from "../platform/clock";
import type { Prefetched } from "../platform/context";
import { randomToken, sha256Hex } from "../platform/crypto";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { type PlannedWrite, scopedWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import { forgetMemberState } from "../platform/member-state";
import { decodeCursor, isNumber, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { conflictIsRace } from "../platform/write";
import { dueFor, inactivityDeadline, lastActivity, lotExpiry, programFromRow } from "../program/settings";
import { normalizeReferralCode } from "../referrals/code";
import { LOOP_GUARD, linkGuardStatements, readLinkFacts, referralInsert } from "../referrals/link";
import { decideLink, refusalError } from "../referrals/refusal";
import { loadAccountContext } from "./account-context";
import { exportBody, exportQueries, exportRows } from "./export";
import { entryBody } from "./ledger-entries";
import { DEFAULT_TOKEN_TTL_SECONDS, type MemberBody, type MemberExport, type MemberInput } from "./schemas";
import { type MemberReadRow, memberRow, renderedBody, selectMemberJson, settledMemberJson } from "./settled-read";

/**
 * The member read that rode along with authentication (the route's prefetch is memberReadStatement alone):
 * undefined when nothing was prefetched (member tokens), null when the member does not exist.
 */
function prefetchedMember(prefetched: Prefetched | undefined): MemberReadRow | null | undefined {
  const read = prefetched?.[MEMBER_READ];
  if (!read) return undefined;
  return (read.results[0] as MemberReadRow | undefined) ?? null;
}

/** Name of the member read in a route's prefetch. */
export const MEMBER_READ = "member.read";

/**
 * The member body rendered by SQL, or 404, settled first (settledMemberJson). Uses the read prefetched with
 * authentication when there is one.
 */
export function readMemberJson(scope: RequestScope, memberId: string): Promise<string> {
  return settledMemberJson(scope, memberId, prefetchedMember(scope.prefetched));
}

/** Points that will expire within `withinDays`, by date. */
export async function expiringPoints(scope: RequestScope, memberId: string, withinDays: number) {
  const { orm, merchant } = scope;
  // Settle first, so points already past their date (or the inactivity deadline) are not shown as coming.
  await settledMemberJson(scope, memberId);
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
      .where(and(eq(members.merchantId, merchant.id), eq(members.id, memberId))),
    orm.select().from(programs).where(eq(programs.merchantId, merchant.id)),
    orm
      .select({ expiresAt: pointLots.expiresAt, points: drizzleSql<number>`SUM(${pointLots.remaining})` })
      .from(pointLots)
      .where(
        and(
          eq(pointLots.merchantId, merchant.id),
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
  // Lots that never expire carry a far-future expire key, so every lot read here has a date.
  let expiring = lotRows.flatMap((r) => (r.expiresAt === null ? [] : [{ points: r.points, expiresAt: toIso(r.expiresAt) }]));
  if (program.expiry.policy === "inactivity") {
    // Everything goes at once on the inactivity deadline, unless the member orders before it.
    const deadline = inactivityDeadline(program, lastActivity(member), merchant.timezone) ?? Number.POSITIVE_INFINITY;
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

/** Whether the member is erased, as column `erased` (no row: no member). */
const erasedRead = (merchantId: string, memberId: string): Sql =>
  sql`SELECT m.erased_at IS NOT NULL AS erased FROM members m WHERE ${memberRow(merchantId, memberId)}`;

export async function upsertMember(
  scope: RequestScope,
  memberId: string,
  input: MemberInput,
): Promise<{ created: boolean; body: string }> {
  if (input.referredBy !== undefined) {
    const referred = await createReferred(scope, memberId, input, normalizeReferralCode(input.referredBy));
    if (referred) return referred;
  }
  const { db, merchant, at } = scope;
  // Omitted fields keep their value; null clears one (the inserted row holds the new values).
  const updates = PERSONAL_FIELDS.map((field) =>
    sql.raw(input[field] === undefined ? `${field} = ${field}` : `${field} = excluded.${field}`),
  );
  const attributes =
    input.attributes === undefined ? undefined : input.attributes === null ? null : JSON.stringify(input.attributes);
  const personal = PERSONAL_FIELDS.filter((field) => input[field] != null);
  forgetMemberState(merchant.id, memberId);
  // One transaction: an erased member (erased even a moment ago) is left untouched, and the read tells why.
  const [existing, , rendered] = await db.batch<{ erased?: number; body?: string }>([
    prepare(db, erasedRead(merchant.id, memberId)),
    prepare(
      db,
      sql`INSERT INTO members (merchant_id, id, email, name, birthday, attributes, enrolled_at, updated_at)
         VALUES (${merchant.id}, ${memberId}, ${input.email ?? null}, ${input.name ?? null}, ${input.birthday ?? null},
           ${attributes ?? null}, ${at}, ${at})
         ON CONFLICT (merchant_id, id) DO UPDATE SET ${sql.join(updates, sql`, `)}, updated_at = excluded.updated_at
         WHERE members.erased_at IS NULL`,
    ),
    prepare(db, selectMemberJson(merchant.id, memberId)),
  ]);
  const found = existing?.results[0];
  if (found?.erased && personal.length > 0) throw erasedConflict(memberId, personal);
  return { created: found === undefined, body: renderedBody(rendered) };
}

/**
 * A member created with a referral code: the facts are read, the link decided (refusals write nothing),
 * and the member is inserted together with its referral. null when the member exists and was already
 * referred by the code's owner (a retried PUT): the caller applies the body as an ordinary update.
 */
async function createReferred(
  scope: RequestScope,
  memberId: string,
  input: MemberInput,
  code: string,
): Promise<{ created: boolean; body: string } | null> {
  const { db, merchant, at } = scope;
  const decision = decideLink(memberId, await readLinkFacts(db, merchant.id, memberId, code), merchant.id);
  if (decision.kind === "unchanged") return null;
  if (decision.kind === "refuse") throw refusalError(decision.reason);
  const attributes = input.attributes == null ? null : JSON.stringify(input.attributes);
  const link = { merchantId: merchant.id, refereeId: memberId, referrerId: decision.referrerId, code, at };
  try {
    const results = await db.batch<{ body?: string }>([
      ...linkGuardStatements(db, merchant.id, memberId, code),
      // No ON CONFLICT: a member created a moment ago (by a twin PUT or an order) fails here, as existing.
      prepare(
        db,
        sql`INSERT INTO members (merchant_id, id, email, name, birthday, attributes, enrolled_at, updated_at, referred_by)
         VALUES (${merchant.id}, ${memberId}, ${input.email ?? null}, ${input.name ?? null}, ${input.birthday ?? null},
           ${attributes}, ${at}, ${at}, ${decision.referrerId})`,
      ),
      referralInsert(db, link),
      prepare(db, selectMemberJson(merchant.id, memberId)),
    ]);
    return { created: true, body: renderedBody(results.at(-1)) };
  } catch (error) {
    const failure = classifyBatchError(error);
    if (failure.kind === "guard" && failure.reason === LOOP_GUARD) throw refusalError("referral_loop");
    // Created concurrently: decide again from what is there now (the same referrer is a retry, else existing).
    if (failure.kind === "unique" && (failure.table === "members" || failure.table === "referrals"))
      return createReferred(scope, memberId, input, code);
    throw error;
  }
}

export async function listLedger(scope: RequestScope, memberId: string, limit: number, cursor?: string) {
  const { orm, merchant } = scope;
  const before = cursor ? decodeCursor(cursor, isNumber) : undefined;
  const [memberRows, rows] = await orm.batch([
    orm
      .select({ id: members.id })
      .from(members)
      .where(and(eq(members.merchantId, merchant.id), eq(members.id, memberId))),
    orm
      .select()
      .from(ledgerEntries)
      .where(
        and(
          eq(ledgerEntries.merchantId, merchant.id),
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

/**
 * The batch of an adjustment: settles what is due, credits or spends, and renders the reply. The route
 * commits it and plans again (a new scope) when a due hold it releases was captured at the same moment.
 */
export async function planAdjustment(
  scope: RequestScope,
  memberId: string,
  points: number,
  reason: string,
): Promise<PlannedWrite> {
  const { db, merchant, at } = scope;
  const { member, program } = await loadAccountContext(scope.orm, merchant.id, memberId, at);
  const write = scopedWrite(scope);
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
  const body = sql`SELECT json_object('id', ${entryId}, 'points', ${points}, 'reason', ${reason}, 'member', ${sql.raw(MEMBER_JSON_SQL)})
    FROM members m WHERE ${memberRow(merchant.id, memberId)}`;
  return {
    write,
    statements: [...ledger.statements, write.finishSql(201, body, { member: memberId })],
    status: 201,
    onFailure: conflictIsRace,
  };
}

export async function mintMemberToken(scope: RequestScope, memberId: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS) {
  const { db, merchant, at } = scope;
  const token = `${MEMBER_TOKEN_PREFIX}${randomToken(40)}`;
  const expiresAt = at + ttlSeconds * SECOND_MS;
  // The insert re-checks the member in the same transaction, so a token is never minted for an erased member.
  const [member] = await db.batch<{ erased: number }>([
    prepare(db, erasedRead(merchant.id, memberId)),
    prepare(
      db,
      sql`INSERT INTO member_tokens (token_hash, merchant_id, member_id, expires_at, created_at)
         SELECT ${await sha256Hex(token)}, m.merchant_id, m.id, ${expiresAt}, ${at} FROM members m
         WHERE ${memberRow(merchant.id, memberId)} AND m.erased_at IS NULL`,
    ),
  ]);
  const found = member?.results[0];
  if (!found) throw notFound(`Member ${memberId}`);
  if (found.erased) throw erasedConflict(memberId);
  return { token, expiresAt: toIso(expiresAt) };
}

/**
 * Everything held about a member (privacy: the right of access): the settled account, its ledger, orders,
 * refunds, redemptions, referrals, perk states, events and uses, tier history, vouchers, stamp cards and
 * rebate shares. Each list is read newest first and cut at EXPORT_MAX_ROWS (see export.ts), so the read stays
 * bounded; one batch after the settling read.
 */
export async function exportMember(scope: RequestScope, memberId: string): Promise<MemberExport> {
  const { orm, merchant } = scope;
  const member = JSON.parse(await settledMemberJson(scope, memberId)) as MemberBody;
  const results = await orm.batch(exportQueries(orm, merchant.id, memberId));
  return exportBody(now(), member, exportRows(results));
}

/**
 * Erasure (privacy: the right to be forgotten): personal fields are removed, tokens revoked, and the member's
 * referral code retired (a new member naming it is refused as an unknown code). Responses stored for
 * idempotent replay lose the member's personal fields too, so a retried write answers as the member now is.
 * Points, orders and ledger stay, keyed by the merchant's member id, so every total still adds up.
 */
export async function eraseMember(scope: RequestScope, memberId: string): Promise<void> {
  const { db, merchant, at } = scope;
  forgetMemberState(merchant.id, memberId);
  const [updated] = await db.batch([
    prepare(
      db,
      sql`UPDATE members SET email = NULL, name = NULL, birthday = NULL, attributes = NULL, referral_code = NULL,
           erased_at = COALESCE(erased_at, ${at}), updated_at = ${at}
         WHERE merchant_id = ${merchant.id} AND id = ${memberId}`,
    ),
    prepare(db, sql`DELETE FROM member_tokens WHERE merchant_id = ${merchant.id} AND member_id = ${memberId}`),
    prepare(
      db,
      sql`UPDATE idempotency_keys SET response = json_set(response, '$.member.email', NULL, '$.member.name', NULL,
           '$.member.birthday', NULL, '$.member.attributes', NULL, '$.member.erased', json('true'))
         WHERE merchant_id = ${merchant.id} AND member_id = ${memberId} AND json_valid(response)`,
    ),
  ]);
  if (!updated?.meta.changes) throw notFound(`Member ${memberId}`);
}

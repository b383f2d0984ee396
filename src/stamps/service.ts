/** Stamp cards and vouchers: admin CRUD, member progress, voucher redemption. Orders collect stamps (orders/). */
import { and, asc, desc, eq, gt, lt } from "drizzle-orm";
import { memberStamps, members, stampCards, vouchers } from "../db/schema";
import { bumpConfigSql } from "../earning/config-version";
import { MAX_ACTIVE_STAMP_CARDS, type StampCardRow, stampCardFromRow } from "../earning/stamp-card-row";
import { stampCardWarnings } from "../earning/stamps";
import { isoSql } from "../ledger/member-json";
import { toIso } from "../platform/clock";
import { guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { batchRefusing } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { type PlannedWrite, scopedWrite } from "../platform/idempotency";
import { decodeCursor, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import type { StampCardInput } from "./schemas";

type CardRow = typeof stampCards.$inferSelect;
type VoucherRow = typeof vouchers.$inferSelect;

function cardBody(row: CardRow) {
  const card = stampCardFromRow(row as StampCardRow);
  return {
    id: row.id,
    name: row.name,
    active: row.active,
    counts: card.counts,
    ...(card.match && { match: card.match }),
    stamps: row.stamps,
    reward: card.reward,
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}

function voucherBody(row: VoucherRow) {
  return {
    code: row.code,
    memberId: row.memberId,
    cardId: row.cardId,
    name: row.name,
    value: row.value,
    orderId: row.orderId,
    status: row.redeemedAt === null ? ("issued" as const) : ("redeemed" as const),
    createdAt: toIso(row.createdAt),
    redeemedAt: row.redeemedAt === null ? null : toIso(row.redeemedAt),
  };
}

/** Why a card's write batch aborted: it would leave more than MAX_ACTIVE_STAMP_CARDS cards active. */
const TOO_MANY_ACTIVE = "too_many_active_stamp_cards";

/** Every checkout reads the active cards: their number is bounded (422 naming `active`). */
function tooManyActive(): ApiError {
  return new ApiError("unprocessable", `A merchant has at most ${MAX_ACTIVE_STAMP_CARDS} active stamp cards.`, [
    { path: "active", message: `at most ${MAX_ACTIVE_STAMP_CARDS} stamp cards may be active` },
  ]);
}

const CARD_COLUMNS = sql.raw(`merchant_id AS merchantId, id, name, active, counts, match, stamps, reward,
  created_at AS createdAt, updated_at AS updatedAt`);

/**
 * The card's upsert, the configuration bump (checkouts cache cards) and, for an active card, a guard counted
 * inside the batch: a count read before it would let two concurrent activations both pass.
 */
function putCardStatements(row: CardRow): Sql[] {
  const { merchantId, id } = row;
  const upsert = sql`INSERT INTO stamp_cards (merchant_id, id, name, active, counts, match, stamps, reward, created_at, updated_at)
    VALUES (${merchantId}, ${id}, ${row.name}, ${row.active}, ${row.counts}, ${row.match}, ${row.stamps}, ${row.reward},
      ${row.createdAt}, ${row.updatedAt})
    ON CONFLICT (merchant_id, id) DO UPDATE SET name = excluded.name, active = excluded.active, counts = excluded.counts,
      match = excluded.match, stamps = excluded.stamps, reward = excluded.reward, updated_at = excluded.updated_at
    RETURNING ${CARD_COLUMNS}`;
  const tooMany = sql`(SELECT COUNT(*) FROM stamp_cards WHERE merchant_id = ${merchantId} AND active = 1) > ${MAX_ACTIVE_STAMP_CARDS}`;
  return [
    sql`SELECT 1 AS found FROM stamp_cards WHERE merchant_id = ${merchantId} AND id = ${id}`,
    upsert,
    bumpConfigSql(merchantId),
    ...(row.active ? [guardSql(TOO_MANY_ACTIVE, tooMany)] : []),
  ];
}

/** Creates or replaces a card; the merchant's configuration version moves in the same batch (checkouts cache cards). */
export async function putStampCard(scope: RequestScope, cardId: string, input: StampCardInput) {
  const row: CardRow = {
    merchantId: scope.merchant.id,
    id: cardId,
    name: input.name,
    active: input.active,
    counts: input.counts,
    match: input.match ? JSON.stringify(input.match) : null,
    stamps: input.stamps,
    reward: JSON.stringify(input.reward),
    createdAt: scope.at,
    updatedAt: scope.at,
  };
  const [existing, saved] = await batchRefusing(
    scope.db,
    putCardStatements(row).map((statement) => prepare(scope.db, statement)),
    TOO_MANY_ACTIVE,
    tooManyActive,
  );
  const card = saved?.results[0] as (CardRow & { active: number | boolean }) | undefined;
  if (!card) throw new Error(`stamp card ${cardId} was not saved`);
  return {
    body: {
      ...cardBody({ ...card, active: Boolean(card.active) }),
      warnings: stampCardWarnings({ counts: input.counts, match: input.match ?? null }),
    },
    created: (existing?.results.length ?? 0) === 0,
  };
}

export async function listStampCards(scope: RequestScope, query: { limit: number; cursor?: string | undefined }) {
  const after = query.cursor ? decodeCursor(query.cursor, isString) : undefined;
  const rows = await scope.orm
    .select()
    .from(stampCards)
    .where(and(eq(stampCards.merchantId, scope.merchant.id), after ? gt(stampCards.id, after) : undefined))
    .orderBy(asc(stampCards.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (last) => last.id);
  return { data: result.data.map(cardBody), nextCursor: result.nextCursor };
}

/** Every active card with the member's stamps on it (0 when none yet). */
export async function memberStampCards(scope: RequestScope, memberId: string) {
  const merchantId = scope.merchant.id;
  const [member, cards, progress] = await scope.orm.batch([
    scope.orm
      .select({ id: members.id })
      .from(members)
      .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId))),
    scope.orm
      .select()
      .from(stampCards)
      .where(and(eq(stampCards.merchantId, merchantId), eq(stampCards.active, true)))
      .orderBy(asc(stampCards.id)),
    scope.orm
      .select()
      .from(memberStamps)
      .where(and(eq(memberStamps.merchantId, merchantId), eq(memberStamps.memberId, memberId))),
  ]);
  if (member.length === 0) throw notFound(`Member ${memberId}`);
  const byCard = new Map(progress.map((p) => [p.cardId, p]));
  return {
    data: cards.map((card) => ({
      cardId: card.id,
      name: card.name,
      stamps: byCard.get(card.id)?.stamps ?? 0,
      stampsRequired: card.stamps,
      stampDebt: byCard.get(card.id)?.debt ?? 0,
      completed: byCard.get(card.id)?.completed ?? 0,
    })),
  };
}

/** A member's vouchers, newest first. */
export async function memberVouchers(
  scope: RequestScope,
  memberId: string,
  query: { limit: number; cursor?: string | undefined },
) {
  const merchantId = scope.merchant.id;
  const before = query.cursor ? decodeCursor(query.cursor, isString) : undefined;
  const [member, rows] = await scope.orm.batch([
    scope.orm
      .select({ id: members.id })
      .from(members)
      .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId))),
    scope.orm
      .select()
      .from(vouchers)
      .where(
        and(
          eq(vouchers.merchantId, merchantId),
          eq(vouchers.memberId, memberId),
          before !== undefined ? lt(vouchers.code, before) : undefined,
        ),
      )
      // Codes are time-ordered ids: newest first, and a cursor that never skips vouchers of one order.
      .orderBy(desc(vouchers.code))
      .limit(query.limit + 1),
  ]);
  if (member.length === 0) throw notFound(`Member ${memberId}`);
  const result = page(rows, query.limit, (last) => last.code);
  return { data: result.data.map(voucherBody), nextCursor: result.nextCursor };
}

/** Guard reasons of a redemption that matched no voucher to redeem. */
const VOUCHER_REDEEMED = "voucher_redeemed";
const VOUCHER_UNKNOWN = "voucher_unknown";

/** The redeemed voucher as voucherBody renders it, by SQL, for the key's stored reply. */
function redeemedJsonSql(merchantId: string, code: string): Sql {
  return sql`SELECT json_object('code', v.code, 'memberId', v.member_id, 'cardId', v.card_id, 'name', v.name,
      'value', v.value, 'orderId', v.order_id, 'status', 'redeemed', 'createdAt', ${sql.raw(isoSql("v.created_at"))},
      'redeemedAt', ${sql.raw(isoSql("v.redeemed_at"))})
    FROM vouchers v WHERE v.merchant_id = ${merchantId} AND v.code = ${code}`;
}

/**
 * Redeems a voucher once. The conditional update decides, so two concurrent redemptions cannot both succeed,
 * and it commits in one batch with the key's stored reply: a retry after a lost response is replayed, where a
 * reply stored after the update could be lost with it and the retry find the voucher already redeemed.
 */
export function planVoucherRedemption(scope: RequestScope, code: string): PlannedWrite {
  const { db, at } = scope;
  const merchantId = scope.merchant.id;
  const voucher = sql`merchant_id = ${merchantId} AND code = ${code}`;
  const write = scopedWrite(scope);
  const why = sql`CASE WHEN EXISTS (SELECT 1 FROM vouchers WHERE ${voucher}) THEN ${VOUCHER_REDEEMED} ELSE ${VOUCHER_UNKNOWN} END`;
  return {
    write,
    statements: [
      prepare(db, sql`UPDATE vouchers SET redeemed_at = ${at} WHERE ${voucher} AND redeemed_at IS NULL`),
      prepare(db, guardSql(why, sql`changes() = 0`)),
      write.finishSql(200, redeemedJsonSql(merchantId, code)),
    ],
    status: 200,
    onFailure: (failure) => {
      if (failure.kind !== "guard") return;
      if (failure.reason === VOUCHER_UNKNOWN) throw notFound(`Voucher ${code}`);
      if (failure.reason === VOUCHER_REDEEMED) throw new ApiError("conflict", `Voucher ${code} was already redeemed.`);
    },
  };
}

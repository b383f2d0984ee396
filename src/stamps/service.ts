/** Stamp cards and vouchers: admin CRUD, member progress, voucher redemption. Orders collect stamps (orders/). */
import { and, asc, count, desc, sql as drizzleSql, eq, gt, lt, ne } from "drizzle-orm";
import { memberStamps, members, merchants, stampCards, vouchers } from "../db/schema";
import { MAX_ACTIVE_STAMP_CARDS, type StampCardRow, stampCardFromRow } from "../earning/stamp-card-row";
import { stampCardWarnings } from "../earning/stamps";
import { isoSql } from "../ledger/member-json";
import { toIso } from "../platform/clock";
import { guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
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

/** Every checkout reads the active cards: their number is bounded (422 naming `active`). */
async function assertActiveRoom(scope: RequestScope, cardId: string, active: boolean): Promise<void> {
  if (!active) return;
  const [others] = await scope.orm
    .select({ n: count() })
    .from(stampCards)
    .where(and(eq(stampCards.merchantId, scope.merchant.id), eq(stampCards.active, true), ne(stampCards.id, cardId)));
  if ((others?.n ?? 0) >= MAX_ACTIVE_STAMP_CARDS)
    throw new ApiError("unprocessable", `A merchant has at most ${MAX_ACTIVE_STAMP_CARDS} active stamp cards.`, [
      { path: "active", message: `at most ${MAX_ACTIVE_STAMP_CARDS} stamp cards may be active` },
    ]);
}

/** Creates or replaces a card; the merchant's configuration version moves in the same batch (checkouts cache cards). */
export async function putStampCard(scope: RequestScope, cardId: string, input: StampCardInput) {
  await assertActiveRoom(scope, cardId, input.active);
  const merchantId = scope.merchant.id;
  const row = {
    merchantId,
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
  const [existing, saved] = await scope.orm.batch([
    scope.orm
      .select({ id: stampCards.id })
      .from(stampCards)
      .where(and(eq(stampCards.merchantId, merchantId), eq(stampCards.id, cardId))),
    scope.orm
      .insert(stampCards)
      .values(row)
      .onConflictDoUpdate({ target: [stampCards.merchantId, stampCards.id], set: { ...row, createdAt: undefined } })
      .returning(),
    scope.orm
      .update(merchants)
      .set({ configVersion: drizzleSql`${merchants.configVersion} + 1` })
      .where(eq(merchants.id, merchantId)),
  ]);
  if (!saved[0]) throw new Error(`stamp card ${cardId} was not saved`);
  return {
    body: { ...cardBody(saved[0]), warnings: stampCardWarnings({ counts: input.counts, match: input.match ?? null }) },
    created: existing.length === 0,
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

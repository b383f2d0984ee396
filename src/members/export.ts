/**
 * The member export: its reads (query builders; the service runs them in one batch) and its body from the
 * rows read (pure). Each list is read newest first with one row more than EXPORT_MAX_ROWS, and cut at
 * EXPORT_MAX_ROWS, saying so: the read and the reply stay bounded however long the history.
 */

import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { BatchResponse } from "drizzle-orm/batch";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import {
  ledgerEntries,
  memberPerks,
  memberStamps,
  members,
  orders,
  perkEvents,
  perkUses,
  rebateAllocations,
  redemptions,
  refunds,
  tierHistory,
  vouchers,
} from "../db/schema";
import { toIso, toIsoOrNull } from "../platform/clock";
import type { Orm } from "../platform/db";
import { referralBody, referralOfQuery, referralsMadeQuery } from "../referrals/reads";
import { entryBody } from "./ledger-entries";
import { EXPORT_MAX_ROWS, type MemberBody, type MemberExport } from "./schemas";

/** The reads of one member's export, for one orm.batch; exportRows names their results. */
export function exportQueries(orm: Orm, merchantId: string, memberId: string) {
  const read = EXPORT_MAX_ROWS + 1;
  const of = (table: { merchantId: AnySQLiteColumn; memberId: AnySQLiteColumn }) =>
    and(eq(table.merchantId, merchantId), eq(table.memberId, memberId));
  return [
    orm.select().from(ledgerEntries).where(of(ledgerEntries)).orderBy(desc(ledgerEntries.seq)).limit(read),
    orm.select().from(orders).where(of(orders)).orderBy(desc(orders.createdAt), desc(orders.id)).limit(read),
    orm.select().from(refunds).where(of(refunds)).orderBy(desc(refunds.createdAt), desc(refunds.id)).limit(read),
    orm.select().from(redemptions).where(of(redemptions)).orderBy(desc(redemptions.createdAt), desc(redemptions.id)).limit(read),
    orm
      .select({ code: members.referralCode })
      .from(members)
      .where(and(eq(members.merchantId, merchantId), eq(members.id, memberId))),
    referralOfQuery(orm, merchantId, memberId),
    referralsMadeQuery(orm, merchantId, memberId, read),
    orm
      .select()
      .from(memberPerks)
      .where(of(memberPerks))
      .orderBy(desc(memberPerks.changedAt), asc(memberPerks.perkId))
      .limit(read),
    orm.select().from(perkEvents).where(of(perkEvents)).orderBy(desc(perkEvents.at), desc(perkEvents.id)).limit(read),
    orm.select().from(perkUses).where(of(perkUses)).orderBy(desc(perkUses.createdAt), desc(perkUses.id)).limit(read),
    orm.select().from(tierHistory).where(of(tierHistory)).orderBy(desc(tierHistory.at), desc(tierHistory.id)).limit(read),
    // Voucher codes are time-ordered ids: by code is newest first.
    orm.select().from(vouchers).where(of(vouchers)).orderBy(desc(vouchers.code)).limit(read),
    orm
      .select()
      .from(memberStamps)
      .where(of(memberStamps))
      .orderBy(desc(memberStamps.updatedAt), asc(memberStamps.cardId))
      .limit(read),
    // Unpaid shares (a close under way) first, then the newest paid.
    orm
      .select()
      .from(rebateAllocations)
      .where(of(rebateAllocations))
      .orderBy(
        desc(sql`${rebateAllocations.paidAt} IS NULL`),
        desc(rebateAllocations.paidAt),
        asc(rebateAllocations.programId),
        desc(rebateAllocations.periodKey),
      )
      .limit(read),
  ] as const;
}

/** The rows exportQueries read, by name. */
export function exportRows(results: BatchResponse<ReturnType<typeof exportQueries>>) {
  const [entryRows, orderRows, refundRows, redemptionRows, codeRows, referredByRows, referralRows, ...rest] = results;
  const [perkStateRows, perkEventRows, perkUseRows, tierHistoryRows, voucherRows, stampRows, rebateRows] = rest;
  return {
    entryRows,
    orderRows,
    refundRows,
    redemptionRows,
    referralCode: codeRows[0]?.code ?? null,
    referredByRows,
    referralRows,
    perkStateRows,
    perkEventRows,
    perkUseRows,
    tierHistoryRows,
    voucherRows,
    stampRows,
    rebateRows,
  };
}

export type ExportRows = ReturnType<typeof exportRows>;

/** A list as exported: at most EXPORT_MAX_ROWS rows, and whether there were more (the read takes one row more). */
interface Cut<T> {
  rows: T[];
  truncated: boolean;
}

function cut<T>(rows: T[]): Cut<T> {
  return { rows: rows.slice(0, EXPORT_MAX_ROWS), truncated: rows.length > EXPORT_MAX_ROWS };
}

/** Each list's rows, and each list's truncated flag, under the same names. */
function split<C extends Record<string, Cut<unknown>>>(cuts: C) {
  const rows = {} as { [K in keyof C]: C[K]["rows"] };
  const truncated = {} as { [K in keyof C]: boolean };
  for (const [name, list] of Object.entries(cuts) as [keyof C, Cut<unknown>][]) {
    rows[name] = list.rows;
    truncated[name] = list.truncated;
  }
  return { rows, truncated };
}

/** The account's lists: ledger, orders, refunds, redemptions. */
function accountLists(read: ExportRows) {
  return {
    ledger: cut(read.entryRows.map(entryBody)),
    orders: cut(
      read.orderRows.map((o) => ({
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
    ),
    refunds: cut(
      read.refundRows.map((r) => ({
        refundId: r.id,
        orderId: r.orderId,
        amount: r.amount,
        pointsReversed: r.pointsReversed,
        createdAt: toIso(r.createdAt),
      })),
    ),
    redemptions: cut(
      read.redemptionRows.map((r) => ({
        id: r.id,
        status: r.status,
        points: r.points,
        value: r.value,
        orderId: r.orderId,
        createdAt: toIso(r.createdAt),
      })),
    ),
  };
}

/** Perks: the recorded state of each, their events (unlocks, lapses, locks) and the uses made. */
function perkLists(read: ExportRows) {
  return {
    perkStates: cut(
      read.perkStateRows.map((s) => ({
        perkId: s.perkId,
        unlocked: s.unlocked,
        lapsedAt: toIsoOrNull(s.lapsedAt),
        changedAt: toIso(s.changedAt),
      })),
    ),
    perkEvents: cut(
      read.perkEventRows.map((e) => ({ id: e.id, perkId: e.perkId, kind: e.kind, reason: e.reason, at: toIso(e.at) })),
    ),
    perkUses: cut(
      read.perkUseRows.map((u) => ({
        id: u.id,
        perkId: u.perkId,
        period: u.period,
        createdAt: toIso(u.createdAt),
        reversedAt: toIsoOrNull(u.reversedAt),
        reverseReason: u.reverseReason,
      })),
    ),
  };
}

/** What the program gave the member besides points: tier changes, stamp cards, vouchers, rebate shares. */
function rewardLists(read: ExportRows) {
  return {
    tierHistory: cut(
      read.tierHistoryRows.map((h) => ({ from: h.fromTier, to: h.toTier, reason: h.reason, at: toIso(h.at), detail: h.detail })),
    ),
    vouchers: cut(
      read.voucherRows.map((v) => ({
        code: v.code,
        memberId: v.memberId,
        cardId: v.cardId,
        name: v.name,
        value: v.value,
        orderId: v.orderId,
        status: v.redeemedAt === null ? ("issued" as const) : ("redeemed" as const),
        createdAt: toIso(v.createdAt),
        redeemedAt: toIsoOrNull(v.redeemedAt),
      })),
    ),
    stampCards: cut(
      read.stampRows.map((s) => ({
        cardId: s.cardId,
        stamps: s.stamps,
        stampDebt: s.debt,
        completed: s.completed,
        updatedAt: toIso(s.updatedAt),
      })),
    ),
    rebateAllocations: cut(
      read.rebateRows.map((a) => ({
        programId: a.programId,
        periodKey: a.periodKey,
        spend: a.spend,
        amount: a.amount,
        units: a.units,
        paid: a.paid === 1,
        paidAt: toIsoOrNull(a.paidAt),
      })),
    ),
  };
}

export function exportBody(at: number, member: MemberBody, read: ExportRows): MemberExport {
  const { rows, truncated } = split({
    ...accountLists(read),
    ...perkLists(read),
    ...rewardLists(read),
    referrals: cut(read.referralRows.map(referralBody)),
  });
  const { referrals, ...lists } = rows;
  return {
    exportedAt: toIso(at),
    member,
    ...lists,
    referral: {
      code: read.referralCode,
      referredBy: read.referredByRows[0] ? referralBody(read.referredByRows[0]) : null,
      made: referrals,
    },
    truncated,
  };
}

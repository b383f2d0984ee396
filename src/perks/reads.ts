/**
 * What perks (and the switching-cost statement) depend on, for one member or a chunk of members, in bounded
 * reads batched into one round trip: the ladder's tiers and the perk definitions (per merchant); per
 * member the account row, the lifetime activity row, the month rows a streak can span, the active days a lapse
 * depends on, the recorded perk states and this period's uses. Reads are bounded by the streak's span
 * (MAX_STREAK_MONTHS), never the member's whole history.
 */
import { DAY_KEYS_END, dateOfDayKey, dayKey, LIFETIME_KEY, monthKey } from "../activity/periods";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { notFound } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import { type LocalDate, localDate } from "../platform/timezone";
import { MAX_PERKS, MAX_STREAK_MONTHS } from "./limits";
import { type PerkRow, perkFromRow } from "./perk-row";
import type { StoredPerkState } from "./transitions";
import { type ActiveDays, daysFrom, type MemberPerkFacts, type PerkDef, quotaPeriod } from "./unlock";

export interface MerchantPerks {
  perks: PerkDef[];
  /** Rank of each tier id, lowest 0; empty without a ladder. */
  tierRanks: Map<string, number>;
}

/** One member's records: the account, activity by month (`YYYY-MM`), perk states and uses this period. */
export interface MemberRecord {
  id: string;
  balance: number;
  pending: number;
  credit: number;
  tierId: string | null;
  enrolledAt: number;
  /** Latest order date, refunded or not: what a perk use checks has not moved (factsHoldSql). */
  lastOrderAt: number | null;
  activeDays: ActiveDays;
  lifetimeSpend: number;
  /** Orders net of full refunds since enrolment (the lifetime activity row). */
  lifetimeOrders: number;
  months: Map<string, { spend: number; orders: number }>;
  states: Map<string, StoredPerkState>;
  /** Uses counted this quota period, by perk. */
  used: Map<string, number>;
}

const PERK_COLUMNS = sql`id, name, value, unlock, quota_uses AS quotaUses, quota_per AS quotaPer, lapse_after_days AS lapseAfterDays`;

/** The perk definitions of the merchant, by id. */
export function perksQuery(merchantId: string): Sql {
  return sql`SELECT ${PERK_COLUMNS} FROM perks WHERE merchant_id = ${merchantId} ORDER BY id LIMIT ${MAX_PERKS}`;
}

export function merchantPerkReads(db: D1Database, merchantId: string): D1PreparedStatement[] {
  return [
    prepare(db, sql`SELECT id FROM tiers WHERE merchant_id = ${merchantId} ORDER BY threshold`),
    prepare(db, perksQuery(merchantId)),
  ];
}

export function merchantPerksFrom([tiers, perks]: D1Result[]): MerchantPerks {
  const ids = ((tiers?.results ?? []) as { id: string }[]).map((t) => t.id);
  return {
    perks: ((perks?.results ?? []) as PerkRow[]).map(perkFromRow),
    tierRanks: new Map(ids.map((id, i) => [id, i])),
  };
}

/** Statements memberRecordReads makes, in the order memberRecordsFrom reads their results. */
export const MEMBER_RECORD_READS = 5;

/**
 * Each member's local days with an order that stands (member_periods day rows net of full refunds) from `fromDay`
 * on, as one list, and the last such day before it (which only ever serves as the day before the first). Nothing
 * is read when no perk can lapse.
 */
function activeDaysSql(merchantId: string, list: Sql, fromDay: string): Sql {
  const active = sql`p.merchant_id = m.merchant_id AND p.member_id = m.id AND p.orders > 0`;
  return sql`SELECT m.id AS memberId,
      (SELECT group_concat(p.period) FROM member_periods p
        WHERE ${active} AND p.period >= ${fromDay} AND p.period < ${DAY_KEYS_END}) AS days,
      (SELECT p.period FROM member_periods p WHERE ${active} AND p.period > 'd' AND p.period < ${fromDay}
        ORDER BY p.period DESC LIMIT 1) AS before
    FROM members m WHERE m.merchant_id = ${merchantId} AND m.id IN ${list}
      AND EXISTS (SELECT 1 FROM perks WHERE merchant_id = ${merchantId} AND lapse_after_days IS NOT NULL)`;
}

/** A member's active days as perkStatus reads them: the last, and each day that follows a day without an order. */
function activeDaysFrom(row: Record<string, unknown>): ActiveDays {
  const days = row.days ? String(row.days).split(",").sort() : [];
  let previous = row.before ? String(row.before) : null;
  const returns: { after: LocalDate | null; on: LocalDate }[] = [];
  for (const day of days) {
    const on = dateOfDayKey(day);
    const after = previous === null ? null : dateOfDayKey(previous);
    // A lapse needs at least one day without an order (lapseAfterInactiveDays >= 1).
    if (after === null || daysFrom(after, on) > 1) returns.push({ after, on });
    previous = day;
  }
  return { last: previous === null ? null : dateOfDayKey(previous), returns };
}

/** Per-member reads for `ids` (a JSON list bound once per statement). */
export function memberRecordReads(db: D1Database, merchantId: string, ids: readonly string[], at: number, timezone: string) {
  const today = localDate(at, timezone);
  const first = new Date(Date.UTC(today.year, today.month - 1 - MAX_STREAK_MONTHS, 1));
  const firstMonth = { year: first.getUTCFullYear(), month: first.getUTCMonth() + 1 };
  const list = sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;
  const mine = sql`merchant_id = ${merchantId} AND member_id IN ${list}`;
  return [
    prepare(
      db,
      sql`SELECT id, balance, pending, credit, tier_id AS tierId, enrolled_at AS enrolledAt, last_order_at AS lastOrderAt
      FROM members WHERE merchant_id = ${merchantId} AND id IN ${list}`,
    ),
    prepare(
      db,
      sql`SELECT member_id AS memberId, period, spend, orders FROM member_periods WHERE ${mine}
      AND (period = ${LIFETIME_KEY} OR (period >= ${monthKey(firstMonth)} AND period <= ${monthKey(today)}))`,
    ),
    prepare(db, activeDaysSql(merchantId, list, dayKey({ ...firstMonth, day: 1 }))),
    prepare(
      db,
      sql`SELECT member_id AS memberId, perk_id AS perkId, unlocked, lapsed_at AS lapsedAt FROM member_perks WHERE ${mine}`,
    ),
    prepare(
      db,
      sql`SELECT member_id AS memberId, perk_id AS perkId, period, COUNT(*) AS n FROM perk_uses WHERE ${mine}
      AND reversed_at IS NULL AND period IN (${monthKey(today)}, ${`y${today.year}`}) GROUP BY member_id, perk_id, period`,
    ),
  ];
}

type Row = Record<string, unknown>;

/** The records read by memberRecordReads, by member id (members not found are absent). */
export function memberRecordsFrom(
  results: D1Result[],
  perks: readonly PerkDef[],
  at: number,
  timezone: string,
): Map<string, MemberRecord> {
  const [accounts, periods, days, states, uses] = results.map((r) => (r?.results ?? []) as Row[]);
  const records = new Map<string, MemberRecord>();
  for (const a of accounts ?? [])
    records.set(String(a.id), {
      ...(a as unknown as Omit<MemberRecord, "activeDays" | "lifetimeSpend" | "lifetimeOrders" | "months" | "states" | "used">),
      activeDays: { last: null, returns: [] },
      lifetimeSpend: 0,
      lifetimeOrders: 0,
      months: new Map(),
      states: new Map(),
      used: new Map(),
    });
  for (const p of periods ?? []) {
    const record = records.get(String(p.memberId));
    if (!record) continue;
    if (p.period === LIFETIME_KEY) {
      record.lifetimeSpend = Number(p.spend);
      record.lifetimeOrders = Number(p.orders);
    } else record.months.set(String(p.period).slice(1), { spend: Number(p.spend), orders: Number(p.orders) });
  }
  for (const d of days ?? []) {
    const record = records.get(String(d.memberId));
    if (record) record.activeDays = activeDaysFrom(d);
  }
  for (const s of states ?? [])
    records
      .get(String(s.memberId))
      ?.states.set(String(s.perkId), { unlocked: Boolean(s.unlocked), lapsedAt: s.lapsedAt as number | null });
  const counts = new Map((uses ?? []).map((u) => [`${u.memberId} ${u.perkId} ${u.period}`, Number(u.n)]));
  for (const record of records.values())
    for (const perk of perks)
      record.used.set(perk.id, counts.get(`${record.id} ${perk.id} ${quotaPeriod(perk, at, timezone)}`) ?? 0);
  return records;
}

/** The facts perks unlock on, from a member's records. */
export function perkFacts(merchant: MerchantPerks, record: MemberRecord): MemberPerkFacts {
  return {
    enrolledAt: record.enrolledAt,
    activeDays: record.activeDays,
    tierRank: merchant.tierRanks.size ? (merchant.tierRanks.get(record.tierId ?? "") ?? 0) : null,
    tierRanks: merchant.tierRanks,
    lifetimeSpend: record.lifetimeSpend,
    orderMonths: new Set([...record.months].filter(([, m]) => m.orders > 0).map(([month]) => month)),
  };
}

export interface MemberPerkContext {
  merchant: MerchantPerks;
  perks: PerkDef[];
  record: MemberRecord;
  facts: MemberPerkFacts;
  states: Map<string, StoredPerkState>;
  used: Map<string, number>;
}

/** One member's perk context in one round trip; 404 for an unknown member. */
export async function readMemberPerks(scope: RequestScope, memberId: string, extra: D1PreparedStatement[] = []) {
  const { db, at } = scope;
  const { id: merchantId, timezone } = scope.merchant;
  const results = await db.batch([
    ...merchantPerkReads(db, merchantId),
    ...memberRecordReads(db, merchantId, [memberId], at, timezone),
    ...extra,
  ]);
  const merchant = merchantPerksFrom(results.slice(0, 2));
  const record = memberRecordsFrom(results.slice(2, 2 + MEMBER_RECORD_READS), merchant.perks, at, timezone).get(memberId);
  if (!record) throw notFound(`Member ${memberId}`);
  const context: MemberPerkContext = {
    merchant,
    perks: merchant.perks,
    record,
    facts: perkFacts(merchant, record),
    states: record.states,
    used: record.used,
  };
  return { context, extra: results.slice(2 + MEMBER_RECORD_READS) };
}

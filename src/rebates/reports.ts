/** Period reports of closes and members' rebate statements: reads only. */
import { toIso, toIsoOrNull } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
import { notFound } from "../platform/errors";
import { decodeCursor, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { type CloseRow, closeKey, loadClose } from "./close-state";
import { loadProgram, programPeriod } from "./programs";
import type { PeriodReport } from "./schemas";

/** The period report: status, progress and, once paid, the distribution of allocations. */
export async function periodReport(scope: RequestScope, programId: string, periodKey: string): Promise<PeriodReport> {
  const { db, orm, merchant } = scope;
  const program = await loadProgram(orm, merchant.id, programId);
  const close = await loadClose(db, { merchantId: merchant.id, programId, periodKey });
  if (close) return reportOf(db, close);
  // A close stays readable after its program changes period kind (the 409 of an overlapping close names it);
  // without one, a key of another kind is 422 and a malformed one 400, as for preview and close.
  programPeriod(program, periodKey);
  throw notFound(`A close of period ${periodKey} of program ${programId}`);
}

export async function reportOf(db: D1Database, close: CloseRow): Promise<PeriodReport> {
  const stats =
    close.status === "closed" && close.processed > 0
      ? await prepare(
          db,
          sql`SELECT MIN(amount) AS min, MAX(amount) AS max, (SELECT amount FROM rebate_allocations WHERE ${closeKey(close)}
              ORDER BY amount LIMIT 1 OFFSET ${Math.floor((close.processed - 1) / 2)}) AS median
            FROM rebate_allocations WHERE ${closeKey(close)}`,
        ).first<{ min: number; median: number; max: number }>()
      : null;
  return {
    programId: close.programId,
    periodKey: close.periodKey,
    status: close.status,
    payout: close.payout,
    netProfit: close.netProfit,
    pool: close.pool,
    totalNetSpend: close.totalNetSpend,
    members: close.members,
    allocated: close.members > 0 ? close.pool : 0,
    processed: close.processed,
    total: close.pool > 0 ? close.members : 0,
    paid: close.paid,
    pointsPaid: close.pointsPaid,
    unconverted: close.unconverted,
    distribution: stats ? { min: stats.min, median: stats.median, max: stats.max } : null,
    note: close.note,
    startedAt: toIso(close.createdAt),
    finishedAt: toIsoOrNull(close.finishedAt),
  };
}

const isStatementCursor = (v: unknown): v is [number, string, string] =>
  Array.isArray(v) && v.length === 3 && Number.isSafeInteger(v[0]) && typeof v[1] === "string" && typeof v[2] === "string";

/** A member's rebates, newest first (404 for an unknown member). */
export async function memberRebates(scope: RequestScope, memberId: string, limit: number, cursor?: string) {
  const { db, merchant } = scope;
  const after = cursor ? decodeCursor(cursor, isStatementCursor) : null;
  const owner = sql`a.merchant_id = ${merchant.id} AND a.member_id = ${memberId} AND a.paid = 1 AND a.amount > 0`;
  const before = after ? sql`AND (a.paid_at, a.program_id, a.period_key) < (${after[0]}, ${after[1]}, ${after[2]})` : sql``;
  const [exists, rows] = await db.batch<Record<string, unknown>>([
    prepare(db, sql`SELECT 1 AS found FROM members WHERE merchant_id = ${merchant.id} AND id = ${memberId}`),
    prepare(
      db,
      sql`SELECT a.program_id AS programId, a.period_key AS periodKey, a.amount, a.units, a.paid_at AS paidAt, c.payout
        FROM rebate_allocations a JOIN rebate_closes c ON c.merchant_id = a.merchant_id AND c.program_id = a.program_id
          AND c.period_key = a.period_key
        WHERE ${owner} ${before} ORDER BY a.paid_at DESC, a.program_id DESC, a.period_key DESC LIMIT ${limit + 1}`,
    ),
  ]);
  if (!exists?.results.length) throw notFound(`Member ${memberId}`);
  const list = (rows?.results ?? []) as {
    programId: string;
    periodKey: string;
    amount: number;
    units: number;
    paidAt: number;
    payout: "points" | "credit";
  }[];
  const result = page(list, limit, (last) => [last.paidAt, last.programId, last.periodKey]);
  return {
    data: result.data.map((r) => ({
      programId: r.programId,
      periodKey: r.periodKey,
      amount: r.amount,
      payout: r.payout,
      units: r.units,
      createdAt: toIso(r.paidAt),
    })),
    nextCursor: result.nextCursor,
  };
}

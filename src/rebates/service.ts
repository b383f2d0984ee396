/**
 * Profit-sharing rebates: programs, previews, closes, period reports, member statements. A close freezes
 * who shares and how much they spent in its first batch; the engine (engine.ts) pays it in chunks.
 */
import { programQuery } from "../members/account-context";
import { MAX_TOTAL } from "../platform/assert";
import { toIso, toIsoOrNull } from "../platform/clock";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, sql } from "../platform/d1/sql";
import { classifyBatchError, rethrowGuard } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { decodeCursor, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { programFromRow } from "../program/settings";
import { allocate, distribution, rebatePool, toPoints } from "./allocation";
import { type CloseRef, type CloseRow, closeKey, loadClose } from "./close-state";
import { eligibleSpendSql } from "./eligibility";
import { advanceClose, closeTuning } from "./engine";
import { PERIOD_KEY_EXAMPLE, type PeriodRange, parsePeriodKey, periodEnded } from "./periods";
import { loadProgram, type ProgramRow } from "./programs";
import { type PeriodReport, PREVIEW_TOP, type Preview } from "./schemas";

export { listPrograms, loadProgram, programBody, putProgram } from "./programs";

/** The period a key names, which must be of the program's kind (422 naming periodKey otherwise). */
function programPeriod(program: ProgramRow, periodKey: string): PeriodRange {
  const range = parsePeriodKey(periodKey);
  if (!range)
    throw new ApiError("invalid_request", "The period key is malformed.", [
      { path: "periodKey", message: "is not a period key" },
    ]);
  if (range.kind !== program.period)
    throw new ApiError(
      "unprocessable",
      `Program ${program.id} shares by ${program.period}: use a key such as ${PERIOD_KEY_EXAMPLE[program.period]}.`,
      [{ path: "periodKey", message: `must name a ${program.period} (e.g. ${PERIOD_KEY_EXAMPLE[program.period]})` }],
    );
  return range;
}

const eligibility = (program: ProgramRow) => ({
  minSpend: program.minSpend,
  tiers: program.tiers === null ? null : (JSON.parse(program.tiers) as string[]),
});

/** Why a close pays nothing, or null when it pays someone. */
function nothingToPay(pool: number, members: number): string | null {
  if (pool <= 0) return "No profit to share (netProfit * shareBps / 10000 is below 1): nothing is paid.";
  if (members === 0) return "No member is eligible in this period: nothing is paid.";
  return null;
}

/** What a close would pay, writing nothing. Reads every eligible member's net spend once. */
export async function previewPeriod(
  scope: RequestScope,
  programId: string,
  periodKey: string,
  netProfit: number,
): Promise<Preview> {
  const { db, orm, merchant, at } = scope;
  const program = await loadProgram(orm, merchant.id, programId);
  const range = programPeriod(program, periodKey);
  const { results } = await prepare(db, eligibleSpendSql(merchant.id, eligibility(program), range)).all<{
    memberId: string;
    spend: number;
  }>();
  const totalNetSpend = results.reduce((sum, r) => sum + r.spend, 0);
  if (!Number.isSafeInteger(totalNetSpend)) throw tooMuchSpend();
  const pool = rebatePool(netProfit, program.shareBps);
  const note = nothingToPay(pool, results.length);
  const allocations = note ? [] : allocate(pool, results);
  const top = [...allocations].sort((a, b) => b.amount - a.amount || (a.memberId < b.memberId ? -1 : 1)).slice(0, PREVIEW_TOP);
  return {
    programId,
    periodKey,
    payout: program.payout,
    pool,
    totalNetSpend,
    members: results.length,
    allocated: note ? 0 : pool,
    periodEnded: periodEnded(range, at, merchant.timezone),
    top: top.map((a) => ({ memberId: a.memberId, netSpend: a.spend, amount: a.amount })),
    distribution: distribution(allocations.map((a) => a.amount)),
    note,
  };
}

const tooMuchSpend = () =>
  new ApiError("unprocessable", `The period's total net spend passes ${MAX_TOTAL}, past exact integer maths.`, [
    { path: "periodKey", message: `total net spend of the period is above ${MAX_TOTAL}` },
  ]);

/**
 * Starts the close of a period, once: the close row (its primary key stops a second start), every eligible
 * member's net spend frozen as an allocation row, and the totals, in one batch. A retry with the key that
 * started it resumes it; another key is 409. Returns the close to work forward.
 */
export async function startClose(
  scope: RequestScope,
  programId: string,
  periodKey: string,
  netProfit: number,
): Promise<CloseRef> {
  const { db, orm, merchant, at } = scope;
  const key = scope.idempotency?.key;
  if (!key) throw new Error("a close needs its Idempotency-Key");
  const [program, programRows] = await Promise.all([loadProgram(orm, merchant.id, programId), programQuery(orm, merchant.id)]);
  const range = programPeriod(program, periodKey);
  if (!periodEnded(range, at, merchant.timezone))
    throw new ApiError("unprocessable", `Period ${periodKey} has not ended yet in ${merchant.timezone}; preview it instead.`, [
      { path: "periodKey", message: "has not ended yet" },
    ]);
  const ref = { merchantId: merchant.id, programId, periodKey };
  const existing = await loadClose(db, ref);
  if (existing) return resumeOrRefuse(existing, key);
  const pointValue = programFromRow(programRows[0]).pointValue;
  const pool = rebatePool(netProfit, program.shareBps);
  // The points a pool buys are a running total of the close: refuse before it could pass exact integers.
  if (program.payout === "points" && toPoints(pool, pointValue).points > MAX_TOTAL)
    throw new ApiError("unprocessable", `The pool would buy more than ${MAX_TOTAL} points at this program's pointValue.`, [
      { path: "netProfit", message: `buys more than ${MAX_TOTAL} points` },
    ]);
  try {
    await db.batch(startStatements(ref, program, range, { key, netProfit, pool, pointValue, at }).map((s) => prepare(db, s)));
  } catch (error) {
    const failure = classifyBatchError(error);
    if (failure.kind === "unique" && failure.table === "rebate_closes") {
      const winner = await loadClose(db, ref);
      if (winner) return resumeOrRefuse(winner, key);
    }
    if (failure.kind === "guard" && failure.reason === GUARD.totalLimit) throw tooMuchSpend();
    rethrowGuard(failure);
  }
  return ref;
}

/**
 * Starts (or resumes) a close and works it as far as the request's budget allows; the rest is handed to
 * the durable engine through `enqueue` (a queue message). Returns the report and whether it is done.
 */
export async function closePeriod(
  scope: RequestScope,
  programId: string,
  periodKey: string,
  netProfit: number,
  enqueue: (ref: CloseRef) => Promise<unknown>,
): Promise<{ done: boolean; report: PeriodReport }> {
  const ref = await startClose(scope, programId, periodKey, netProfit);
  const done = await advanceClose(scope.db, ref, closeTuning.inlineChunks, scope.at);
  if (!done) await enqueue({ merchantId: ref.merchantId, programId: ref.programId, periodKey: ref.periodKey });
  const close = await loadClose(scope.db, ref);
  if (!close) throw new Error("the close vanished");
  return { done, report: await reportOf(scope.db, close) };
}

function resumeOrRefuse(close: CloseRow, key: string): CloseRef {
  if (close.idempotencyKey === key) return close;
  throw new ApiError(
    "conflict",
    `Period ${close.periodKey} of program ${close.programId} is already ${close.status === "closed" ? "closed" : "being closed"}; a period closes once.`,
  );
}

interface StartTerms {
  key: string;
  netProfit: number;
  pool: number;
  pointValue: { points: number; amount: number };
  at: number;
}

function startStatements(ref: CloseRef, program: ProgramRow, range: PeriodRange, t: StartTerms) {
  const eligible = eligibleSpendSql(ref.merchantId, eligibility(program), range);
  const insertClose = sql`INSERT INTO rebate_closes (merchant_id, program_id, period_key, idempotency_key, status, phase, payout,
      net_profit, share_bps, pool, point_value_points, point_value_amount, created_at, updated_at)
    VALUES (${ref.merchantId}, ${ref.programId}, ${ref.periodKey}, ${t.key}, 'running', 'rank', ${program.payout},
      ${t.netProfit}, ${program.shareBps}, ${t.pool}, ${t.pointValue.points}, ${t.pointValue.amount}, ${t.at}, ${t.at})`;
  // With no pool nobody is paid: count who would have shared, freeze nothing.
  const freeze =
    t.pool > 0
      ? [
          sql`INSERT INTO rebate_allocations (merchant_id, program_id, period_key, member_id, spend)
            SELECT ${ref.merchantId}, ${ref.programId}, ${ref.periodKey}, memberId, spend FROM (${eligible})`,
          sql`UPDATE rebate_closes SET (members, total_net_spend) =
            (SELECT COUNT(*), COALESCE(SUM(spend), 0) FROM rebate_allocations WHERE ${closeKey(ref)}) WHERE ${closeKey(ref)}`,
        ]
      : [
          sql`UPDATE rebate_closes SET (members, total_net_spend) = (SELECT COUNT(*), COALESCE(SUM(spend), 0) FROM (${eligible}))
            WHERE ${closeKey(ref)}`,
        ];
  // A sum past 2^53 would make the shares inexact: refuse (TOTAL() is a float and cannot overflow).
  const bound = guardSql(
    GUARD.totalLimit,
    sql`(SELECT TOTAL(spend) FROM rebate_allocations WHERE ${closeKey(ref)}) > ${MAX_TOTAL}`,
  );
  const settle = sql`UPDATE rebate_closes SET status = 'closed', phase = 'done', finished_at = ${t.at},
      note = CASE WHEN pool <= 0 THEN ${nothingToPay(0, 0)} ELSE ${nothingToPay(1, 0)} END
    WHERE ${closeKey(ref)} AND (pool <= 0 OR members = 0)`;
  return [insertClose, ...freeze, bound, settle];
}

/** The period report: status, progress and, once paid, the distribution of allocations. */
export async function periodReport(scope: RequestScope, programId: string, periodKey: string): Promise<PeriodReport> {
  const { db, orm, merchant } = scope;
  const program = await loadProgram(orm, merchant.id, programId);
  programPeriod(program, periodKey);
  const close = await loadClose(db, { merchantId: merchant.id, programId, periodKey });
  if (!close) throw notFound(`A close of period ${periodKey} of program ${programId}`);
  return reportOf(db, close);
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

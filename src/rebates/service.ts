/**
 * Profit-sharing rebates: programs, previews, closes, period reports, member statements. A close freezes
 * who shares and how much they spent in its first batch; the engine (engine.ts) pays it in chunks.
 */
import { programQuery } from "../members/account-context";
import { MAX_TOTAL } from "../platform/assert";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { classifyBatchError, rethrowGuard } from "../platform/db";
import { ApiError } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import { programFromRow } from "../program/settings";
import { allocate, distribution, rebatePool, toPoints } from "./allocation";
import { type CloseRef, type CloseRow, closeKey, loadClose } from "./close-state";
import { eligibleSpendSql } from "./eligibility";
import { advanceClose, closeTuning } from "./engine";
import { overlappingKeys, type PeriodRange, periodEnded } from "./periods";
import { loadProgram, type ProgramRow, programPeriod } from "./programs";
import { reportOf } from "./reports";
import { type PeriodReport, PREVIEW_TOP, type Preview } from "./schemas";

export { listPrograms, loadProgram, programBody, putProgram } from "./programs";
export { memberRebates, periodReport } from "./reports";

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

/** Batch-guard reasons of a close's start (platform/d1/guard.ts): lowercase snake_case words. */
const START_GUARD = {
  /** Another close of the program covers some of the same months (the program changed its period kind). */
  overlap: "rebate_period_overlap",
  /** Some eligible member could be paid more than their balance or credit may still take. */
  payoutLimit: "rebate_payout_limit",
} as const;

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
  // What one member could be paid at most, in the payout's units (points or credit): the whole pool.
  const units = program.payout === "points" ? toPoints(pool, pointValue).points : pool;
  // The points a pool buys are a running total of the close: refuse before it could pass exact integers.
  if (units > MAX_TOTAL)
    throw new ApiError("unprocessable", `The pool would buy more than ${MAX_TOTAL} points at this program's pointValue.`, [
      { path: "netProfit", message: `buys more than ${MAX_TOTAL} points` },
    ]);
  const overlaps = overlappingKeys(periodKey, range);
  const terms = { key, netProfit, pool, units, pointValue, overlaps, at };
  try {
    await db.batch(startStatements(ref, program, range, terms).map((s) => prepare(db, s)));
  } catch (error) {
    const failure = classifyBatchError(error);
    if (failure.kind === "unique" && failure.table === "rebate_closes") {
      const winner = await loadClose(db, ref);
      if (winner) return resumeOrRefuse(winner, key);
    }
    if (failure.kind === "guard" && failure.reason === GUARD.totalLimit) throw tooMuchSpend();
    if (failure.kind === "guard" && failure.reason === START_GUARD.overlap) throw await overlapping(db, ref, overlaps);
    if (failure.kind === "guard" && failure.reason === START_GUARD.payoutLimit)
      throw new ApiError(
        "unprocessable",
        `An eligible member's ${program.payout === "points" ? "points" : "store credit"} plus the pool would pass ${MAX_TOTAL}, the largest the engine keeps exactly; nothing was started.`,
        [{ path: "netProfit", message: `would take a member's ${program.payout} past ${MAX_TOTAL}` }],
      );
    rethrowGuard(failure);
  }
  return ref;
}

/** 409 naming the close that already covers some of the period's months. */
async function overlapping(db: D1Database, ref: CloseRef, overlaps: readonly string[]): Promise<ApiError> {
  const other = await prepare(db, overlapSql(ref, overlaps, sql`period_key`)).first<{ periodKey: string }>();
  return new ApiError(
    "conflict",
    `Period ${ref.periodKey} overlaps period ${other?.periodKey ?? "(another)"} of program ${ref.programId}, already closed or being closed; the same spend is shared once.`,
  );
}

/** Closes of the program over any of `overlaps` (see overlappingKeys). */
const overlapSql = (ref: CloseRef, overlaps: readonly string[], columns: Sql) =>
  sql`SELECT ${columns} AS periodKey FROM rebate_closes WHERE merchant_id = ${ref.merchantId} AND program_id = ${ref.programId}
    AND period_key IN (${sql.join(
      overlaps.map((k) => sql`${k}`),
      sql`, `,
    )}) LIMIT 1`;

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
  /** The pool in the payout's units (points at pointValue, or credit): the most one member can be paid. */
  units: number;
  pointValue: { points: number; amount: number };
  /** Other period keys covering some of the same months (overlappingKeys). */
  overlaps: readonly string[];
  at: number;
}

function startStatements(ref: CloseRef, program: ProgramRow, range: PeriodRange, t: StartTerms) {
  const eligible = eligibleSpendSql(ref.merchantId, eligibility(program), range);
  const insertClose = sql`INSERT INTO rebate_closes (merchant_id, program_id, period_key, idempotency_key, status, phase, payout,
      net_profit, share_bps, pool, point_value_points, point_value_amount, created_at, updated_at)
    VALUES (${ref.merchantId}, ${ref.programId}, ${ref.periodKey}, ${t.key}, 'running', 'rank', ${program.payout},
      ${t.netProfit}, ${program.shareBps}, ${t.pool}, ${t.pointValue.points}, ${t.pointValue.amount}, ${t.at}, ${t.at})`;
  // One close per month of spend: none of the program's closes may cover a month of this one already.
  const noOverlap = guardSql(START_GUARD.overlap, sql`EXISTS (${overlapSql(ref, t.overlaps, sql`1`)})`);
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
  // A member whose points or credit plus the pool could pass MAX_TOTAL would make their pay chunk abort for
  // ever (the close stuck running, the request a 500): refuse the close before it starts. Bounded by the pool,
  // the most any one member can be paid.
  const room = MAX_TOTAL - t.units;
  // Points or credit on hold count: they come back when released (migrations/0017_held_total_limit.sql).
  const held =
    program.payout === "credit" ? sql`m.credit + m.credit_held` : sql`MAX(m.balance + m.pending + m.held, m.lifetime_earned)`;
  const payable = guardSql(
    START_GUARD.payoutLimit,
    sql`EXISTS (SELECT 1 FROM rebate_allocations a JOIN members m ON m.merchant_id = a.merchant_id AND m.id = a.member_id
      WHERE ${closeKey(ref, "a.")} AND ${held} > ${room})`,
  );
  const settle = sql`UPDATE rebate_closes SET status = 'closed', phase = 'done', finished_at = ${t.at},
      note = CASE WHEN pool <= 0 THEN ${nothingToPay(0, 0)} ELSE ${nothingToPay(1, 0)} END
    WHERE ${closeKey(ref)} AND (pool <= 0 OR members = 0)`;
  return [insertClose, noOverlap, ...freeze, bound, ...(t.pool > 0 ? [payable] : []), settle];
}

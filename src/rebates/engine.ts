/**
 * The close engine: works a started close forward in chunks of members, each chunk one D1 batch.
 *
 * - rank: walks the frozen allocation rows by member id, storing each member's floor share and remainder;
 *   then finds the round-up threshold (the largest remainders get the units the floors left over).
 * - pay: walks them again, crediting each member's share (points or credit) through the ledger and flipping
 *   the allocation's `paid` flag in the same transaction.
 *
 * Every chunk begins with a compare-and-set of the close's cursor, so two workers on one close (the request,
 * a queue message, the scheduled resume) cannot both apply a chunk: the loser's batch aborts and it reads
 * the state again. A chunk that fails midway writes nothing; the next run redoes it. Work is found from the
 * stored state, so an interrupted close resumes where it stopped and credits nobody twice.
 */
import { LedgerWriter } from "../ledger/statements";
import { now } from "../platform/clock";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { newId } from "../platform/ids";
import { DEFAULT_PROGRAM, dueFor, lotExpiry, type MemberClock, memberClockJsonSql } from "../program/settings";
import { type RankedShare, roundsUp, shareOf, toPoints } from "./allocation";
import { type CloseRef, type CloseRow, closeKey, loadClose } from "./close-state";

/** Chunk sizes and budgets; tests shrink them to exercise many chunks with few members. */
export const closeTuning = {
  /** Members per chunk: a pay chunk is about 7 statements per member in one batch. */
  chunkMembers: 200,
  /** Chunks the close request works itself before handing the rest to the queue (202 running). */
  inlineChunks: 6,
  /** Chunks one queue message works before sending the next message (bounded CPU and wall time). */
  queueChunks: 40,
};

/** Works the close forward by at most `maxChunks` chunks; true once every allocation is paid. */
export async function advanceClose(db: D1Database, ref: CloseRef, maxChunks: number, at = now()): Promise<boolean> {
  for (let chunk = 0; chunk < maxChunks; chunk++) {
    const close = await loadClose(db, ref);
    if (!close) throw new Error(`no close ${JSON.stringify(ref)}`);
    if (close.phase === "done") return true;
    try {
      if (close.phase === "rank") await rankChunk(db, close, at);
      else await payChunk(db, close, at);
    } catch (error) {
      // Another worker moved the cursor first: read the state again and carry on from there.
      const failure = classifyBatchError(error);
      if (!(failure.kind === "guard" && failure.reason === GUARD.conflict)) throw error;
    }
  }
  return (await loadClose(db, ref))?.phase === "done";
}

/** The first statements of a chunk: move the cursor from where this worker read it, or abort the batch. */
function claimChunk(close: CloseRow, set: Sql, at: number): Sql[] {
  return [
    sql`UPDATE rebate_closes SET ${set}, updated_at = ${at}
      WHERE ${closeKey(close)} AND phase = ${close.phase} AND cursor IS ${close.cursor}`,
    guardSql(GUARD.conflict, sql`changes() = 0`),
  ];
}

async function nextMembers<T>(db: D1Database, close: CloseRow, columns: Sql): Promise<(T & { memberId: string })[]> {
  const { results } = await prepare(
    db,
    sql`SELECT member_id AS memberId, ${columns} FROM rebate_allocations
      WHERE ${closeKey(close)} AND member_id > ${close.cursor ?? ""} ORDER BY member_id LIMIT ${closeTuning.chunkMembers}`,
  ).all<T & { memberId: string }>();
  return results;
}

async function rankChunk(db: D1Database, close: CloseRow, at: number): Promise<void> {
  const rows = await nextMembers<{ spend: number }>(db, close, sql`spend`);
  if (rows.length === 0) return finishRank(db, close, at);
  const statements = [...claimChunk(close, sql`cursor = ${rows[rows.length - 1]?.memberId}`, at)];
  // One keyed update per member: a join against the chunk's JSON would scan every row of the close.
  for (const r of rows) {
    const { base, remainder } = shareOf(close.pool, r.spend, close.totalNetSpend);
    statements.push(sql`UPDATE rebate_allocations SET base = ${base}, remainder = ${remainder}
      WHERE ${closeKey(close)} AND member_id = ${r.memberId}`);
  }
  await db.batch(statements.map((s) => prepare(db, s)));
}

/** After ranking: the share that rounds up last, then the pay phase from the first member. */
async function finishRank(db: D1Database, close: CloseRow, at: number): Promise<void> {
  const sum = await prepare(
    db,
    sql`SELECT COALESCE(SUM(base), 0) AS floors FROM rebate_allocations WHERE ${closeKey(close)}`,
  ).first<{
    floors: number;
  }>();
  const left = close.pool - (sum?.floors ?? 0);
  // Ordered as roundsUpBefore orders them: larger remainder first, then the smaller member id (byte order).
  const threshold =
    left > 0
      ? await prepare(
          db,
          sql`SELECT member_id AS memberId, remainder FROM rebate_allocations WHERE ${closeKey(close)}
            ORDER BY remainder DESC, member_id ASC LIMIT 1 OFFSET ${left - 1}`,
        ).first<{ memberId: string; remainder: number }>()
      : null;
  const set = sql`phase = 'pay', cursor = NULL, threshold_remainder = ${threshold?.remainder ?? null},
    threshold_member = ${threshold?.memberId ?? null}`;
  await db.batch(claimChunk(close, set, at).map((s) => prepare(db, s)));
}

interface Payment {
  memberId: string;
  amount: number;
  units: number;
  unconverted: number;
  /** The member's clock as read (JSON MemberClock; null for a member gone since the close started). */
  clock: string | null;
}

/** What each member of the chunk is paid: the floor share, plus one if it is among the largest remainders. */
function payments(close: CloseRow, rows: (RankedShare & { clock: string | null })[]): Payment[] {
  const threshold =
    close.thresholdMember === null ? null : { memberId: close.thresholdMember, remainder: close.thresholdRemainder ?? 0 };
  return rows.map((r) => {
    const amount = r.base + (roundsUp(r, threshold) ? 1 : 0);
    const converted = close.payout === "points" ? toPoints(amount, close.pointValue) : { points: amount, unconverted: 0 };
    return { memberId: r.memberId, amount, units: converted.points, unconverted: converted.unconverted, clock: r.clock };
  });
}

async function payChunk(db: D1Database, close: CloseRow, at: number): Promise<void> {
  const rows = await nextMembers<RankedShare & { clock: string | null }>(
    db,
    close,
    sql`spend, base, remainder, ${payeeClock} AS clock`,
  );
  if (rows.length === 0) {
    await db.batch(claimChunk(close, sql`phase = 'done', status = 'closed', finished_at = ${at}`, at).map((s) => prepare(db, s)));
    return;
  }
  const paid = payments(close, rows);
  const sum = (pick: (p: Payment) => number) => paid.reduce((total, p) => total + pick(p), 0);
  const last = rows[rows.length - 1]!.memberId;
  const done = rows.length < closeTuning.chunkMembers;
  const totals = sql`cursor = ${last}, processed = processed + ${rows.length}, paid = paid + ${sum((p) => p.amount)},
    points_paid = points_paid + ${close.payout === "points" ? sum((p) => p.units) : 0},
    unconverted = unconverted + ${sum((p) => p.unconverted)}
    ${done ? sql`, phase = 'done', status = 'closed', finished_at = ${at}` : sql``}`;
  const statements = claimChunk(close, totals, at).map((s) => prepare(db, s));
  for (const payment of paid) statements.push(...payStatements(db, close, payment, at));
  await db.batch(statements);
}

/** Each payee's clock, for settling before the payment (a rebate is activity). */
const payeeClock = sql.raw(`(SELECT ${memberClockJsonSql("m")} FROM members m
  WHERE m.merchant_id = rebate_allocations.merchant_id AND m.id = rebate_allocations.member_id)`);

/**
 * One member's payment: the allocation flips to paid exactly once, with its ledger credit. The member's
 * settling comes first, as an order's credit does: a rebate is activity, and points past the inactivity
 * deadline must expire before it moves the member's last activity to now.
 */
function payStatements(db: D1Database, close: CloseRow, p: Payment, at: number): D1PreparedStatement[] {
  const mark = [
    sql`UPDATE rebate_allocations SET paid = 1, amount = ${p.amount}, units = ${p.units}, paid_at = ${at}
      WHERE ${closeKey(close)} AND member_id = ${p.memberId} AND paid = 0`,
    guardSql(GUARD.conflict, sql`changes() = 0`),
  ].map((s) => prepare(db, s));
  if (p.units === 0) return mark;
  const ledger = new LedgerWriter(db, close.merchantId, p.memberId, at);
  if (p.clock) ledger.settle(dueFor(JSON.parse(p.clock) as MemberClock, { expiry: close.expiry }, close.timezone, at, false));
  const refs = { reason: `rebate ${close.programId} ${close.periodKey}` };
  const entryId = newId("le", at);
  if (close.payout === "credit") ledger.addCredit({ entryId, type: "rebate", amount: p.units, refs });
  else
    ledger.credit({
      entryId,
      type: "rebate",
      points: p.units,
      pending: false,
      availableAt: at,
      expiresAt: lotExpiry({ ...DEFAULT_PROGRAM, expiry: close.expiry }, at, close.timezone),
      countsAsEarned: true,
      refs,
    });
  return [...mark, ...ledger.statements];
}

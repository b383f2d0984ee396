/**
 * Redemptions spend points as payment. Capture at once, or hold (reserve) and later capture or cancel.
 * Overdraw is refused inside the write transaction (see LedgerWriter.spend), so parallel redemptions
 * against one balance can never take more than it holds. Writes are planned here and committed by the
 * route (see PlannedWrite).
 */
import { and, eq } from "drizzle-orm";
import { redemptions } from "../db/schema";
import { snapshotAfter } from "../earning/member-snapshot";
import { HOLD_TTL_MS } from "../ledger/holds";
import { isoSql, MEMBER_JSON_SQL } from "../ledger/member-json";
import { LedgerWriter } from "../ledger/statements";
import { loadAccountContext } from "../members/account-context";
import { MAX_TOTAL } from "../platform/assert";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { type BatchFailure, classifyBatchError } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { type PlannedWrite, scopedWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import type { RequestScope } from "../platform/scope";
import { conflictIsRace } from "../platform/write";
import { dueFor, type ProgramSettings, pointsValue } from "../program/settings";
import type { RedemptionInput } from "./schemas";

/** Renders a redemption `r` with its member `m` as column `body`. */
const redemptionJson = (merchantId: string, id: string): Sql =>
  sql`SELECT json_object('id', r.id, 'memberId', r.member_id, 'status', r.status, 'asset', r.asset,
    'points', CASE WHEN r.asset = 'points' THEN r.points ELSE 0 END,
    'credit', CASE WHEN r.asset = 'credit' THEN r.points ELSE 0 END, 'value', r.value, 'orderId', r.order_id, 'holdExpiresAt', ${sql.raw(isoSql("r.hold_expires_at"))},
    'member', ${sql.raw(MEMBER_JSON_SQL)}) AS body
  FROM redemptions r JOIN members m ON m.merchant_id = r.merchant_id AND m.id = r.member_id
  WHERE r.merchant_id = ${merchantId} AND r.id = ${id}`;

/** What the points are worth; 422 when worth nothing (no money off) or past exact money. */
function redemptionValue(program: ProgramSettings, points: number): number {
  const value = pointsValue(program, points);
  if (!Number.isSafeInteger(value))
    throw new ApiError("unprocessable", `These points are worth more than ${MAX_TOTAL} minor units, past exact money.`, [
      { path: "points", message: `must be worth at most ${MAX_TOTAL} minor units` },
    ]);
  // A redemption pays with points: one worth nothing would take points for no money off.
  if (value === 0) {
    const least = Math.ceil(program.pointValue.points / program.pointValue.amount);
    throw new ApiError(
      "unprocessable",
      `${points} points are worth nothing at this program's point value; redeem at least ${least} points.`,
      [{ path: "points", message: `must be at least ${least} (worth at least 1 minor unit)` }],
    );
  }
  return value;
}

/**
 * The batch of a redemption: settles what is due (a due hold it releases may be captured at the same
 * moment: the route plans again with a new scope), inserts the redemption, spends, renders the reply.
 */
export async function planRedemption(scope: RequestScope, input: RedemptionInput): Promise<PlannedWrite> {
  const { db, merchant, at } = scope;
  const { member, program } = await loadAccountContext(scope.orm, merchant.id, input.memberId, at);
  const asset = input.credit !== undefined ? "credit" : "points";
  // The schema lets exactly one of the two through; credit is money already, worth its amount.
  const quantity = input.credit ?? input.points ?? 0;
  const value = asset === "credit" ? quantity : redemptionValue(program, quantity);
  const hold = input.hold === true;
  const id = newId("rd", at);
  const write = scopedWrite(scope);
  const ledger = new LedgerWriter(db, merchant.id, input.memberId, at).settle(
    dueFor(member, program, merchant.timezone, at, true),
  );
  const spend = { entryId: newId("le", at), type: hold ? ("hold" as const) : ("redeem" as const) };
  const refs = { redemptionId: id, orderId: input.orderId ?? null };
  if (asset === "credit") ledger.spendCredit({ ...spend, amount: quantity, refs });
  else ledger.spend({ ...spend, points: quantity, moveId: id, refs });
  const insert = sql`INSERT INTO redemptions (id, merchant_id, member_id, points, value, asset, status, order_id, hold_expires_at,
      created_at, updated_at)
    VALUES (${id}, ${merchant.id}, ${input.memberId}, ${quantity}, ${value}, ${asset}, ${hold ? "held" : "captured"},
      ${input.orderId ?? null}, ${hold ? at + HOLD_TTL_MS : null}, ${at}, ${at})`;
  // Redeeming comes before posting the order at checkout: the order can still plan from a snapshot, unless
  // the redemption pays part of that very order (the snapshot does not hold what orders were paid).
  const snapshot = input.orderId ? undefined : snapshotAfter(merchant.id, input.memberId);
  const reply = write.finishSql(201, redemptionJson(merchant.id, id), { member: input.memberId, also: snapshot?.columns });
  const posted = input.orderId && !program.earnOnPointsPaid ? [prepare(db, orderPostedSql(merchant.id, input.orderId))] : [];
  const statements = [...posted, prepare(db, insert), ...ledger.statements, reply];
  const onCommitted = snapshot?.keep;
  return { write, statements, status: 201, onFailure: redemptionFailure, onCommitted };
}

/**
 * Points pay for an order before it is posted: the order earns only on the part money paid (unless the
 * program lets points-paid parts earn), so once posted it has earned on what this redemption would pay.
 */
function orderPostedSql(merchantId: string, orderId: string): Sql {
  return guardSql(GUARD.orderPosted, sql`EXISTS (SELECT 1 FROM orders WHERE merchant_id = ${merchantId} AND id = ${orderId})`);
}

/**
 * The same rule for a capture: a hold past its time blocks no order, so its order may have been posted (earning
 * on its whole amount) while the capture, read a moment earlier, was on its way. The program is read in the
 * batch: a capture has no other use for it.
 */
function capturedAfterPostingSql(merchantId: string, orderId: string): Sql {
  return guardSql(
    GUARD.orderPosted,
    sql`EXISTS (SELECT 1 FROM orders WHERE merchant_id = ${merchantId} AND id = ${orderId})
      AND NOT COALESCE((SELECT earn_on_points_paid FROM programs WHERE merchant_id = ${merchantId}), 0)`,
  );
}

function redemptionFailure(failure: BatchFailure): void {
  if (failure.kind === "guard" && failure.reason === GUARD.orderPosted)
    throw new ApiError(
      "unprocessable",
      "That order was already posted and earned on its whole amount; redeem points for an order before posting it.",
      [{ path: "orderId", message: "names an order already posted: points pay for an order before it is posted" }],
    );
  conflictIsRace(failure);
}

interface RedemptionRow {
  id: string;
  memberId: string;
  /** Points, or credit in minor units when `asset` is credit. */
  points: number;
  status: "held" | "captured" | "cancelled" | "released";
  orderId: string | null;
  holdExpiresAt: number | null;
  asset: "points" | "credit";
}

async function loadRedemption(scope: RequestScope, id: string): Promise<RedemptionRow> {
  const row = await scope.orm.query.redemptions.findFirst({
    columns: { id: true, memberId: true, points: true, status: true, orderId: true, holdExpiresAt: true, asset: true },
    where: and(eq(redemptions.merchantId, scope.merchant.id), eq(redemptions.id, id)),
  });
  if (!row) throw notFound(`Redemption ${id}`);
  return row;
}

/** Moves a redemption from one status to another exactly once (compare-and-set plus guard). */
function transition(db: D1Database, merchantId: string, id: string, from: string, to: string, at: number): D1PreparedStatement[] {
  return [
    prepare(
      db,
      sql`UPDATE redemptions SET status = ${to}, updated_at = ${at}
        WHERE merchant_id = ${merchantId} AND id = ${id} AND status = ${from}`,
    ),
    prepare(db, guardSql(GUARD.conflict, sql`changes() = 0`)),
  ];
}

/** The batch that captures a hold; a hold past its time is released there and then instead (409). */
export async function planCapture(scope: RequestScope, id: string): Promise<PlannedWrite> {
  const { db, merchant, at } = scope;
  const r = await loadRedemption(scope, id);
  if (r.status !== "held")
    throw new ApiError("conflict", `Redemption ${id} is ${r.status}; only a held redemption can be captured.`);
  if (r.holdExpiresAt !== null && r.holdExpiresAt <= at) {
    // Past its time the hold is released, here and now rather than when the job next runs.
    await releaseExpiredHold(db, merchant.id, r, at);
    throw new ApiError("conflict", `The hold of redemption ${id} expired; its points were released.`);
  }
  const write = scopedWrite(scope);
  const ledger = new LedgerWriter(db, merchant.id, r.memberId, at);
  const refs = { redemptionId: id, orderId: r.orderId };
  if (r.asset === "credit") ledger.captureCredit(newId("le", at), newId("le", at), r.points, refs);
  else ledger.capture(newId("le", at), newId("le", at), r.points, refs);
  const posted = r.orderId ? [prepare(db, capturedAfterPostingSql(merchant.id, r.orderId))] : [];
  const statements = [
    ...posted,
    ...transition(db, merchant.id, id, "held", "captured", at),
    prepare(db, sql`UPDATE redemptions SET hold_expires_at = NULL WHERE merchant_id = ${merchant.id} AND id = ${id}`),
    ...ledger.statements,
    write.finishSql(200, redemptionJson(merchant.id, id), { member: r.memberId }),
  ];
  return { write, statements, status: 200, onFailure: captureFailure(id) };
}

function captureFailure(id: string) {
  const race = raceToConflict(id);
  return (failure: BatchFailure) => {
    if (failure.kind === "guard" && failure.reason === GUARD.orderPosted)
      throw new ApiError(
        "conflict",
        `The order redemption ${id} was held for was posted meanwhile, earning on its whole amount: cancel the hold instead.`,
      );
    race(failure);
  };
}

/** The batch that cancels a redemption and returns its points. */
export async function planCancel(scope: RequestScope, id: string): Promise<PlannedWrite> {
  const { db, merchant, at } = scope;
  const r = await loadRedemption(scope, id);
  if (r.status !== "held" && r.status !== "captured") throw new ApiError("conflict", `Redemption ${id} is already ${r.status}.`);
  const write = scopedWrite(scope);
  // Past the member's inactivity deadline, points given back expire with the rest of the member's lots.
  const { member, program } = await loadAccountContext(scope.orm, merchant.id, r.memberId, at);
  const due = dueFor(member, program, merchant.timezone, at, true);
  const statements = [
    ...returnStatements(db, merchant.id, r, "cancelled", at, due.inactiveSince),
    write.finishSql(200, redemptionJson(merchant.id, id), { member: r.memberId }),
  ];
  return { write, statements, status: 200, onFailure: raceToConflict(id) };
}

/**
 * Puts a redemption's points back: a held one as `release`, a captured one as `redemption_return`.
 * Used by cancel (which adds its reply) and by the scheduled hold release (which has none). `inactiveSince`:
 * the member's last activity, when the inactivity deadline has passed (program/settings.ts dueFor).
 */
export function returnStatements(
  db: D1Database,
  merchantId: string,
  r: Pick<RedemptionRow, "id" | "memberId" | "points" | "status" | "orderId" | "asset">,
  to: "cancelled" | "released",
  at: number,
  inactiveSince?: number,
): D1PreparedStatement[] {
  const fromHeld = r.status === "held";
  if (r.asset === "credit") {
    const ledger = new LedgerWriter(db, merchantId, r.memberId, at).restoreCredit({
      entryId: newId("le", at),
      type: fromHeld ? "release" : "redemption_return",
      amount: r.points,
      refs: { redemptionId: r.id, orderId: r.orderId, reason: to === "released" ? "hold expired" : "cancelled" },
    });
    return [...transition(db, merchantId, r.id, r.status, to, at), ...ledger.statements];
  }
  const ledger = new LedgerWriter(db, merchantId, r.memberId, at)
    .restore({
      entryId: newId("le", at),
      type: fromHeld ? "release" : "redemption_return",
      points: r.points,
      moveId: r.id,
      fromHeld,
      refs: { redemptionId: r.id, orderId: r.orderId, reason: to === "released" ? "hold expired" : "cancelled" },
      inactiveSince,
    })
    // Points returned to lots whose date has passed (or past the inactivity deadline) expire at once: they were due to.
    .settle({ releaseDue: false, expireDue: true, ...(inactiveSince === undefined ? {} : { inactiveSince }) });
  return [...transition(db, merchantId, r.id, r.status, to, at), ...ledger.statements];
}

/** Releases one hold past its time; a concurrent capture, cancel or job release wins and this does nothing. */
async function releaseExpiredHold(db: D1Database, merchantId: string, r: RedemptionRow, at: number): Promise<void> {
  const ledger = new LedgerWriter(db, merchantId, r.memberId, at).settle({
    releaseDue: false,
    expireDue: false,
    dueHolds: [{ id: r.id, points: r.points, orderId: r.orderId, asset: r.asset }],
  });
  try {
    await db.batch(ledger.statements);
  } catch (error) {
    const failure = classifyBatchError(error);
    if (!(failure.kind === "guard" && failure.reason === GUARD.conflict)) throw error;
  }
}

function raceToConflict(id: string) {
  return (failure: BatchFailure) => {
    if (failure.kind === "guard" && failure.reason === GUARD.conflict)
      throw new ApiError("conflict", `Redemption ${id} was changed by a concurrent request.`);
  };
}

export async function readRedemption(scope: RequestScope, id: string): Promise<string> {
  const row = await prepare(scope.db, redemptionJson(scope.merchant.id, id)).first<{ body: string }>();
  if (!row) throw notFound(`Redemption ${id}`);
  return row.body;
}

/**
 * Redemptions spend points as payment. Capture at once, or hold (reserve) and later capture or cancel.
 * Overdraw is refused inside the write transaction (see LedgerWriter.spend), so parallel redemptions
 * against one balance can never take more than it holds.
 */
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { redemptions } from "../db/schema";
import { isoOrNullSql, MEMBER_JSON_SQL } from "../ledger/member-json";
import { LedgerWriter } from "../ledger/statements";
import { loadAccountContext } from "../members/account-context";
import { MAX_TOTAL } from "../platform/assert";
import { currentMerchant } from "../platform/auth";
import { MINUTE_MS, now } from "../platform/clock";
import type { AppEnv } from "../platform/context";
import { GUARD } from "../platform/d1/guard";
import { classifyBatchError, guard } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { type IdempotentWrite, idempotentWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import { commitWrite, conflictIsRace, retryOnRace } from "../platform/write";
import { dueFor, pointsValue } from "../program/settings";
import type { RedemptionInput } from "./schemas";

export const HOLD_TTL_MS = 15 * MINUTE_MS;

/** Renders a redemption row `r` with its member `m`. */
const REDEMPTION_JSON_SQL = `SELECT json_object('id', r.id, 'memberId', r.member_id, 'status', r.status, 'points', r.points,
    'value', r.value, 'orderId', r.order_id, 'holdExpiresAt', ${isoOrNullSql("r.hold_expires_at")}, 'member', ${MEMBER_JSON_SQL}) AS body
  FROM redemptions r JOIN members m ON m.merchant_id = r.merchant_id AND m.id = r.member_id
  WHERE r.merchant_id = ?1 AND r.id = ?2`;

export function createRedemption(c: Context<AppEnv>, input: RedemptionInput): Promise<Response> {
  // A due hold this spend releases was captured or cancelled at the same moment: read again.
  return retryOnRace(() => attemptRedemption(c, input));
}

async function attemptRedemption(c: Context<AppEnv>, input: RedemptionInput): Promise<Response> {
  const merchant = currentMerchant(c);
  const at = now();
  const { member, program } = await loadAccountContext(c.var.orm, merchant.id, input.memberId, at);
  const value = pointsValue(program, input.points);
  if (!Number.isSafeInteger(value))
    throw new ApiError("unprocessable", `These points are worth more than ${MAX_TOTAL} minor units, past exact money.`, [
      { path: "points", message: `must be worth at most ${MAX_TOTAL} minor units` },
    ]);
  // A redemption pays with points: one worth nothing would take points for no money off.
  if (value === 0) {
    const least = Math.ceil(program.pointValue.points / program.pointValue.amount);
    throw new ApiError(
      "unprocessable",
      `${input.points} points are worth nothing at this program's point value; redeem at least ${least} points.`,
      [{ path: "points", message: `must be at least ${least} (worth at least 1 minor unit)` }],
    );
  }
  const hold = input.hold === true;
  const id = newId("rd", at);
  const db = c.var.db;
  const write = idempotentWrite(c, at);
  const ledger = new LedgerWriter(db, merchant.id, input.memberId, at)
    .settle(dueFor(member, program, merchant.timezone, at, true))
    .spend({
      entryId: newId("le", at),
      type: hold ? "hold" : "redeem",
      points: input.points,
      moveId: id,
      refs: { redemptionId: id, orderId: input.orderId ?? null },
    });
  const statements = [
    db
      .prepare(
        `INSERT INTO redemptions (id, merchant_id, member_id, points, value, status, order_id, hold_expires_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)`,
      )
      .bind(
        id,
        merchant.id,
        input.memberId,
        input.points,
        value,
        hold ? "held" : "captured",
        input.orderId ?? null,
        hold ? at + HOLD_TTL_MS : null,
        at,
      ),
    ...ledger.statements,
    write.finish(201, REDEMPTION_JSON_SQL, [merchant.id, id]),
  ];
  return commitWrite(c.var.db, write, statements, 201, conflictIsRace);
}

interface RedemptionRow {
  id: string;
  memberId: string;
  points: number;
  status: "held" | "captured" | "cancelled" | "released";
  orderId: string | null;
  holdExpiresAt: number | null;
}

async function loadRedemption(c: Context<AppEnv>, merchantId: string, id: string): Promise<RedemptionRow> {
  const row = await c.var.orm.query.redemptions.findFirst({
    columns: { id: true, memberId: true, points: true, status: true, orderId: true, holdExpiresAt: true },
    where: and(eq(redemptions.merchantId, merchantId), eq(redemptions.id, id)),
  });
  if (!row) throw notFound(`Redemption ${id}`);
  return row;
}

/** Moves a redemption from one status to another exactly once (compare-and-set plus guard). */
function transition(db: D1Database, merchantId: string, id: string, from: string, to: string, at: number): D1PreparedStatement[] {
  return [
    db
      .prepare(`UPDATE redemptions SET status = ?1, updated_at = ?2 WHERE merchant_id = ?3 AND id = ?4 AND status = ?5`)
      .bind(to, at, merchantId, id, from),
    guard(db, "conflict", "changes() = 0"),
  ];
}

export async function captureRedemption(c: Context<AppEnv>, id: string): Promise<Response> {
  const merchant = currentMerchant(c);
  const at = now();
  const r = await loadRedemption(c, merchant.id, id);
  if (r.status !== "held")
    throw new ApiError("conflict", `Redemption ${id} is ${r.status}; only a held redemption can be captured.`);
  if (r.holdExpiresAt !== null && r.holdExpiresAt <= at) {
    // Past its time the hold is released, here and now rather than when the job next runs.
    await releaseExpiredHold(c.var.db, merchant.id, r, at);
    throw new ApiError("conflict", `The hold of redemption ${id} expired; its points were released.`);
  }
  const db = c.var.db;
  const write = idempotentWrite(c, at);
  const ledger = new LedgerWriter(db, merchant.id, r.memberId, at).capture(newId("le", at), newId("le", at), r.points, {
    redemptionId: id,
    orderId: r.orderId,
  });
  const statements = [
    ...transition(db, merchant.id, id, "held", "captured", at),
    db.prepare(`UPDATE redemptions SET hold_expires_at = NULL WHERE merchant_id = ?1 AND id = ?2`).bind(merchant.id, id),
    ...ledger.statements,
    write.finish(200, REDEMPTION_JSON_SQL, [merchant.id, id]),
  ];
  return commitWrite(c.var.db, write, statements, 200, raceToConflict(id));
}

export async function cancelRedemption(c: Context<AppEnv>, id: string): Promise<Response> {
  const merchant = currentMerchant(c);
  const r = await loadRedemption(c, merchant.id, id);
  if (r.status !== "held" && r.status !== "captured") throw new ApiError("conflict", `Redemption ${id} is already ${r.status}.`);
  const at = now();
  const write = idempotentWrite(c, at);
  return commitWrite(
    c.var.db,
    write,
    returnStatements(c.var.db, write, merchant.id, r, "cancelled", at),
    200,
    raceToConflict(id),
  );
}

/**
 * Puts a redemption's points back: a held one as `release`, a captured one as `redemption_return`.
 * Used by cancel and by the scheduled hold release.
 */
export function returnStatements(
  db: D1Database,
  write: IdempotentWrite,
  merchantId: string,
  r: Pick<RedemptionRow, "id" | "memberId" | "points" | "status" | "orderId">,
  to: "cancelled" | "released",
  at: number,
): D1PreparedStatement[] {
  const fromHeld = r.status === "held";
  const ledger = new LedgerWriter(db, merchantId, r.memberId, at)
    .restore({
      entryId: newId("le", at),
      type: fromHeld ? "release" : "redemption_return",
      points: r.points,
      moveId: r.id,
      fromHeld,
      refs: { redemptionId: r.id, orderId: r.orderId, reason: to === "released" ? "hold expired" : "cancelled" },
    })
    // Points returned to lots whose date has passed expire at once: they were due to expire.
    .settle({ releaseDue: false, expireDue: true });
  return [
    ...transition(db, merchantId, r.id, r.status, to, at),
    ...ledger.statements,
    write.finish(200, REDEMPTION_JSON_SQL, [merchantId, r.id]),
  ];
}

/** Releases one hold past its time; a concurrent capture, cancel or job release wins and this does nothing. */
async function releaseExpiredHold(db: D1Database, merchantId: string, r: RedemptionRow, at: number): Promise<void> {
  const ledger = new LedgerWriter(db, merchantId, r.memberId, at).settle({
    releaseDue: false,
    expireDue: false,
    dueHolds: [{ id: r.id, points: r.points, orderId: r.orderId }],
  });
  try {
    await db.batch(ledger.statements);
  } catch (error) {
    const failure = classifyBatchError(error);
    if (!(failure.kind === "guard" && failure.reason === GUARD.conflict)) throw error;
  }
}

function raceToConflict(id: string) {
  return (failure: { kind: string; reason?: string }) => {
    if (failure.kind === "guard" && failure.reason === "conflict")
      throw new ApiError("conflict", `Redemption ${id} was changed by a concurrent request.`);
  };
}

export async function readRedemption(c: Context<AppEnv>, id: string): Promise<string> {
  const merchant = currentMerchant(c);
  const row = await c.var.db.prepare(REDEMPTION_JSON_SQL).bind(merchant.id, id).first<{ body: string }>();
  if (!row) throw notFound(`Redemption ${id}`);
  return row.body;
}

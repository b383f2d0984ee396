/** The stored state of a period close, read by the engine, the routes and the report. */
import type { RebateClosePhase, RebateCloseStatus, RebatePayout } from "../db/enums";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { expiryFromColumns, type ProgramSettings } from "../program/settings";

/** A close is named by merchant, program and period key: one close per period, ever. */
export interface CloseRef {
  merchantId: string;
  programId: string;
  periodKey: string;
}

export interface CloseRow extends CloseRef {
  idempotencyKey: string;
  status: RebateCloseStatus;
  phase: RebateClosePhase;
  payout: RebatePayout;
  netProfit: number;
  pool: number;
  totalNetSpend: number;
  members: number;
  cursor: string | null;
  thresholdRemainder: number | null;
  thresholdMember: string | null;
  processed: number;
  paid: number;
  pointsPaid: number;
  unconverted: number;
  note: string | null;
  createdAt: number;
  finishedAt: number | null;
  updatedAt: number;
  /** Frozen at the start: the conversion of a points payout. */
  pointValue: { points: number; amount: number };
  /** For points lots: expiry per the current program settings, in the merchant's timezone. */
  expiry: ProgramSettings["expiry"];
  timezone: string;
}

/** `merchant_id = ... AND program_id = ... AND period_key = ...` of a table keyed by close. */
export const closeKey = (ref: CloseRef, alias = ""): Sql =>
  sql`${sql.raw(alias)}merchant_id = ${ref.merchantId} AND ${sql.raw(alias)}program_id = ${ref.programId}
    AND ${sql.raw(alias)}period_key = ${ref.periodKey}`;

interface RawClose extends Omit<CloseRow, "pointValue" | "expiry"> {
  pvPoints: number;
  pvAmount: number;
  expiryPolicy: string | null;
  expiryDays: number | null;
  expirySince: number | null;
}

export async function loadClose(db: D1Database, ref: CloseRef): Promise<CloseRow | null> {
  const row = await prepare(
    db,
    sql`SELECT c.merchant_id AS merchantId, c.program_id AS programId, c.period_key AS periodKey,
         c.idempotency_key AS idempotencyKey, c.status, c.phase, c.payout, c.net_profit AS netProfit, c.pool,
         c.total_net_spend AS totalNetSpend, c.members, c.cursor, c.threshold_remainder AS thresholdRemainder,
         c.threshold_member AS thresholdMember, c.processed, c.paid, c.points_paid AS pointsPaid, c.unconverted, c.note,
         c.created_at AS createdAt, c.finished_at AS finishedAt, c.updated_at AS updatedAt,
         c.point_value_points AS pvPoints, c.point_value_amount AS pvAmount, mer.timezone,
         p.expiry_policy AS expiryPolicy, p.expiry_days AS expiryDays, p.expiry_since AS expirySince
       FROM rebate_closes c JOIN merchants mer ON mer.id = c.merchant_id
         LEFT JOIN programs p ON p.merchant_id = c.merchant_id
       WHERE ${closeKey(ref, "c.")}`,
  ).first<RawClose>();
  if (!row) return null;
  const { pvPoints, pvAmount, expiryPolicy, expiryDays, expirySince, ...rest } = row;
  const expiry = expiryFromColumns(expiryPolicy, expiryDays, expirySince);
  return { ...rest, pointValue: { points: pvPoints, amount: pvAmount }, expiry };
}

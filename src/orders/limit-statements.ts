/**
 * Rule limits in the order and refund batches. An order adds what each limited award consumed with a
 * conditional upsert that refuses to pass the limit, followed by a guard: when concurrent orders used the
 * room this order planned with, the whole batch aborts and the order is planned again from fresh reads
 * (it then finds the budget spent, or less room left). So a budget is never exceeded, whatever runs at once.
 * A refund gives back what its plan splits over the limited awards (limitGiveBack in refund-math.ts): the
 * points it reverses of them, so refunding an order in parts gives back exactly what one full refund would.
 * Points of the order that had already expired are not taken back from anyone, so they give nothing back
 * either: each award's part shrinks in the proportion the batch excused (rounded down, never more).
 */
import type { LimitUse } from "../earning/types";
import { GUARD, guardSql } from "../platform/d1/guard";
import { type Sql, sql } from "../platform/d1/sql";

/** Budget rows have an empty member and period. */
const BUDGET = "";

function addUsage(merchantId: string, ruleId: string, memberId: string, period: string, points: number, limit: number): Sql[] {
  return [
    sql`INSERT INTO rule_usage (merchant_id, rule_id, member_id, period, points)
      VALUES (${merchantId}, ${ruleId}, ${memberId}, ${period}, ${points})
      ON CONFLICT (merchant_id, rule_id, member_id, period) DO UPDATE SET points = rule_usage.points + excluded.points
      WHERE rule_usage.points + excluded.points <= ${limit}`,
    // Nothing inserted or updated: the limit has less room than the plan read.
    guardSql(GUARD.conflict, sql`changes() = 0`),
  ];
}

/** The order batch's statements: consume every limited award, or abort the batch. */
export function limitStatements(merchantId: string, memberId: string, uses: readonly LimitUse[]): Sql[] {
  return uses.flatMap((use) => [
    ...(use.budget !== null ? addUsage(merchantId, use.ruleId, BUDGET, BUDGET, use.points, use.budget) : []),
    ...(use.period !== null && use.perMember !== null
      ? addUsage(merchantId, use.ruleId, memberId, use.period, use.points, use.perMember)
      : []),
  ]);
}

/** The limit uses an order stored (orders.rule_usage). */
export function parseLimitUses(stored: string | null): LimitUse[] {
  return stored ? (JSON.parse(stored) as LimitUse[]) : [];
}

function takeBack(merchantId: string, ruleId: string, memberId: string, period: string, points: Sql): Sql {
  return sql`UPDATE rule_usage SET points = MAX(0, points - ${points})
    WHERE merchant_id = ${merchantId} AND rule_id = ${ruleId} AND member_id = ${memberId} AND period = ${period}`;
}

/** Of a refund's reversal, the points the batch took from the member (`taken`, SQL) and all it planned. */
export interface ReversalTaken {
  taken: Sql;
  reversed: number;
}

/**
 * The refund batch's statements: give back `backs[i]` points to the limits of `uses[i]`, scaled to the part
 * of the reversal `reversal.taken` says was taken (run after the statement that decides it).
 */
export function giveBackStatements(
  merchantId: string,
  memberId: string,
  uses: readonly LimitUse[],
  backs: readonly number[],
  reversal: ReversalTaken,
): Sql[] {
  if (backs.length !== uses.length) throw new Error("giveBackStatements: one give-back per limit use");
  return uses.flatMap((use, i) => {
    const back = backs[i] ?? 0;
    if (back <= 0) return [];
    // Nothing planned to reverse, nothing excused: the part stands as it is.
    const points =
      reversal.reversed > 0 ? sql`CAST(${back} * ${reversal.taken} / ${reversal.reversed} AS INTEGER)` : sql`${back}`;
    return [
      ...(use.budget !== null ? [takeBack(merchantId, use.ruleId, BUDGET, BUDGET, points)] : []),
      ...(use.period !== null && use.perMember !== null ? [takeBack(merchantId, use.ruleId, memberId, use.period, points)] : []),
    ];
  });
}

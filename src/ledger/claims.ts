/**
 * Refund shortfalls, settled when spent points come back.
 *
 * A refund reverses an order's points from the order's own lot first. When that lot's points are out
 * (spent by a redemption or a hold that may still be cancelled or released), the shortfall is taken from
 * the member's other lots or becomes debt, and the lot then `owes` it. Every lot that pays for a shortfall
 * (drained by the refund, or repaying the debt later) is recorded as a payer, under one move id per member.
 * When points come back to an owing lot, up to what it owes they settle the claim instead of refilling it:
 * outstanding debt first, then the payers get their points back (lowest lot id first). So a refund that
 * lands before a cancel ends where the cancel-then-refund order does, whatever expired in between.
 *
 * Invariant: for each member, sum(owed) == debt + sum(payer points - undone).
 */
import { type Sql, sql } from "../platform/d1/sql";

/** Move id under which a member's payer lots are recorded (`undone` counts what they got back). */
export function payersTag(merchantId: string, memberId: string): string {
  return `paid:${merchantId}:${memberId}`;
}

/** The same, for the member of each row of a set-based statement (columns merchant_id, member_id of `alias`). */
export const payersTagSql = (alias: string): Sql => sql.raw(`'paid:' || ${alias}.merchant_id || ':' || ${alias}.member_id`);

/** Records the lots that gave points under `moveId` (all but `except`) as payers. */
export function recordPayers(tag: string, moveId: string, except: string | null): Sql {
  return sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
     SELECT ${tag}, lot_id, merchant_id, member_id, points FROM lot_moves WHERE move_id = ${moveId} AND lot_id IS NOT ${except}
     ON CONFLICT (move_id, lot_id) DO UPDATE SET points = points + excluded.points`;
}

/**
 * After a reversal's moves are recorded: the own lot owes what was not taken from it. A lot that had paid
 * for another lot's shortfall (its points repaid debt) and now owes for its own order nets the two: those
 * points went out with its order's refund, so it neither owes them nor is owed them back.
 */
export function recordShortfall(moveId: string, ownLotId: string, amount: Sql, payers: string): Sql[] {
  const fromOwn = sql`COALESCE((SELECT points FROM lot_moves WHERE move_id = ${moveId} AND lot_id = ${ownLotId}), 0)`;
  const netTag = `${moveId}:net`;
  const netted = sql`(SELECT points FROM lot_moves WHERE move_id = ${netTag})`;
  return [
    sql`UPDATE point_lots SET owed = owed + (${amount} - ${fromOwn}) WHERE id = ${ownLotId} AND ${amount} > ${fromOwn}`,
    sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
       SELECT ${netTag}, a.id, a.merchant_id, a.member_id, MIN(a.owed, p.points - p.undone)
       FROM point_lots a JOIN lot_moves p ON p.move_id = ${payers} AND p.lot_id = a.id
       WHERE a.id = ${ownLotId} AND a.owed > 0 AND p.points > p.undone`,
    sql`UPDATE lot_moves SET undone = undone + ${netted} WHERE move_id = ${payers} AND lot_id = ${ownLotId} AND ${netted} > 0`,
    sql`UPDATE point_lots SET owed = owed - ${netted} WHERE id = ${ownLotId} AND ${netted} > 0`,
    sql`DELETE FROM lot_moves WHERE move_id = ${netTag}`,
  ];
}

export interface ClaimSettlement {
  /** Statements to run right after the returned points were put back into their lots. */
  settle: Sql[];
  /** Points diverted from owing lots (scalar, valid until `cleanup`). */
  diverted: Sql;
  /** Deletes the scratch rows; run after everything that reads `diverted`. */
  cleanup: Sql;
}

/**
 * Settles claims from points returned under `moveId`. `debt` is the member's debt before the return (a
 * scalar); `tag` names scratch rows. The returned points still count in the balance: what settles debt
 * leaves the lots, what refills payers moves to them.
 */
export function settleClaims(moveId: string, tag: string, payers: string, debt: Sql): ClaimSettlement {
  const divTag = `${tag}:div`;
  const fillTag = `${tag}:fill`;
  const diverted = sql`(SELECT COALESCE(SUM(points), 0) FROM lot_moves WHERE move_id = ${divTag})`;
  const refill = sql`(${diverted} - MIN(${diverted}, ${debt}))`;
  return {
    settle: [
      sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
         SELECT ${divTag}, a.id, a.merchant_id, a.member_id, MIN(a.owed, rm.points)
         FROM lot_moves rm JOIN point_lots a ON a.id = rm.lot_id WHERE rm.move_id = ${moveId} AND a.owed > 0`,
      sql`UPDATE point_lots SET remaining = remaining - d.points, owed = owed - d.points
         FROM (SELECT lot_id, points FROM lot_moves WHERE move_id = ${divTag}) AS d WHERE point_lots.id = d.lot_id`,
      sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
         SELECT ${fillTag}, lot_id, merchant_id, member_id, give FROM (
           SELECT lot_id, merchant_id, member_id, MAX(0, MIN(points - undone, ${refill} - COALESCE(SUM(points - undone) OVER (
             ORDER BY lot_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS give
           FROM lot_moves WHERE move_id = ${payers} AND points > undone)
         WHERE give > 0`,
      sql`UPDATE lot_moves SET undone = undone + f.points
         FROM (SELECT lot_id, points FROM lot_moves WHERE move_id = ${fillTag}) AS f
         WHERE lot_moves.move_id = ${payers} AND lot_moves.lot_id = f.lot_id`,
      sql`UPDATE point_lots SET remaining = remaining + f.points
         FROM (SELECT lot_id, points FROM lot_moves WHERE move_id = ${fillTag}) AS f WHERE point_lots.id = f.lot_id`,
    ],
    diverted,
    cleanup: sql`DELETE FROM lot_moves WHERE move_id IN (${divTag}, ${fillTag})`,
  };
}

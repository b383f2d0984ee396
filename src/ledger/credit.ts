/**
 * Store credit, the ledger's second asset (minor units). Credit has no lots: it never expires and is never
 * reversed by refunds, so the account columns and the entries are all there is. These are the account
 * updates of LedgerWriter's credit methods; each ends with a guard, so the batch aborts rather than leave
 * credit below zero or past MAX_TOTAL.
 */
import { MAX_TOTAL } from "../platform/assert";
import { GUARD, guardSql } from "../platform/d1/guard";
import { type Sql, sql } from "../platform/d1/sql";

/**
 * `add` credit (a rebate, a goodwill credit), `return` a captured spend (its cancel), or `unhold` (a hold
 * released: held -> spendable).
 */
export type CreditMove = "add" | "return" | "unhold";

/**
 * Account updates that add `amount` to spendable credit; seq moves for the entry that follows. Credit added
 * is activity; credit given back (a hold released, a spend cancelled) is not, as points restored are not, so
 * neither can save points past the inactivity deadline.
 */
export function creditAccountSql(member: Sql, amount: number, move: CreditMove, at: number): Sql[] {
  const held = move === "unhold" ? amount : 0;
  const activity = move === "add" ? sql`, last_activity_at = MAX(COALESCE(last_activity_at, 0), ${at})` : sql``;
  return [
    sql`UPDATE members SET credit = credit + ${amount}, credit_held = credit_held - ${held}, entry_seq = entry_seq + 1,
         updated_at = ${at}${activity}
       WHERE ${member}`,
    guardSql(
      GUARD.totalLimit,
      sql`EXISTS (SELECT 1 FROM members WHERE ${member} AND (credit + credit_held > ${MAX_TOTAL} OR credit_held < 0))`,
    ),
  ];
}

/**
 * Account updates that take `amount` of spendable credit (into `credit_held` for a hold). The update
 * matches only when the credit covers it, inside the transaction; otherwise the guard aborts the batch.
 */
export function creditSpendSql(member: Sql, amount: number, hold: boolean, at: number): Sql[] {
  return [
    sql`UPDATE members SET credit = credit - ${amount}, credit_held = credit_held + ${hold ? amount : 0},
         entry_seq = entry_seq + 1, updated_at = ${at}, last_activity_at = MAX(COALESCE(last_activity_at, 0), ${at})
       WHERE ${member} AND credit >= ${amount}`,
    guardSql(GUARD.insufficientCredit, sql`changes() = 0`),
  ];
}

/**
 * Assertions inside a D1 batch. A batch is one SQL transaction; inserting into `batch_guards` fires a
 * trigger that aborts it with the row's reason as the error message (migrations/0001_sql_extras.sql), so a
 * guard after a conditional update rolls back every write of the batch when the update matched nothing.
 */
import { type Sql, sql } from "./sql";

/** Why a guard aborted a batch; classifyBatchError reads these back from the error message. */
export const GUARD = {
  insufficientPoints: "insufficient_points",
  /** Store credit does not cover a spend (answered as insufficient_points, the API's one code for it). */
  insufficientCredit: "insufficient_credit",
  conflict: "conflict",
  /** A running total would pass MAX_TOTAL. */
  totalLimit: "total_limit",
  ledgerInconsistent: "ledger_inconsistent",
  /** A speculative checkout's snapshot no longer matches (earning/member-snapshot.ts): plan again from a read. */
  stale: "stale",
  /** The API key a request was authenticated with from the isolate's cache was revoked meanwhile. */
  keyRevoked: "key_revoked",
  /** A redemption names an order that was already posted (and earned on what points would pay of it). */
  orderPosted: "order_posted",
} as const;

/**
 * A statement that aborts the whole batch with `reason` when `condition` holds. `reason` may be an SQL
 * expression choosing among reasons; it must evaluate to a lowercase snake_case word (see classifyBatchError).
 *
 * @example guardSql("insufficient_points", sql`changes() = 0`)
 */
export function guardSql(reason: string | Sql, condition: Sql): Sql {
  return sql`INSERT INTO batch_guards (reason) SELECT ${reason} WHERE ${condition}`;
}

/** A check a write makes before it moves anything: the reason it fails with, and when it fails. */
export type GuardCheck = [reason: string, condition: Sql];

/**
 * The first reason whose condition holds, or NULL: the value of a row's guard column (orders.guard), whose
 * trigger aborts the batch with it. A check that way costs no statement of its own.
 *
 * @example guardReasonSql([[GUARD.keyRevoked, revoked], [GUARD.stale, stale]])
 */
export function guardReasonSql(checks: GuardCheck[]): Sql {
  if (checks.length === 0) return sql`NULL`;
  const cases = checks.map(([reason, condition]) => sql`WHEN ${condition} THEN ${reason}`);
  return sql`(CASE ${sql.join(cases, sql` `)} END)`;
}

/**
 * Points over time: releasing pending lots when their return window ends, and expiring lots.
 *
 * Both are set-based: one fixed list of statements handles any number of lots, so a job chunk is one
 * batch (one transaction) whatever its size, and the same statements serve one member inline. The first
 * statement picks the lots (its `scope`) and records them in lot_moves under a run tag; the others work
 * from that record and it is deleted at the end. Everything is decided inside the transaction from the
 * lots' current state, so a repeated or overlapping run finds nothing left to do.
 */
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import { payersTagSql } from "./claims";

/** A SELECT of lot ids. */
export type LotScope = Sql;

/** A member's last activity as posted, or enrolment (columns of `members`); the inactivity clock. */
export const LAST_ACTIVITY_SQL = sql.raw("COALESCE(last_activity_at, enrolled_at)");

const RANDOM_ENTRY_ID = sql.raw(`'le_x' || lower(hex(randomblob(12)))`);

function record(db: D1Database, tag: string, scope: LotScope, condition: Sql): D1PreparedStatement {
  return prepare(
    db,
    sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
       SELECT ${tag}, id, merchant_id, member_id, remaining FROM point_lots WHERE id IN (${scope}) AND ${condition}`,
  );
}

function forget(db: D1Database, tag: string): D1PreparedStatement {
  return prepare(db, sql`DELETE FROM lot_moves WHERE move_id = ${tag}`);
}

/**
 * Makes due pending lots spendable. A member in debt repays it from the released points first.
 * No ledger entry: the earn entry already counted the points (balance + pending == sum of entries).
 * The first statement's `changes` is the number of lots released.
 */
export function releaseStatements(db: D1Database, scope: LotScope, at: number): D1PreparedStatement[] {
  const tag = newId("rel", at);
  return [
    record(db, tag, scope, sql`is_pending = 1`),
    prepare(
      db,
      sql`UPDATE point_lots SET is_pending = 0, remaining = remaining - r.repay
         FROM (
           SELECT lm.lot_id AS id,
             MIN(lm.points, MAX(0, -m.balance - COALESCE(SUM(lm.points) OVER (
               PARTITION BY lm.merchant_id, lm.member_id ORDER BY l.available_at, l.id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS repay
           FROM lot_moves lm
           JOIN point_lots l ON l.id = lm.lot_id
           JOIN members m ON m.merchant_id = lm.merchant_id AND m.id = lm.member_id
           WHERE lm.move_id = ${tag}
         ) AS r
         WHERE point_lots.id = r.id`,
    ),
    // Lots that repaid debt on release paid a refund's shortfall (see claims.ts).
    prepare(
      db,
      sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
         SELECT ${payersTagSql("lm")}, lm.lot_id, lm.merchant_id, lm.member_id, lm.points - l.remaining
         FROM lot_moves lm JOIN point_lots l ON l.id = lm.lot_id WHERE lm.move_id = ${tag} AND lm.points > l.remaining
         ON CONFLICT (move_id, lot_id) DO UPDATE SET points = points + excluded.points`,
    ),
    prepare(
      db,
      sql`UPDATE members SET pending = pending - t.released, balance = balance + t.released, updated_at = ${at},
           next_release_at = (SELECT MIN(available_at) FROM point_lots
                              WHERE merchant_id = members.merchant_id AND member_id = members.id AND is_pending = 1)
         FROM (SELECT merchant_id, member_id, SUM(points) AS released FROM lot_moves WHERE move_id = ${tag} GROUP BY merchant_id, member_id) AS t
         WHERE members.merchant_id = t.merchant_id AND members.id = t.member_id`,
    ),
    forget(db, tag),
  ];
}

/**
 * Expires the unspent remainder of each lot in scope: one `expire` entry per lot for exactly what is left
 * of it, never more. Pending lots expire out of `pending`, spendable ones out of `balance`.
 * The first statement's `changes` is the number of lots expired.
 */
export function expireStatements(db: D1Database, scope: LotScope, at: number, reason = "expired"): D1PreparedStatement[] {
  const tag = newId("exp", at);
  return [
    record(db, tag, scope, sql`remaining > 0`),
    prepare(
      db,
      sql`INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at, lot_id, expires_at, reason)
         SELECT ${RANDOM_ENTRY_ID}, lm.merchant_id, lm.member_id, m.entry_seq + ROW_NUMBER() OVER w, 'expire', -lm.points,
           m.balance - SUM(CASE WHEN l.is_pending = 0 THEN lm.points ELSE 0 END) OVER (w ROWS UNBOUNDED PRECEDING),
           ${at}, lm.lot_id, l.expires_at, ${reason}
         FROM lot_moves lm
         JOIN point_lots l ON l.id = lm.lot_id
         JOIN members m ON m.merchant_id = lm.merchant_id AND m.id = lm.member_id
         WHERE lm.move_id = ${tag}
         WINDOW w AS (PARTITION BY lm.merchant_id, lm.member_id ORDER BY l.expire_key, l.id)`,
    ),
    prepare(
      db,
      sql`UPDATE members SET balance = balance - t.from_balance, pending = pending - t.from_pending, entry_seq = entry_seq + t.n,
           updated_at = ${at}
         FROM (
           SELECT lm.merchant_id, lm.member_id,
             SUM(CASE WHEN l.is_pending = 0 THEN lm.points ELSE 0 END) AS from_balance,
             SUM(CASE WHEN l.is_pending = 1 THEN lm.points ELSE 0 END) AS from_pending,
             COUNT(*) AS n
           FROM lot_moves lm JOIN point_lots l ON l.id = lm.lot_id
           WHERE lm.move_id = ${tag} GROUP BY lm.merchant_id, lm.member_id
         ) AS t
         WHERE members.merchant_id = t.merchant_id AND members.id = t.member_id`,
    ),
    prepare(
      db,
      sql`UPDATE point_lots SET expired = expired + remaining, remaining = 0 WHERE id IN (SELECT lot_id FROM lot_moves WHERE move_id = ${tag})`,
    ),
    forget(db, tag),
  ];
}

/** Scopes for one member (inline settling before a spend, or on read). */
export const memberScopes = {
  duePending: (merchantId: string, memberId: string, at: number): LotScope =>
    sql`SELECT id FROM point_lots WHERE merchant_id = ${merchantId} AND member_id = ${memberId} AND is_pending = 1 AND available_at <= ${at}`,
  dueExpiry: (merchantId: string, memberId: string, at: number): LotScope => {
    const owner = sql`merchant_id = ${merchantId} AND member_id = ${memberId}`;
    return sql`SELECT id FROM point_lots WHERE ${owner} AND remaining > 0 AND is_pending = 0 AND expire_key <= ${at}
          UNION ALL
          SELECT id FROM point_lots WHERE ${owner} AND is_pending = 1 AND remaining > 0 AND expire_key <= ${at}`;
  },
  /** Every lot of a member whose last activity is still `lastActivity` (activity in between wins). */
  inactive: (merchantId: string, memberId: string, lastActivity: number): LotScope => {
    const owner = sql`merchant_id = ${merchantId} AND member_id = ${memberId}`;
    return sql`SELECT id FROM (
            SELECT id FROM point_lots WHERE ${owner} AND remaining > 0 AND is_pending = 0
            UNION ALL
            SELECT id FROM point_lots WHERE ${owner} AND is_pending = 1 AND remaining > 0)
          WHERE EXISTS (SELECT 1 FROM members WHERE merchant_id = ${merchantId} AND id = ${memberId}
                        AND ${LAST_ACTIVITY_SQL} = ${lastActivity})`;
  },
};

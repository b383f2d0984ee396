/**
 * Points over time: releasing pending lots when their return window ends, and expiring lots.
 *
 * Both are set-based: one fixed list of statements handles any number of lots, so a job chunk is one
 * batch (one transaction) whatever its size, and the same statements serve one member inline. The first
 * statement picks the lots (its `scope`) and records them in lot_moves under a run tag; the others work
 * from that record and it is deleted at the end. Everything is decided inside the transaction from the
 * lots' current state, so a repeated or overlapping run finds nothing left to do.
 */
import { newId } from "../platform/ids";

/** A SELECT of lot ids. Its binds are numbered from ?2 (?1 is the run tag). */
export interface LotScope {
  sql: string;
  binds: unknown[];
}

const RANDOM_ENTRY_ID = `'le_x' || lower(hex(randomblob(12)))`;

function record(db: D1Database, tag: string, scope: LotScope, condition: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
       SELECT ?1, id, merchant_id, member_id, remaining FROM point_lots WHERE id IN (${scope.sql}) AND ${condition}`,
    )
    .bind(tag, ...scope.binds);
}

function forget(db: D1Database, tag: string): D1PreparedStatement {
  return db.prepare(`DELETE FROM lot_moves WHERE move_id = ?1`).bind(tag);
}

/**
 * Makes due pending lots spendable. A member in debt repays it from the released points first.
 * No ledger entry: the earn entry already counted the points (balance + pending == sum of entries).
 * The first statement's `changes` is the number of lots released.
 */
export function releaseStatements(db: D1Database, scope: LotScope, at: number): D1PreparedStatement[] {
  const tag = newId("rel", at);
  return [
    record(db, tag, scope, "is_pending = 1"),
    db
      .prepare(
        `UPDATE point_lots SET is_pending = 0, remaining = remaining - r.repay
         FROM (
           SELECT lm.lot_id AS id,
             MIN(lm.points, MAX(0, -m.balance - COALESCE(SUM(lm.points) OVER (
               PARTITION BY lm.merchant_id, lm.member_id ORDER BY l.available_at, l.id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS repay
           FROM lot_moves lm
           JOIN point_lots l ON l.id = lm.lot_id
           JOIN members m ON m.merchant_id = lm.merchant_id AND m.id = lm.member_id
           WHERE lm.move_id = ?1
         ) AS r
         WHERE point_lots.id = r.id`,
      )
      .bind(tag),
    db
      .prepare(
        `UPDATE members SET pending = pending - t.released, balance = balance + t.released, updated_at = ?2,
           next_release_at = (SELECT MIN(available_at) FROM point_lots
                              WHERE merchant_id = members.merchant_id AND member_id = members.id AND is_pending = 1)
         FROM (SELECT merchant_id, member_id, SUM(points) AS released FROM lot_moves WHERE move_id = ?1 GROUP BY merchant_id, member_id) AS t
         WHERE members.merchant_id = t.merchant_id AND members.id = t.member_id`,
      )
      .bind(tag, at),
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
    record(db, tag, scope, "remaining > 0"),
    db
      .prepare(
        `INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at, lot_id, expires_at, reason)
         SELECT ${RANDOM_ENTRY_ID}, lm.merchant_id, lm.member_id, m.entry_seq + ROW_NUMBER() OVER w, 'expire', -lm.points,
           m.balance - SUM(CASE WHEN l.is_pending = 0 THEN lm.points ELSE 0 END) OVER (w ROWS UNBOUNDED PRECEDING),
           ?2, lm.lot_id, l.expires_at, ?3
         FROM lot_moves lm
         JOIN point_lots l ON l.id = lm.lot_id
         JOIN members m ON m.merchant_id = lm.merchant_id AND m.id = lm.member_id
         WHERE lm.move_id = ?1
         WINDOW w AS (PARTITION BY lm.merchant_id, lm.member_id ORDER BY l.expire_key, l.id)`,
      )
      .bind(tag, at, reason),
    db
      .prepare(
        `UPDATE members SET balance = balance - t.from_balance, pending = pending - t.from_pending, entry_seq = entry_seq + t.n,
           updated_at = ?2
         FROM (
           SELECT lm.merchant_id, lm.member_id,
             SUM(CASE WHEN l.is_pending = 0 THEN lm.points ELSE 0 END) AS from_balance,
             SUM(CASE WHEN l.is_pending = 1 THEN lm.points ELSE 0 END) AS from_pending,
             COUNT(*) AS n
           FROM lot_moves lm JOIN point_lots l ON l.id = lm.lot_id
           WHERE lm.move_id = ?1 GROUP BY lm.merchant_id, lm.member_id
         ) AS t
         WHERE members.merchant_id = t.merchant_id AND members.id = t.member_id`,
      )
      .bind(tag, at),
    db
      .prepare(`UPDATE point_lots SET expired = expired + remaining, remaining = 0 WHERE id IN (SELECT lot_id FROM lot_moves WHERE move_id = ?1)`)
      .bind(tag),
    forget(db, tag),
  ];
}

/** Scopes for one member (inline settling before a spend, or on read). */
export const memberScopes = {
  duePending: (merchantId: string, memberId: string, at: number): LotScope => ({
    sql: `SELECT id FROM point_lots WHERE merchant_id = ?2 AND member_id = ?3 AND is_pending = 1 AND available_at <= ?4`,
    binds: [merchantId, memberId, at],
  }),
  dueExpiry: (merchantId: string, memberId: string, at: number): LotScope => ({
    sql: `SELECT id FROM point_lots WHERE merchant_id = ?2 AND member_id = ?3 AND remaining > 0 AND is_pending = 0 AND expire_key <= ?4
          UNION ALL
          SELECT id FROM point_lots WHERE merchant_id = ?2 AND member_id = ?3 AND is_pending = 1 AND remaining > 0 AND expire_key <= ?4`,
    binds: [merchantId, memberId, at],
  }),
  /** Every lot of a member whose last activity is still `lastActivity` (a new order in between wins). */
  inactive: (merchantId: string, memberId: string, lastActivity: number): LotScope => ({
    sql: `SELECT id FROM (
            SELECT id FROM point_lots WHERE merchant_id = ?2 AND member_id = ?3 AND remaining > 0 AND is_pending = 0
            UNION ALL
            SELECT id FROM point_lots WHERE merchant_id = ?2 AND member_id = ?3 AND is_pending = 1 AND remaining > 0)
          WHERE EXISTS (SELECT 1 FROM members WHERE merchant_id = ?2 AND id = ?3 AND COALESCE(last_order_at, enrolled_at) = ?4)`,
    binds: [merchantId, memberId, lastActivity],
  }),
};

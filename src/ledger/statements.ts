/**
 * The only code that writes points balances. Each method appends statements to one D1 batch (one SQL
 * transaction): the lot changes, the account row and an immutable ledger entry move together or not at all.
 *
 * Everything that depends on the current account state (debt to repay, lots to consume, balance after)
 * is computed by SQL inside that transaction, never from a snapshot read earlier, so concurrent requests
 * cannot overdraw or double-spend. Overdraw is refused by a conditional update plus a batch guard.
 *
 * Invariants (checked by the property tests):
 * - sum(entry points) == balance + pending for every member;
 * - balance >= 0  =>  balance == sum(remaining of spendable lots); balance < 0 only after refund reversals,
 *   and then every spendable lot is empty;
 * - pending == sum(remaining of pending lots); held == points of open holds.
 */
import { guard } from "../platform/db";
import { expireStatements, memberScopes, releaseStatements } from "./lifecycle";

/** Far-future expire key for lots that never expire, so one index orders every lot. */
export const NEVER_EXPIRES_KEY = 8_640_000_000_000_000;

export type EntryType =
  | "earn"
  | "redeem"
  | "refund_reversal"
  | "redemption_return"
  | "expire"
  | "adjust"
  | "rebate"
  | "bonus"
  | "hold"
  | "release";

export interface EntryRefs {
  orderId?: string | null;
  ruleId?: string | null;
  redemptionId?: string | null;
  refundId?: string | null;
  availableAt?: number | null;
  expiresAt?: number | null;
  reason?: string | null;
  lotId?: string | null;
}

export interface CreditInput {
  entryId: string;
  type: "earn" | "adjust" | "bonus" | "rebate";
  points: number;
  /** Pending lots are not spendable until released (return window). */
  pending: boolean;
  availableAt: number;
  expiresAt: number | null;
  /** Counts toward lifetimeEarned (earning, bonuses, rebates; not goodwill adjustments). */
  countsAsEarned: boolean;
  refs?: EntryRefs;
  /** Set for orders: bumps order_count and last_order_at in the same update. */
  orderAt?: number;
}

export interface SpendInput {
  entryId: string;
  type: "redeem" | "hold" | "adjust";
  points: number;
  /** Identifies the lot moves, so a cancel can put exactly these points back. */
  moveId: string;
  refs?: EntryRefs;
}

export interface ReverseInput {
  entryId: string;
  points: number;
  orderId: string;
  /** The order's own lot: reversals take from it first, pending or not. */
  ownLotId: string | null;
  refundId: string;
}

export interface RestoreInput {
  entryId: string;
  type: "release" | "redemption_return";
  points: number;
  moveId: string;
  /** The points were held (not yet captured). */
  fromHeld: boolean;
  refs?: EntryRefs;
}

/** What is due for the member before an operation, as known from the rows read beforehand. */
export interface SettleInput {
  /** A pending lot's window has ended (members.next_release_at <= now). */
  releaseDue: boolean;
  /** Expire lots past their date first (needed before spending; not before a credit). */
  expireDue: boolean;
  /** Set when the inactivity deadline passed: expire everything, unless the member was active since. */
  inactiveSince?: number;
}

export class LedgerWriter {
  readonly statements: D1PreparedStatement[] = [];

  constructor(
    private readonly db: D1Database,
    readonly merchantId: string,
    readonly memberId: string,
    readonly at: number,
  ) {}

  /**
   * Brings the member's lots up to date before a spend or reversal: releases pending lots whose window
   * ended and expires lots past their date (or all of them after the inactivity deadline), so nothing
   * expired is ever spent and nothing due stays locked.
   */
  settle(input: SettleInput): this {
    const { merchantId, memberId, at } = this;
    if (input.releaseDue) this.statements.push(...releaseStatements(this.db, memberScopes.duePending(merchantId, memberId, at), at));
    if (input.expireDue) this.statements.push(...expireStatements(this.db, memberScopes.dueExpiry(merchantId, memberId, at), at));
    if (input.inactiveSince !== undefined)
      this.statements.push(
        ...expireStatements(this.db, memberScopes.inactive(merchantId, memberId, input.inactiveSince), at, "inactivity"),
      );
    return this;
  }

  /** Adds points as a new lot; a negative balance (debt) is repaid first. */
  credit(input: CreditInput): this {
    const { entryId, points } = input;
    const pending = input.pending ? 1 : 0;
    this.push(
      `INSERT INTO point_lots (id, merchant_id, member_id, entry_id, order_id, points, remaining, is_pending,
         created_at, available_at, expires_at, expire_key)
       SELECT ?1, ?2, ?3, ?1, ?4, ?5, CASE WHEN ?6 = 1 THEN ?5 ELSE ?5 - MIN(?5, MAX(0, -m.balance)) END, ?6,
         ?7, ?8, ?9, ?10
       FROM members m WHERE m.merchant_id = ?2 AND m.id = ?3`,
      entryId,
      this.merchantId,
      this.memberId,
      input.refs?.orderId ?? null,
      points,
      pending,
      this.at,
      input.availableAt,
      input.expiresAt,
      input.expiresAt ?? NEVER_EXPIRES_KEY,
    );
    const orderSet =
      input.orderAt === undefined
        ? ""
        : `, order_count = order_count + 1, last_order_at = MAX(COALESCE(last_order_at, 0), ${Number(input.orderAt)})`;
    const releaseSet = pending ? `, next_release_at = MIN(COALESCE(next_release_at, ?7), ?7)` : "";
    this.push(
      `UPDATE members SET balance = balance + ?1, pending = pending + ?2, lifetime_earned = lifetime_earned + ?3,
         entry_seq = entry_seq + 1, updated_at = ?4${orderSet}${releaseSet}
       WHERE merchant_id = ?5 AND id = ?6`,
      pending ? 0 : points,
      pending ? points : 0,
      input.countsAsEarned ? points : 0,
      this.at,
      this.merchantId,
      this.memberId,
      ...(pending ? [input.availableAt] : []),
    );
    return this.entry(entryId, input.type, points, {
      ...input.refs,
      lotId: entryId,
      availableAt: input.availableAt,
      expiresAt: input.expiresAt,
    });
  }

  /** An order that earned nothing still counts as activity (order count, last order time). */
  touchOrder(orderAt: number): this {
    this.push(
      `UPDATE members SET order_count = order_count + 1, last_order_at = MAX(COALESCE(last_order_at, 0), ?1), updated_at = ?2
       WHERE merchant_id = ?3 AND id = ?4`,
      orderAt,
      this.at,
      this.merchantId,
      this.memberId,
    );
    return this;
  }

  /** Takes spendable points, soonest-expiring lots first. Refuses (insufficient_points) rather than overdraw. */
  spend(input: SpendInput): this {
    const { points } = input;
    this.push(
      `UPDATE members SET balance = balance - ?1, held = held + ?2, lifetime_redeemed = lifetime_redeemed + ?3,
         entry_seq = entry_seq + 1, updated_at = ?4
       WHERE merchant_id = ?5 AND id = ?6 AND balance >= ?1`,
      points,
      input.type === "hold" ? points : 0,
      input.type === "redeem" ? points : 0,
      this.at,
      this.merchantId,
      this.memberId,
    );
    this.statements.push(guard(this.db, "insufficient_points", "changes() = 0"));
    this.walkLots(input.moveId, "?5", null, points);
    this.applyMoves(input.moveId, -1);
    this.statements.push(
      guard(
        this.db,
        "ledger_inconsistent",
        "(SELECT COALESCE(SUM(points), 0) FROM lot_moves WHERE move_id = ?1) <> ?2",
        input.moveId,
        points,
      ),
    );
    return this.entry(input.entryId, input.type, -points, input.refs ?? {});
  }

  /**
   * Takes back points of a refunded order: from the order's own lot first (pending or not), then other
   * spendable lots; whatever is left becomes debt (negative balance) that later credits repay.
   */
  reverse(input: ReverseInput): this {
    const moveId = input.entryId;
    if (input.ownLotId) {
      this.push(
        `INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
         SELECT ?1, id, merchant_id, member_id, MIN(remaining, ?2) FROM point_lots
         WHERE id = ?3 AND merchant_id = ?4 AND member_id = ?5 AND remaining > 0`,
        moveId,
        input.points,
        input.ownLotId,
        this.merchantId,
        this.memberId,
      );
    }
    this.walkLots(moveId, "?5 - (SELECT COALESCE(SUM(points), 0) FROM lot_moves WHERE move_id = ?3)", input.ownLotId, input.points);
    const fromPending = `(SELECT COALESCE(SUM(lm.points), 0) FROM lot_moves lm JOIN point_lots l ON l.id = lm.lot_id
      WHERE lm.move_id = ?1 AND l.is_pending = 1)`;
    // The account update reads the moves before they are applied to the lots, so `is_pending` is still
    // the state the moves were taken from.
    this.push(
      `UPDATE members SET pending = pending - ${fromPending}, balance = balance - (?2 - ${fromPending}),
         lifetime_earned = lifetime_earned - ?2, entry_seq = entry_seq + 1, updated_at = ?3
       WHERE merchant_id = ?4 AND id = ?5`,
      moveId,
      input.points,
      this.at,
      this.merchantId,
      this.memberId,
    );
    this.applyMoves(moveId, -1);
    return this.entry(input.entryId, "refund_reversal", -input.points, {
      orderId: input.orderId,
      refundId: input.refundId,
    });
  }

  /** Puts back the points of an earlier spend (hold release, cancel of a captured redemption). */
  restore(input: RestoreInput): this {
    const repayMove = `${input.entryId}:repay`;
    this.applyMoves(input.moveId, 1);
    // A member in debt (after a refund reversal) repays it from the returned points first.
    this.walkLots(
      repayMove,
      "MIN(?5, MAX(0, -(SELECT balance FROM members WHERE merchant_id = ?1 AND id = ?2)))",
      null,
      input.points,
    );
    this.applyMoves(repayMove, -1);
    this.push(
      `UPDATE members SET balance = balance + ?1, held = held - ?2, lifetime_redeemed = lifetime_redeemed - ?3,
         entry_seq = entry_seq + 1, updated_at = ?4
       WHERE merchant_id = ?5 AND id = ?6`,
      input.points,
      input.fromHeld ? input.points : 0,
      input.fromHeld ? 0 : input.points,
      this.at,
      this.merchantId,
      this.memberId,
    );
    return this.entry(input.entryId, input.type, input.points, input.refs ?? {});
  }

  /** Turns held points into a redemption: a `release` and a `redeem` entry that net to zero. */
  capture(releaseEntryId: string, redeemEntryId: string, points: number, refs: EntryRefs): this {
    this.push(
      `UPDATE members SET held = held - ?1, lifetime_redeemed = lifetime_redeemed + ?1, entry_seq = entry_seq + 1,
         updated_at = ?2 WHERE merchant_id = ?3 AND id = ?4`,
      points,
      this.at,
      this.merchantId,
      this.memberId,
    );
    this.bumpSeq();
    // The balance is untouched: release (+points) then redeem (-points), each with its own seq.
    this.push(
      `INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at,
         order_id, rule_id, redemption_id, refund_id, available_at, expires_at, reason)
       SELECT ?1, m.merchant_id, m.id, m.entry_seq - 1, 'release', ?2, m.balance + ?2, ?3, ?4, NULL, ?5, NULL, NULL, NULL, ?6
       FROM members m WHERE m.merchant_id = ?7 AND m.id = ?8`,
      releaseEntryId,
      points,
      this.at,
      refs.orderId ?? null,
      refs.redemptionId ?? null,
      "hold captured",
      this.merchantId,
      this.memberId,
    );
    return this.entry(redeemEntryId, "redeem", -points, refs);
  }

  private bumpSeq(): void {
    this.push(
      `UPDATE members SET entry_seq = entry_seq + 1 WHERE merchant_id = ?1 AND id = ?2`,
      this.merchantId,
      this.memberId,
    );
  }

  /** Records lot moves under `moveId`, walking spendable lots soonest-expiring first until `need` is met. */
  private walkLots(moveId: string, needSql: string, excludeLotId: string | null, points: number): void {
    // One index seek per lot taken: the cost follows the lots consumed, not the size of the history.
    this.push(
      `WITH RECURSIVE
         need(n) AS (SELECT ${needSql}),
         walk(id, expire_key, take, rest) AS (
           SELECT l.id, l.expire_key, MIN(l.remaining, need.n), need.n - MIN(l.remaining, need.n)
           FROM need, (SELECT id, expire_key, remaining FROM point_lots
                       WHERE merchant_id = ?1 AND member_id = ?2 AND remaining > 0 AND is_pending = 0 AND id IS NOT ?4
                       ORDER BY expire_key, id LIMIT 1) AS l
           WHERE need.n > 0
           UNION ALL
           SELECT l.id, l.expire_key, MIN(l.remaining, w.rest), w.rest - MIN(l.remaining, w.rest)
           FROM walk w JOIN point_lots l ON l.id = (
             SELECT id FROM point_lots
             WHERE merchant_id = ?1 AND member_id = ?2 AND remaining > 0 AND is_pending = 0 AND id IS NOT ?4
               AND (expire_key, id) > (w.expire_key, w.id)
             ORDER BY expire_key, id LIMIT 1)
           WHERE w.rest > 0
         )
       INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
       SELECT ?3, id, ?1, ?2, take FROM walk WHERE take > 0`,
      this.merchantId,
      this.memberId,
      moveId,
      excludeLotId,
      points,
    );
  }

  /** Applies the moves recorded under `moveId` to the lots: sign -1 takes, +1 puts back. */
  private applyMoves(moveId: string, sign: 1 | -1): void {
    this.push(
      `UPDATE point_lots SET remaining = remaining + ?2 * (
         SELECT lm.points FROM lot_moves lm WHERE lm.move_id = ?1 AND lm.lot_id = point_lots.id)
       WHERE id IN (SELECT lot_id FROM lot_moves WHERE move_id = ?1)`,
      moveId,
      sign,
    );
  }

  /** Appends the immutable entry; seq and balanceAfter come from the account row just updated. */
  private entry(entryId: string, type: EntryType, points: number, refs: EntryRefs): this {
    this.push(
      `INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at,
         order_id, rule_id, redemption_id, refund_id, available_at, expires_at, reason, lot_id)
       SELECT ?1, m.merchant_id, m.id, m.entry_seq, ?2, ?3, m.balance, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?14
       FROM members m WHERE m.merchant_id = ?12 AND m.id = ?13`,
      entryId,
      type,
      points,
      this.at,
      refs.orderId ?? null,
      refs.ruleId ?? null,
      refs.redemptionId ?? null,
      refs.refundId ?? null,
      refs.availableAt ?? null,
      refs.expiresAt ?? null,
      refs.reason ?? null,
      this.merchantId,
      this.memberId,
      refs.lotId ?? null,
    );
    return this;
  }

  private push(sql: string, ...binds: unknown[]): void {
    this.statements.push(this.db.prepare(sql).bind(...binds));
  }
}

/**
 * The only code that writes points balances. Each method appends statements to one D1 batch (one SQL
 * transaction): the lot changes, the account row and an immutable ledger entry move together or not at all.
 *
 * Everything that depends on the current account state (debt to repay, lots to consume, balance after,
 * what a refund may still take back) is computed by SQL inside that transaction, never from a snapshot
 * read earlier, so concurrent requests cannot overdraw or double-spend. Overdraw is refused by a
 * conditional update plus a batch guard; so is any running total that would leave the exact-integer range
 * (points and lifetime earned by a trigger on the member row, the others by guards).
 *
 * Invariants (checked by the property tests):
 * - sum(entry points) == balance + pending for every member;
 * - balance >= 0  =>  balance == sum(remaining of spendable lots); balance < 0 only after refund reversals,
 *   and then every spendable lot is empty;
 * - pending == sum(remaining of pending lots); held == points of open holds;
 * - balance + pending + held, lifetimeEarned and lifetimeRedeemed + held never exceed MAX_TOTAL (points on hold
 *   come back, so releasing them must always be possible);
 * - store credit is a second asset with entries of its own (`asset` = credit): sum(credit entries) == credit,
 *   credit >= 0 always (it is never overdrawn, not even by refunds), creditHeld == credit of open holds,
 *   credit + creditHeld never exceeds MAX_TOTAL.
 */
import { assert, assertQuantity, MAX_TOTAL } from "../platform/assert";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import { forgetMemberState } from "../platform/member-state";
import { payersTag, recordPayers, recordShortfall, settleClaims } from "./claims";
import { type CreditMove, creditAccountSql, creditSpendSql } from "./credit";
import { expireStatements, LAST_ACTIVITY_SQL, memberScopes, releaseStatements } from "./lifecycle";

/** Far-future expire key for lots that never expire, so one index orders every lot. */
export const NEVER_EXPIRES_KEY = 8_640_000_000_000_000;

export { ASSETS, type Asset, ENTRY_TYPES, type EntryType } from "../db/enums";

import type { Asset, EntryType } from "../db/enums";

export interface EntryRefs {
  orderId?: string | null;
  ruleId?: string | null;
  ruleVersion?: number | null;
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
  /** Further `column = value` assignments to the member row made by the same update (an order's tier metric). */
  memberSet?: Sql;
  /**
   * The batch has already found the member owing nothing (balance >= 0), and nothing before this credit
   * takes the balance below zero: the lot repays no debt, so no payer record is written.
   */
  debtFree?: boolean;
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
  /**
   * Points to take back: a number, or a scalar SQL expression evaluated inside the batch (a refund decides
   * what is left to take only after settling, from the lot's state at that moment). Zero writes no entry.
   */
  points: number | Sql;
  orderId: string;
  /** The order's own lot: reversals take from it first, pending or not. */
  ownLotId: string | null;
  refundId: string;
  /** Why, when the entry is not the plain reversal of the order's own points (e.g. a referral clawed back). */
  reason?: string;
}

export interface RestoreInput {
  entryId: string;
  type: "release" | "redemption_return";
  points: number;
  moveId: string;
  /** The points were held (not yet captured). */
  fromHeld: boolean;
  refs?: EntryRefs;
  /**
   * The member's last activity, read as past the inactivity deadline (the batch then expires every lot after
   * the return): unless the member was active since, the points come back to their lots to expire there, and
   * repay no debt.
   */
  inactiveSince?: number;
}

/** A hold past its time, as read before the write. */
export interface DueHold {
  id: string;
  /** Points, or credit in minor units when `asset` is credit. */
  points: number;
  orderId: string | null;
  /** Absent on points holds. */
  asset?: Asset;
}

/** A change of store credit (minor units): a rebate, a hold, a capture, a cancel. See ledger/credit.ts. */
export interface CreditAssetInput {
  entryId: string;
  amount: number;
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
  /** Holds past their time: released first (a concurrent capture or cancel aborts the batch as a conflict). */
  dueHolds?: readonly DueHold[];
}

const alsoSet = (set: Sql | undefined): Sql => (set ? sql`, ${set}` : sql``);

export class LedgerWriter {
  readonly statements: D1PreparedStatement[] = [];
  /** The member's rows in tables keyed by (merchant_id, member_id). */
  private readonly owner: Sql;
  /** The member's account row. */
  private readonly member: Sql;
  /** The account row aliased `m`. */
  private readonly memberRow: Sql;
  /** Last activity as posted: never moved back by a concurrent request with an older clock. */
  private readonly activity: Sql;
  /** Where the member's lots that paid refund shortfalls are recorded (see claims.ts). */
  private readonly payers: string;

  constructor(
    private readonly db: D1Database,
    readonly merchantId: string,
    readonly memberId: string,
    readonly at: number,
  ) {
    assert(merchantId.length > 0 && memberId.length > 0, "ledger writes need a merchant and a member");
    assert(Number.isSafeInteger(at) && at > 0, "ledger writes need a clock instant");
    forgetMemberState(merchantId, memberId);
    this.owner = sql`merchant_id = ${merchantId} AND member_id = ${memberId}`;
    this.member = sql`merchant_id = ${merchantId} AND id = ${memberId}`;
    this.memberRow = sql`m.merchant_id = ${merchantId} AND m.id = ${memberId}`;
    this.activity = sql`last_activity_at = MAX(COALESCE(last_activity_at, 0), ${at})`;
    this.payers = payersTag(merchantId, memberId);
  }

  /**
   * Brings the member's lots up to date before a spend or reversal: releases holds past their time and
   * pending lots whose window ended, and expires lots past their date (or all of them after the
   * inactivity deadline), so nothing expired is ever spent and nothing due stays locked.
   */
  settle(input: SettleInput): this {
    const { db, merchantId, memberId, at } = this;
    for (const hold of input.dueHolds ?? []) this.releaseDueHold(hold, input.inactiveSince);
    if (input.releaseDue) this.statements.push(...releaseStatements(db, memberScopes.duePending(merchantId, memberId, at), at));
    // Points a released hold put back into lots past their date expire at once: they were due to.
    if (input.expireDue || (input.dueHolds?.length ?? 0) > 0)
      this.statements.push(...expireStatements(db, memberScopes.dueExpiry(merchantId, memberId, at), at));
    if (input.inactiveSince !== undefined)
      this.statements.push(
        ...expireStatements(db, memberScopes.inactive(merchantId, memberId, input.inactiveSince), at, "inactivity"),
      );
    return this;
  }

  /** Adds points as a new lot; a negative balance (debt) is repaid first. */
  credit(input: CreditInput): this {
    const { entryId, points, availableAt, expiresAt } = input;
    assertQuantity(points, "credited points");
    assert(points > 0, "a credit adds points");
    const pending = input.pending ? 1 : 0;
    this.push(sql`INSERT INTO point_lots (id, merchant_id, member_id, entry_id, order_id, points, remaining, is_pending,
         created_at, available_at, expires_at, expire_key)
       SELECT ${entryId}, m.merchant_id, m.id, ${entryId}, ${input.refs?.orderId ?? null}, ${points},
         ${pending ? sql`${points}` : sql`${points} - MIN(${points}, MAX(0, -m.balance))`}, ${pending},
         ${this.at}, ${availableAt}, ${expiresAt}, ${expiresAt ?? NEVER_EXPIRES_KEY}
       FROM members m WHERE ${this.memberRow}`);
    const orderSet =
      input.orderAt === undefined
        ? sql``
        : sql`, order_count = order_count + 1, last_order_at = MAX(COALESCE(last_order_at, 0), ${input.orderAt})`;
    const releaseSet = pending ? sql`, next_release_at = MIN(COALESCE(next_release_at, ${availableAt}), ${availableAt})` : sql``;
    const earned = input.countsAsEarned ? points : 0;
    this.push(sql`UPDATE members SET balance = balance + ${pending ? 0 : points}, pending = pending + ${pending ? points : 0},
         lifetime_earned = lifetime_earned + ${earned}, entry_seq = entry_seq + 1, updated_at = ${this.at},
         ${this.activity}${orderSet}${releaseSet}${alsoSet(input.memberSet)}
       WHERE ${this.member}`);
    // Past MAX_TOTAL, the update itself aborts the batch (total_limit): a trigger checks the row
    // (migrations/0017_held_total_limit.sql).
    // A lot that repaid debt paid a refund's shortfall: it is owed those points if they come back. A pending
    // lot repays nothing when it is made (its release does), so it needs no statement.
    if (!pending && !input.debtFree)
      this.push(sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
         SELECT ${this.payers}, id, merchant_id, member_id, points - remaining FROM point_lots
         WHERE id = ${entryId} AND points > remaining`);
    return this.entry(entryId, input.type, points, { ...input.refs, lotId: entryId, availableAt, expiresAt });
  }

  /** An order that earned nothing still counts as activity (order count, last order time). */
  touchOrder(orderAt: number, memberSet?: Sql): this {
    this.push(sql`UPDATE members SET order_count = order_count + 1, last_order_at = MAX(COALESCE(last_order_at, 0), ${orderAt}),
         ${this.activity}, updated_at = ${this.at}${alsoSet(memberSet)}
       WHERE ${this.member}`);
    return this;
  }

  /** Takes spendable points, soonest-expiring first. Refuses (insufficient_points) rather than overdraw. */
  spend(input: SpendInput): this {
    const { points } = input;
    assertQuantity(points, "spent points");
    assert(points > 0, "a spend takes points");
    const held = input.type === "hold" ? points : 0;
    const redeemed = input.type === "redeem" ? points : 0;
    // lifetime_redeemed + held bounds what captures can later add to lifetime_redeemed.
    this.push(sql`UPDATE members SET balance = balance - ${points}, held = held + ${held},
         lifetime_redeemed = lifetime_redeemed + ${redeemed}, entry_seq = entry_seq + 1, updated_at = ${this.at},
         ${this.activity}
       WHERE ${this.member} AND balance >= ${points}`);
    this.push(
      guardSql(
        sql`CASE WHEN changes() = 0 THEN ${GUARD.insufficientPoints} ELSE ${GUARD.totalLimit} END`,
        sql`changes() = 0 OR EXISTS (SELECT 1 FROM members WHERE ${this.member} AND lifetime_redeemed + held > ${MAX_TOTAL})`,
      ),
    );
    this.walkLots(input.moveId, sql`${points}`, null);
    this.applyMoves(input.moveId, -1);
    this.push(
      guardSql(
        GUARD.ledgerInconsistent,
        sql`(SELECT COALESCE(SUM(points), 0) FROM lot_moves WHERE move_id = ${input.moveId}) <> ${points}`,
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
    const amount = typeof input.points === "number" ? sql`${input.points}` : sql`(${input.points})`;
    if (typeof input.points === "number") assertQuantity(input.points, "reversed points");
    if (input.ownLotId) {
      this.push(sql`INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
         SELECT ${moveId}, id, merchant_id, member_id, MIN(remaining, ${amount}) FROM point_lots
         WHERE id = ${input.ownLotId} AND ${this.owner} AND remaining > 0 AND ${amount} > 0`);
    }
    const taken = sql`(SELECT COALESCE(SUM(points), 0) FROM lot_moves WHERE move_id = ${moveId})`;
    this.walkLots(moveId, sql`${amount} - ${taken}`, input.ownLotId);
    const fromPending = sql`(SELECT COALESCE(SUM(lm.points), 0) FROM lot_moves lm JOIN point_lots l ON l.id = lm.lot_id
      WHERE lm.move_id = ${moveId} AND l.is_pending = 1)`;
    // The account update reads the moves before they are applied to the lots, so `is_pending` is still
    // the state the moves were taken from.
    this.push(sql`UPDATE members SET pending = pending - ${fromPending}, balance = balance - (${amount} - ${fromPending}),
         lifetime_earned = lifetime_earned - ${amount}, entry_seq = entry_seq + 1, updated_at = ${this.at}
       WHERE ${this.member} AND ${amount} > 0`);
    this.applyMoves(moveId, -1);
    if (input.ownLotId) {
      // The own lot owes what the reversal had to take elsewhere; the lots it drained are its payers.
      for (const statement of recordShortfall(moveId, input.ownLotId, amount, this.payers)) this.push(statement);
      this.push(recordPayers(this.payers, moveId, input.ownLotId));
    }
    return this.entry(
      input.entryId,
      "refund_reversal",
      sql`-${amount}`,
      { orderId: input.orderId, refundId: input.refundId, reason: input.reason ?? null },
      sql`${amount} > 0`,
    );
  }

  /** Puts back the points of an earlier spend (hold release, cancel of a captured redemption). */
  restore(input: RestoreInput): this {
    assertQuantity(input.points, "restored points");
    const repayMove = `${input.entryId}:repay`;
    const debt = sql`MAX(0, -(SELECT balance FROM members WHERE ${this.member}))`;
    this.applyMoves(input.moveId, 1);
    // Points back in a lot whose order was refunded meanwhile settle that refund's shortfall first.
    const claims = settleClaims(input.moveId, `${input.entryId}:claims`, this.payers, debt);
    for (const statement of claims.settle) this.push(statement);
    // A member still in debt repays it from the rest of the returned points: only from lots still alive (points
    // back in a lot past its date expire below instead), and not at all past the inactivity deadline, checked
    // on the row as the inactivity expiry does (activity since the read wins).
    const owed = sql`MIN(${input.points} - ${claims.diverted}, MAX(0, ${debt} - ${claims.diverted}))`;
    const repay =
      input.inactiveSince === undefined
        ? owed
        : sql`CASE WHEN (SELECT ${LAST_ACTIVITY_SQL} FROM members WHERE ${this.member}) = ${input.inactiveSince} THEN 0 ELSE ${owed} END`;
    this.walkLots(repayMove, repay, null, this.at);
    this.applyMoves(repayMove, -1);
    this.push(recordPayers(this.payers, repayMove, null));
    this.push(claims.cleanup);
    this.push(sql`UPDATE members SET balance = balance + ${input.points}, held = held - ${input.fromHeld ? input.points : 0},
         lifetime_redeemed = lifetime_redeemed - ${input.fromHeld ? 0 : input.points}, entry_seq = entry_seq + 1,
         updated_at = ${this.at}
       WHERE ${this.member}`);
    return this.entry(input.entryId, input.type, input.points, input.refs ?? {});
  }

  /** Turns held points into a redemption: a `release` and a `redeem` entry that net to zero. */
  capture(releaseEntryId: string, redeemEntryId: string, points: number, refs: EntryRefs): this {
    assertQuantity(points, "captured points");
    this.push(sql`UPDATE members SET held = held - ${points}, lifetime_redeemed = lifetime_redeemed + ${points},
         entry_seq = entry_seq + 2, updated_at = ${this.at}
       WHERE ${this.member}`);
    // The balance is untouched: release (+points) then redeem (-points), each with its own seq.
    this.push(sql`INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at,
         order_id, redemption_id, reason)
       SELECT ${releaseEntryId}, m.merchant_id, m.id, m.entry_seq - 1, 'release', ${points}, m.balance + ${points}, ${this.at},
         ${refs.orderId ?? null}, ${refs.redemptionId ?? null}, 'hold captured'
       FROM members m WHERE ${this.memberRow}`);
    return this.entry(redeemEntryId, "redeem", -points, refs);
  }

  /** Adds store credit (a rebate paid as credit, a goodwill credit). Never takes credit past MAX_TOTAL. */
  addCredit(input: CreditAssetInput & { type: "rebate" | "adjust" }): this {
    return this.moveCredit(input, "add", input.type);
  }

  /**
   * Spends store credit, at once (`redeem`) or as a hold. Refused (insufficient credit, 409) rather than
   * overdrawn: the conditional update and its guard run inside the batch.
   */
  spendCredit(input: CreditAssetInput & { type: "redeem" | "hold" }): this {
    assertQuantity(input.amount, "spent credit");
    assert(input.amount > 0, "a spend takes credit");
    for (const statement of creditSpendSql(this.member, input.amount, input.type === "hold", this.at)) this.push(statement);
    return this.entry(input.entryId, input.type, -input.amount, input.refs ?? {}, sql`1`, "credit");
  }

  /** Puts back credit of an earlier spend: a held one as `release`, a captured one as `redemption_return`. */
  restoreCredit(input: CreditAssetInput & { type: "release" | "redemption_return" }): this {
    return this.moveCredit(input, input.type === "release" ? "unhold" : "return", input.type);
  }

  /** Turns held credit into a redemption: a `release` and a `redeem` credit entry that net to zero. */
  captureCredit(releaseEntryId: string, redeemEntryId: string, amount: number, refs: EntryRefs): this {
    this.moveCredit({ entryId: releaseEntryId, amount, refs: { ...refs, reason: "hold captured" } }, "unhold", "release");
    for (const statement of creditSpendSql(this.member, amount, false, this.at)) this.push(statement);
    return this.entry(redeemEntryId, "redeem", -amount, refs, sql`1`, "credit");
  }

  private moveCredit(input: CreditAssetInput, move: CreditMove, type: EntryType): this {
    assertQuantity(input.amount, "credit");
    assert(input.amount > 0, "a credit move adds credit");
    for (const statement of creditAccountSql(this.member, input.amount, move, this.at)) this.push(statement);
    return this.entry(input.entryId, type, input.amount, input.refs ?? {}, sql`1`, "credit");
  }

  /** Releases a hold past its time, exactly once: the status compare-and-set aborts the batch if it moved. */
  private releaseDueHold(hold: DueHold, inactiveSince: number | undefined): void {
    this.push(sql`UPDATE redemptions SET status = 'released', updated_at = ${this.at}
       WHERE merchant_id = ${this.merchantId} AND id = ${hold.id} AND status = 'held' AND hold_expires_at <= ${this.at}`);
    this.push(guardSql(GUARD.conflict, sql`changes() = 0`));
    const refs = { redemptionId: hold.id, orderId: hold.orderId, reason: "hold expired" };
    if (hold.asset === "credit") {
      this.restoreCredit({ entryId: newId("le", this.at), type: "release", amount: hold.points, refs });
      return;
    }
    this.restore({
      entryId: newId("le", this.at),
      type: "release",
      points: hold.points,
      moveId: hold.id,
      fromHeld: true,
      refs: { redemptionId: hold.id, orderId: hold.orderId, reason: "hold expired" },
      inactiveSince,
    });
  }

  /**
   * Records lot moves under `moveId`, walking spendable lots soonest-expiring first until `need` is met;
   * with `aliveAt`, only lots not yet past their date at that instant.
   */
  private walkLots(moveId: string, need: Sql, excludeLotId: string | null, aliveAt?: number): void {
    const alive = aliveAt === undefined ? sql`` : sql` AND expire_key > ${aliveAt}`;
    const open = sql`${this.owner} AND remaining > 0 AND is_pending = 0 AND id IS NOT ${excludeLotId}${alive}`;
    // One index seek per lot taken: the cost follows the lots consumed, not the size of the history.
    this.push(sql`WITH RECURSIVE
         need(n) AS (SELECT ${need}),
         walk(id, expire_key, take, rest) AS (
           SELECT l.id, l.expire_key, MIN(l.remaining, need.n), need.n - MIN(l.remaining, need.n)
           FROM need, (SELECT id, expire_key, remaining FROM point_lots WHERE ${open} ORDER BY expire_key, id LIMIT 1) AS l
           WHERE need.n > 0
           UNION ALL
           SELECT l.id, l.expire_key, MIN(l.remaining, w.rest), w.rest - MIN(l.remaining, w.rest)
           FROM walk w JOIN point_lots l ON l.id = (
             SELECT id FROM point_lots WHERE ${open} AND (expire_key, id) > (w.expire_key, w.id)
             ORDER BY expire_key, id LIMIT 1)
           WHERE w.rest > 0
         )
       INSERT INTO lot_moves (move_id, lot_id, merchant_id, member_id, points)
       SELECT ${moveId}, id, ${this.merchantId}, ${this.memberId}, take FROM walk WHERE take > 0`);
  }

  /** Applies the moves recorded under `moveId` to the lots: sign -1 takes, +1 puts back. */
  private applyMoves(moveId: string, sign: 1 | -1): void {
    this.push(sql`UPDATE point_lots SET remaining = remaining + ${sign} * (
         SELECT lm.points FROM lot_moves lm WHERE lm.move_id = ${moveId} AND lm.lot_id = point_lots.id)
       WHERE id IN (SELECT lot_id FROM lot_moves WHERE move_id = ${moveId})`);
  }

  /**
   * Appends the immutable entry; seq and balanceAfter come from the account row just updated. Credit
   * entries carry their asset and the credit after them; points entries keep the column default.
   */
  private entry(
    entryId: string,
    type: EntryType,
    points: number | Sql,
    refs: EntryRefs,
    when: Sql = sql`1`,
    asset: Asset = "points",
  ): this {
    const isCredit = asset === "credit";
    this.push(sql`INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at,
         order_id, rule_id, rule_version, redemption_id, refund_id, available_at, expires_at, reason, lot_id${sql.raw(isCredit ? ", asset" : "")})
       SELECT ${entryId}, m.merchant_id, m.id, m.entry_seq, ${type}, ${points}, ${sql.raw(isCredit ? "m.credit" : "m.balance")}, ${this.at},
         ${refs.orderId ?? null}, ${refs.ruleId ?? null}, ${refs.ruleVersion ?? null}, ${refs.redemptionId ?? null}, ${refs.refundId ?? null},
         ${refs.availableAt ?? null}, ${refs.expiresAt ?? null}, ${refs.reason ?? null}, ${refs.lotId ?? null}${isCredit ? sql`, 'credit'` : sql``}
       FROM members m WHERE ${this.memberRow} AND ${when}`);
    return this;
  }

  private push(query: Sql): void {
    this.statements.push(prepare(this.db, query));
  }
}

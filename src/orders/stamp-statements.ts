/**
 * Stamp cards in the order and refund batches. An order moves the member's stamps (and debt) with a
 * compare-and-set on what the plan read (a concurrent order or refund of the member aborts the batch, and
 * the order is planned again), and each completed card
 * is paid in the same batch: a `bonus` ledger credit for points, or vouchers.
 */
import type { StampTakeBack } from "../earning/stamp-take-back";
import type { StampStep } from "../earning/stamps";
import type { LedgerWriter } from "../ledger/statements";
import { GUARD, guardSql } from "../platform/d1/guard";
import { type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";

interface StampOrder {
  merchantId: string;
  memberId: string;
  orderId: string;
  at: number;
}

function moveSql(o: StampOrder, step: StampStep): Sql[] {
  return [
    sql`INSERT INTO member_stamps (merchant_id, member_id, card_id, stamps, debt, completed, updated_at)
      VALUES (${o.merchantId}, ${o.memberId}, ${step.cardId}, ${step.after.stamps}, ${step.after.debt}, ${step.completions}, ${o.at})
      ON CONFLICT (merchant_id, member_id, card_id) DO UPDATE SET stamps = excluded.stamps, debt = excluded.debt,
        completed = member_stamps.completed + excluded.completed, updated_at = excluded.updated_at
      WHERE member_stamps.stamps = ${step.before.stamps} AND member_stamps.debt = ${step.before.debt}`,
    // A new row conflicts only when a concurrent order created it; an existing one must hold what was read.
    guardSql(GUARD.conflict, sql`changes() = 0`),
  ];
}

function voucherSql(o: StampOrder, step: StampStep): Sql[] {
  if (step.reward.kind !== "voucher") return [];
  const { name, value } = step.reward;
  return Array.from(
    { length: step.completions },
    () => sql`INSERT INTO vouchers (code, merchant_id, member_id, card_id, name, value, order_id, created_at)
      VALUES (${newId("vch", o.at)}, ${o.merchantId}, ${o.memberId}, ${step.cardId}, ${name}, ${value}, ${o.orderId}, ${o.at})`,
  );
}

/** Stamp moves and vouchers (SQL), and the points rewards added to the order's ledger writer. */
export function stampStatements(
  o: StampOrder,
  stamps: readonly StampStep[],
  ledger: LedgerWriter,
  lot: { pending: boolean; availableAt: number; expiresAt: number | null },
): Sql[] {
  for (const step of stamps) {
    if (step.reward.kind !== "points" || step.completions === 0) continue;
    ledger.credit({
      entryId: newId("le", o.at),
      type: "bonus",
      points: step.reward.points * step.completions,
      ...lot,
      countsAsEarned: true,
      refs: { orderId: o.orderId, reason: `stamp card ${step.cardId}` },
    });
  }
  return stamps.flatMap((step) => [...moveSql(o, step), ...voucherSql(o, step)]);
}

/**
 * A refund takes stamps back from a card: what the card holds goes first, the rest becomes debt (the card
 * already paid out for them). SQLite evaluates every SET expression on the row before the update.
 */
export function takeBackSql(o: { merchantId: string; memberId: string; at: number }, takeBack: StampTakeBack): Sql {
  return sql`UPDATE member_stamps SET debt = debt + MAX(0, ${takeBack.stamps} - stamps),
      stamps = MAX(0, stamps - ${takeBack.stamps}), updated_at = ${o.at}
    WHERE merchant_id = ${o.merchantId} AND member_id = ${o.memberId} AND card_id = ${takeBack.cardId}`;
}

/** The member export's body from the rows read (pure): each list cut at EXPORT_MAX_ROWS, and said so. */
import type { ledgerEntries, orders, redemptions, refunds } from "../db/schema";

import { toIso } from "../platform/clock";
import { type ReferralRow, referralBody } from "../referrals/reads";
import { entryBody } from "./ledger-entries";
import { EXPORT_MAX_ROWS, type MemberBody, type MemberExport } from "./schemas";

export interface ExportRows {
  entryRows: (typeof ledgerEntries.$inferSelect)[];
  orderRows: (typeof orders.$inferSelect)[];
  refundRows: (typeof refunds.$inferSelect)[];
  redemptionRows: (typeof redemptions.$inferSelect)[];
  referralCode: string | null;
  referredByRows: ReferralRow[];
  referralRows: ReferralRow[];
}

/** The first EXPORT_MAX_ROWS rows, and whether there were more (the read takes one row more). */
function cut<T>(rows: T[]): { rows: T[]; truncated: boolean } {
  return { rows: rows.slice(0, EXPORT_MAX_ROWS), truncated: rows.length > EXPORT_MAX_ROWS };
}

export function exportBody(at: number, member: MemberBody, read: ExportRows): MemberExport {
  const ledger = cut(read.entryRows);
  const orderList = cut(read.orderRows);
  const refundList = cut(read.refundRows);
  const redemptionList = cut(read.redemptionRows);
  const referralList = cut(read.referralRows);
  return {
    exportedAt: toIso(at),
    member,
    ledger: ledger.rows.map(entryBody),
    orders: orderList.rows.map((o) => ({
      orderId: o.id,
      amount: o.amount,
      currency: o.currency,
      occurredAt: toIso(o.occurredAt),
      channel: o.channel,
      items: o.items ? (JSON.parse(o.items) as unknown) : null,
      pointsEarned: o.pointsEarned,
      refundedAmount: o.refundedAmount,
      pointsReversed: o.pointsReversed,
    })),
    refunds: refundList.rows.map((r) => ({
      refundId: r.id,
      orderId: r.orderId,
      amount: r.amount,
      pointsReversed: r.pointsReversed,
      createdAt: toIso(r.createdAt),
    })),
    redemptions: redemptionList.rows.map((r) => ({
      id: r.id,
      status: r.status,
      points: r.points,
      value: r.value,
      orderId: r.orderId,
      createdAt: toIso(r.createdAt),
    })),
    referral: {
      code: read.referralCode,
      referredBy: read.referredByRows[0] ? referralBody(read.referredByRows[0]) : null,
      made: referralList.rows.map(referralBody),
    },
    truncated: {
      ledger: ledger.truncated,
      orders: orderList.truncated,
      refunds: refundList.truncated,
      redemptions: redemptionList.truncated,
      referrals: referralList.truncated,
    },
  };
}

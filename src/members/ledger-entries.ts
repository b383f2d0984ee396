/** Ledger rows -> API entries (optional references only when present). */

import type { ledgerEntries } from "../db/schema";
import type { EntryType } from "../ledger/statements";
import { toIso } from "../platform/clock";

export type LedgerRow = typeof ledgerEntries.$inferSelect;

export function entryBody(row: LedgerRow) {
  return {
    id: row.id,
    // The writer only ever stores ENTRY_TYPES.
    type: row.type as EntryType,
    asset: row.asset,
    points: row.points,
    balanceAfter: row.balanceAfter,
    createdAt: toIso(row.createdAt),
    ...(row.orderId !== null && { orderId: row.orderId }),
    ...(row.ruleId !== null && { ruleId: row.ruleId }),
    ...(row.ruleVersion !== null && { ruleVersion: row.ruleVersion }),
    ...(row.redemptionId !== null && { redemptionId: row.redemptionId }),
    ...(row.refundId !== null && { refundId: row.refundId }),
    ...(row.availableAt !== null && { availableAt: toIso(row.availableAt) }),
    ...(row.expiresAt !== null && { expiresAt: toIso(row.expiresAt) }),
    ...(row.reason !== null && { reason: row.reason }),
  };
}

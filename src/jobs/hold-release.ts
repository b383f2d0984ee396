/**
 * Releases holds past their time (HOLD_TTL_MS). Each hold is released in its own batch guarded by a
 * compare-and-set on its status, so overlapping or repeated runs release a hold once.
 */

import { HOLD_TTL_TEXT } from "../ledger/holds";
import { LAST_ACTIVITY_SQL } from "../ledger/lifecycle";
import { prepare, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { expiryFromColumns, inactivityDeadline } from "../program/settings";
import { returnStatements } from "../redemptions/service";
import type { Job } from "./types";

interface DueHold {
  id: string;
  merchant_id: string;
  member_id: string;
  points: number;
  order_id: string | null;
  asset: "points" | "credit";
  /** The member's inactivity clock and the program's policy, to settle a member past the deadline. */
  last: number;
  timezone: string;
  expiry_policy: string | null;
  expiry_days: number | null;
  expiry_since: number | null;
}

/** The member's last activity, when the hold's member is past the inactivity deadline at `at`. */
function inactiveSince(hold: DueHold, at: number): number | undefined {
  const expiry = expiryFromColumns(hold.expiry_policy, hold.expiry_days, hold.expiry_since);
  const deadline = inactivityDeadline({ expiry }, hold.last, hold.timezone);
  return deadline !== null && deadline <= at ? hold.last : undefined;
}

export const holdReleaseJob: Job = {
  name: "hold-release",
  description: `Holds not captured or cancelled within ${HOLD_TTL_TEXT} are released.`,
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? sql`AND merchant_id = ${scope.merchantId}` : sql``;
    const { results } = await prepare(
      db,
      sql`SELECT r.id, r.merchant_id, r.member_id, r.points, r.order_id, r.asset, ${LAST_ACTIVITY_SQL} AS last,
           mc.timezone, p.expiry_policy, p.expiry_days, p.expiry_since
         FROM (SELECT * FROM redemptions WHERE status = 'held' AND hold_expires_at <= ${at} ${merchantFilter}
               ORDER BY hold_expires_at LIMIT ${limit}) AS r
         JOIN members m ON m.merchant_id = r.merchant_id AND m.id = r.member_id
         JOIN merchants mc ON mc.id = r.merchant_id
         LEFT JOIN programs p ON p.merchant_id = r.merchant_id`,
    ).all<DueHold>();
    let processed = 0;
    for (const hold of results) {
      const redemption = {
        id: hold.id,
        memberId: hold.member_id,
        points: hold.points,
        status: "held" as const,
        orderId: hold.order_id,
        asset: hold.asset,
      };
      try {
        await db.batch(returnStatements(db, hold.merchant_id, redemption, "released", at, inactiveSince(hold, at)));
        processed++;
      } catch (error) {
        // Captured or cancelled meanwhile (the status guard fired): nothing to release.
        const failure = classifyBatchError(error);
        if (!(failure.kind === "guard" && failure.reason === "conflict")) throw error;
      }
    }
    return { processed, more: results.length === limit };
  },
};

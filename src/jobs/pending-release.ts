/** Makes pending points spendable once their return window has passed. */
import { releaseStatements } from "../ledger/lifecycle";
import type { Job } from "./types";

export const pendingReleaseJob: Job = {
  name: "pending-release",
  description: "Pending points whose return window ended become spendable (debt is repaid first).",
  async runChunk(db, at, scope, limit) {
    const merchantFilter = scope.merchantId ? "AND merchant_id = ?4" : "";
    const statements = releaseStatements(
      db,
      {
        sql: `SELECT id FROM point_lots WHERE is_pending = 1 AND available_at <= ?2 ${merchantFilter} ORDER BY available_at LIMIT ?3`,
        binds: [at, limit, ...(scope.merchantId ? [scope.merchantId] : [])],
      },
      at,
    );
    const [picked] = await db.batch(statements);
    const processed = picked?.meta.changes ?? 0;
    return { processed, more: processed === limit };
  },
};

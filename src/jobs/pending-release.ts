/** Makes pending points spendable once their return window has passed. */
import { releaseStatements } from "../ledger/lifecycle";
import { sql } from "../platform/d1/sql";
import { dueLots, runLotChunk } from "./lot-chunk";
import type { Job } from "./types";

export const pendingReleaseJob: Job = {
  name: "pending-release",
  description: "Pending points whose return window ended become spendable (debt is repaid first).",
  runChunk(db, at, scope, limit) {
    const due = dueLots(sql`is_pending = 1 AND available_at <= ${at}`, sql.raw("available_at"), scope, limit);
    return runLotChunk(db, releaseStatements(db, due, at), limit);
  },
};

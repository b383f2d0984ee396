/**
 * switching-cost: values every member's switching-cost statement in chunks (never valued first, then the
 * oldest, again after a day), so GET /v1/switching-cost reads a distribution already computed instead of
 * valuing 100,000 members in one request. Chosen by state; a repeated run finds nothing due.
 */
import { prepare, sql } from "../platform/d1/sql";
import { valueSwitchingCosts } from "../switching-cost/service";
import type { Job } from "./types";

export const switchingCostJob: Job = {
  name: "switching-cost",
  description: "Values members' switching-cost statements for the merchant's distribution, each at most once a day.",
  async runChunk(db, at, scope, limit) {
    const filter = scope.merchantId ? sql`WHERE id = ${scope.merchantId}` : sql``;
    const { results } = await prepare(db, sql`SELECT id, currency, timezone FROM merchants ${filter}`).all<{
      id: string;
      currency: string;
      timezone: string;
    }>();
    let processed = 0;
    let more = false;
    for (const merchant of results) {
      const chunk = await valueSwitchingCosts(db, merchant, at, limit);
      processed += chunk.processed;
      more ||= chunk.more;
    }
    return { processed, more };
  },
};

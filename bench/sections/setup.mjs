// @ts-check
// Setup: what was seeded before the load, and what the load requests carry.

/** @import { BaselineSeed, Seed } from "../lib/types.js" */

/**
 * @param {BaselineSeed} baselineSeed
 * @param {Seed | null} seed
 * @returns {string[]} lines, ending with a blank one
 */
export function renderSetup(baselineSeed, seed) {
  const setup = [`- Baseline: ${baselineSeed.rows} rows upserted before the load.`];
  if (seed) {
    setup.push(
      `- Engine: merchant (CNY, Asia/Shanghai), program ${seed.program}, ${seed.rulesCreated} of 10 earning rules ` +
        `(per_amount, fixed, multiplier; minAmount, categories, channels, daysOfWeek, firstOrder), tiers: ${seed.tiers}, ` +
        `${seed.checkoutKey ? "checkout-scope key for all load" : "admin key for all load"}.`,
      `- ${seed.members} members (PUT /v1/members/{id}), ${seed.orders.length} seed orders (one per member; ` +
        `${seed.funded.length} members had points afterwards), seeded in ${(seed.ms / 1000).toFixed(1)} s.`,
      "- Load requests: orders carry 3-5 items in 6 categories over 3 channels, a fresh orderId and Idempotency-Key " +
        "each, spread over the members; redemptions take 1 point from members with points; refunds take 0.10 off " +
        "the seed orders with a fresh refundId and key each; balance reads spread over the members.",
    );
  }
  return ["## Setup", "", ...setup, ""];
}

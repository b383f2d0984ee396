// @ts-check
// Building a member's history over HTTP (real orders through the engine) and measuring its length, for
// the cost-per-operation section.
import { call, describe, is2xx, pool, sleep } from "./http.mjs";
import { seedCall } from "./seed.mjs";
import { orderBody } from "./workload.mjs";

/** @import { CallResult, Problem } from "./types.js" */

/**
 * Number of ledger entries of a member, by walking the ledger pages (bounded).
 * @param {string} base
 * @param {string} token
 * @param {string} member
 * @returns {Promise<{ count: number | null, status?: number, truncated?: boolean }>}
 */
export async function ledgerSize(base, token, member) {
  let count = 0;
  /** @type {string | null} */
  let cursor = null;
  for (let page = 0; page < 200; page++) {
    const q = `?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await call(base, "GET", `/v1/members/${member}/ledger${q}`, { token });
    if (!is2xx(res) || !Array.isArray(res.json?.data)) return { count: null, status: res.status };
    count += res.json.data.length;
    cursor = res.json.nextCursor;
    if (!cursor) return { count };
  }
  return { count, truncated: true };
}

/**
 * A 409 the engine marks as a lost race, to be retried with the same key (a client would do that).
 * @param {CallResult} res
 */
const isRaceConflict = (res) => res.status === 409 && /retry with the same Idempotency-Key/i.test(res.text);

/**
 * Posts `orders` orders of one member, `concurrency` at a time, until done or `budgetMs` has passed.
 * @param {string} base
 * @param {string} token
 * @param {string} member
 * @param {number} orders
 * @param {number} concurrency
 * @param {number} budgetMs
 * @param {Problem[]} problems
 */
export async function buildHistory(base, token, member, orders, concurrency, budgetMs, problems) {
  const start = Date.now();
  const put = await seedCall(base, "PUT", `/v1/members/${member}`, { token, body: { name: `History ${member}` } });
  if (!is2xx(put)) problems.push({ where: `cost: member ${member}`, detail: describe(put) });
  /** @type {string[]} */
  const orderIds = [];
  let failures = 0;
  let raceRetries = 0;
  const done = await pool(
    orders,
    concurrency,
    async (i) => {
      const orderId = `${member}-o-${i}`;
      /** @type {CallResult | undefined} */
      let res;
      for (let attempt = 0; attempt < 6; attempt++) {
        res = await seedCall(base, "POST", "/v1/orders", {
          token,
          key: `k-${orderId}`,
          body: orderBody(5_000_000 + i, member, orderId),
        });
        if (!isRaceConflict(res)) break;
        raceRetries++;
        await sleep(10 + ((i * 7919 + attempt * 104729) % 40));
      }
      res = /** @type {CallResult} */ (res);
      if (is2xx(res)) orderIds.push(orderId);
      else if (++failures <= 2) problems.push({ where: `cost: history of ${member}`, detail: describe(res) });
    },
    { deadline: start + budgetMs },
  );
  return { orderIds, attempted: done, failures, raceRetries, ms: Date.now() - start };
}

/**
 * Switches rules on or off through PUT /v1/rules/{id}; returns the ids that answered 2xx.
 * @param {string} base
 * @param {string} admin
 * @param {{ id: string }[]} rules
 * @param {boolean} active
 * @param {Problem[]} problems
 */
export async function setRulesActive(base, admin, rules, active, problems) {
  /** @type {string[]} */
  const done = [];
  for (const rule of rules) {
    const res = await seedCall(base, "PUT", `/v1/rules/${rule.id}`, { token: admin, body: { ...rule, active } });
    if (is2xx(res)) done.push(rule.id);
    else problems.push({ where: `cost: switch rule ${rule.id} ${active ? "on" : "off"}`, detail: describe(res) });
  }
  return done;
}

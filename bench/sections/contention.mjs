// @ts-check
// One member, many orders at once: a burst of concurrent orders of one member with every rule on, to
// show whether concurrent checkouts of one customer (retries, several tills) are absorbed or refused.
import { n0, table } from "../lib/format.mjs";
import { call, describe, is2xx, pool } from "../lib/http.mjs";
import { seedCall } from "../lib/seed.mjs";
import { orderBody } from "../lib/workload.mjs";

/** @import { CallResult, Contention, Run, Seed, Servers } from "../lib/types.js" */

/**
 * Posts `orders` orders of one member, `concurrency` at a time, no client-side retry.
 * @param {string} base
 * @param {string} token
 * @param {string} member
 * @param {number} orders
 * @param {number} concurrency
 * @returns {Promise<Contention>}
 */
async function oneMemberContention(base, token, member, orders, concurrency) {
  const put = await seedCall(base, "PUT", `/v1/members/${member}`, { token, body: { name: `Contention ${member}` } });
  /** @type {Record<string, number>} */
  const statuses = {};
  /** @type {CallResult | null} */
  let sample = null;
  const start = Date.now();
  await pool(orders, concurrency, async (i) => {
    const orderId = `${member}-o-${i}`;
    const res = await call(base, "POST", "/v1/orders", {
      token,
      key: `k-${orderId}`,
      body: orderBody(7_000_000 + i, member, orderId),
    });
    statuses[res.status || "network error"] = (statuses[res.status || "network error"] ?? 0) + 1;
    if (!is2xx(res) && !sample) sample = res;
  });
  const ms = Date.now() - start;
  if (!is2xx(put) && !sample) sample = put;
  const ok = Object.entries(statuses).reduce((acc, [k, v]) => acc + (String(k).startsWith("2") ? v : 0), 0);
  return { member, orders, concurrency, statuses, ms, ok, sample };
}

/**
 * @param {Run} run
 * @param {Servers} servers
 * @param {Seed | null} seed
 * @returns {Promise<Contention | null>} null when the engine is not measured
 */
export async function measureContention(run, { engine }, seed) {
  if (!engine.ok || !seed) return null;
  const { cfg, log } = run;
  log(`contention: ${cfg.contentionOrders} orders of one member, ${cfg.historyConcurrency} in flight, all rules on`);
  const k = await oneMemberContention(engine.base, seed.checkout, "hot-member", cfg.contentionOrders, cfg.historyConcurrency);
  log(`contention: ${JSON.stringify(k.statuses)} in ${(k.ms / 1000).toFixed(1)} s`);
  if (k.sample)
    run.problems.push({ where: `one member, ${cfg.historyConcurrency} orders in flight`, detail: describe(k.sample) });
  return k;
}

/**
 * @param {Contention | null} k
 * @returns {string[]} lines, ending with a blank one; none when not measured
 */
export function renderContention(k) {
  if (!k) return [];
  const other = Object.entries(k.statuses).filter(([c]) => !String(c).startsWith("2") && String(c) !== "409");
  const row = [
    k.orders,
    k.concurrency,
    k.ok,
    k.statuses["409"] ?? 0,
    other.map(([c, v]) => `${v}x${c}`).join(", ") || "0",
    `${(k.ms / 1000).toFixed(1)} s`,
    n0(k.ok / (k.ms / 1000)),
  ];
  return [
    "## One member, many orders at once",
    "",
    `${k.orders} orders of one member (\`${k.member}\`), ${k.concurrency} in flight, every rule on, each with its own ` +
      "orderId and key and no client-side retry: what a burst of checkouts of one customer meets.",
    "",
    table(["orders", "in flight", "2xx", "409", "other", "time", "2xx per second"], [row]),
    "",
  ];
}

/**
 * @param {Contention | null} k
 * @returns {string[]}
 */
export function contentionReading(k) {
  if (!k) return [];
  if (k.ok < k.orders) {
    const refused = Object.entries(k.statuses)
      .filter(([c]) => !String(c).startsWith("2"))
      .map(([c, v]) => `${v}x${c}`)
      .join(", ");
    return [
      `${k.orders - k.ok} of ${k.orders} orders of one member posted ${k.concurrency} at a time were refused ` +
        `(${refused}); orders spread over many members were not (see the load table).`,
    ];
  }
  return [`All ${k.orders} orders of one member posted ${k.concurrency} at a time answered 2xx.`];
}

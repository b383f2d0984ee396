// @ts-check
// Seeding through the engine's HTTP API (merchant, program, rules, tiers, checkout key, members with one
// order each) and the baseline's rows, before any load.
import { PLATFORM_TOKEN } from "./config.mjs";
import { call, describe, is2xx, pool, sleep } from "./http.mjs";
import { memberId, orderBody, PROGRAM, RULES, tiersBody } from "./workload.mjs";

/** @import { BaselineSeed, CallOptions, Run, Seed, Servers } from "./types.js" */

/** What wrangler dev answers when it reloaded the worker while a request was in flight. */
export const RESTARTED = /restarted mid-request/i;
let seedRetries = 0;

/**
 * `call` for seeding: retried (at most twice) when wrangler dev answers that it reloaded the worker
 * mid-request, which it does when another dev server registers or a source file changes.
 * @param {string} base
 * @param {string} method
 * @param {string} p
 * @param {CallOptions} [opts]
 */
export async function seedCall(base, method, p, opts) {
  for (let attempt = 0; ; attempt++) {
    const res = await call(base, method, p, opts);
    if (attempt < 2 && res.status === 503 && RESTARTED.test(res.text)) {
      seedRetries++;
      await sleep(500);
      continue;
    }
    return res;
  }
}

/**
 * @param {Run} run
 * @param {string} base
 * @returns {Promise<BaselineSeed>}
 */
async function seedBaseline(run, base) {
  const { cfg, problems } = run;
  let failed = 0;
  await pool(cfg.members, cfg.seedConcurrency, async (i) => {
    const res = await seedCall(base, "POST", "/upsert", { body: { id: `k${i}`, value: 1 } });
    if (!is2xx(res)) {
      failed++;
      if (failed <= 2) problems.push({ where: "baseline seed", detail: describe(res) });
    }
  });
  return { rows: cfg.members - failed };
}

/**
 * Creates the merchant; returns its admin key, or null when the engine's API is not there yet (reason
 * pushed to the notes).
 * @param {Run} run
 * @param {string} base
 */
async function createMerchant(run, base) {
  const m = await seedCall(base, "POST", "/v1/merchants", {
    token: PLATFORM_TOKEN,
    body: { name: "Bench Merchant", currency: "CNY", timezone: "Asia/Shanghai" },
  });
  if (m.status === 404) {
    run.notes.push("POST /v1/merchants answers 404: the engine API is not there yet, every engine figure is n/a.");
    return null;
  }
  /** @type {string | undefined} */
  const admin = m.json?.apiKey?.secret;
  if (!is2xx(m) || !admin) {
    run.problems.push({ where: "seed: create merchant", detail: describe(m) });
    run.notes.push("Could not create a merchant, every engine figure is n/a.");
    return null;
  }
  return admin;
}

/**
 * Program settings and the earning rules.
 * @param {Run} run
 * @param {string} base
 * @param {Seed} seed
 */
async function seedProgram(run, base, seed) {
  const { problems } = run;
  const prog = await seedCall(base, "PUT", "/v1/program", { token: seed.admin, body: PROGRAM });
  seed.program = is2xx(prog) ? "set" : `failed (${prog.status})`;
  if (!is2xx(prog)) problems.push({ where: "seed: program", detail: describe(prog) });

  for (const rule of RULES) {
    const res = await seedCall(base, "POST", "/v1/rules", { token: seed.admin, body: rule });
    if (is2xx(res)) seed.rulesCreated++;
    else problems.push({ where: `seed: rule ${rule.id}`, detail: describe(res) });
  }
}

/** @type {[string, Record<string, unknown>][]} */
const PERKS = [
  ["free-delivery", { name: "Free delivery", value: 800, quota: { uses: 2, per: "month" } }],
  ["lounge", { name: "Lounge", value: 5000, unlock: { tier: "gold", streakMonths: 2 }, lapseAfterInactiveDays: 90 }],
];

/**
 * The tier ladder (without multipliers when the engine refuses fractional ones).
 * @param {Run} run
 * @param {string} base
 * @param {Seed} seed
 */
async function seedTiers(run, base, seed) {
  const admin = seed.admin;
  let tiers = await seedCall(base, "PUT", "/v1/tiers", { token: admin, body: tiersBody() });
  if (tiers.status === 400) {
    const retry = await seedCall(base, "PUT", "/v1/tiers", { token: admin, body: tiersBody({ withMultipliers: false }) });
    if (is2xx(retry)) {
      run.notes.push("PUT /v1/tiers refused fractional earnMultiplier values (400); the ladder was set without multipliers.");
      tiers = retry;
    }
  }
  // Two perks, so member reads and the switching-cost statement evaluate real unlock conditions.
  for (const [id, body] of PERKS) {
    const perk = await seedCall(base, "PUT", `/v1/perks/${id}`, { token: admin, body });
    if (!is2xx(perk) && perk.status !== 404) run.problems.push({ where: `seed: perk ${id}`, detail: describe(perk) });
  }
  if (is2xx(tiers)) seed.tiers = "4-tier ladder set";
  else if (tiers.status === 404) seed.tiers = "n/a (PUT /v1/tiers answers 404)";
  else {
    seed.tiers = `failed (${tiers.status})`;
    run.problems.push({ where: "seed: tiers", detail: describe(tiers) });
  }
}

/**
 * The checkout-scope key all load runs with (the admin key when it cannot be created).
 * @param {Run} run
 * @param {string} base
 * @param {Seed} seed
 */
async function seedCheckoutKey(run, base, seed) {
  const body = { scope: "checkout", name: "bench checkout" };
  const key = await seedCall(base, "POST", "/v1/api-keys", { token: seed.admin, body });
  if (is2xx(key) && key.json?.secret) {
    seed.checkout = key.json.secret;
    seed.checkoutKey = true;
  } else {
    seed.checkout = seed.admin;
    run.problems.push({ where: "seed: checkout key", detail: describe(key) });
    run.notes.push("No checkout key could be created; the load used the admin key instead.");
  }
}

/**
 * Each member is created, then gets one order (points to redeem, an order to refund).
 * @param {Run} run
 * @param {string} base
 * @param {Seed} seed
 */
async function seedMembers(run, base, seed) {
  const { cfg, problems } = run;
  /** @type {(string | null)[]} */
  const funded = new Array(cfg.members).fill(null);
  let memberFailures = 0;
  let orderFailures = 0;
  await pool(cfg.members, cfg.seedConcurrency, async (i) => {
    const id = memberId(i);
    const put = await seedCall(base, "PUT", `/v1/members/${id}`, {
      token: seed.checkout,
      body: { name: `Bench Member ${i}`, email: `${id}@bench.example`, attributes: { cohort: String(i % 7) } },
    });
    if (is2xx(put)) seed.members++;
    else if (++memberFailures <= 2) problems.push({ where: "seed: member", detail: describe(put) });
    const orderId = `seed-o-${i}`;
    const res = await seedCall(base, "POST", "/v1/orders", {
      token: seed.checkout,
      key: `k-${orderId}`,
      body: orderBody(1_000_000 + i, memberId(i), orderId),
    });
    if (is2xx(res)) {
      seed.orders.push({ orderId, memberId: memberId(i) });
      const balance = res.json?.member?.balance;
      if (typeof balance !== "number" || balance > 0) funded[i] = memberId(i);
    } else if (++orderFailures <= 2) problems.push({ where: "seed: order", detail: describe(res) });
  });
  seed.funded = /** @type {string[]} */ (funded.filter(Boolean));
}

/**
 * Creates the merchant, program, rules, tiers, checkout key, members and one order per member.
 * Returns null when the engine's API is not there yet (reason pushed to the notes).
 * @param {Run} run
 * @param {string} base
 * @returns {Promise<Seed | null>}
 */
async function seedEngine(run, base) {
  const admin = await createMerchant(run, base);
  if (!admin) return null;
  /** @type {Seed} */
  const seed = {
    admin,
    checkout: admin,
    checkoutKey: false,
    program: "not attempted",
    rulesCreated: 0,
    tiers: "not attempted",
    members: 0,
    orders: [],
    funded: [],
    ms: 0,
  };
  await seedProgram(run, base, seed);
  await seedTiers(run, base, seed);
  await seedCheckoutKey(run, base, seed);
  await seedMembers(run, base, seed);
  return seed;
}

/**
 * Seeds baseline and engine side by side.
 * @param {Run} run
 * @param {Servers} servers
 * @returns {Promise<{ baselineSeed: BaselineSeed, seed: Seed | null }>}
 */
export async function seedAll(run, { baseline, engine }) {
  const { cfg, log } = run;
  if (!baseline.ok) throw new Error("baseline worker is not running");
  log(
    `seeding baseline (${cfg.members} rows)` +
      (engine.ok
        ? ` and engine (merchant, program, ${RULES.length} rules, tiers, checkout key, ${cfg.members} members with one order each)`
        : ""),
  );
  const s0 = Date.now();
  const [baselineSeed, seed] = await Promise.all([
    seedBaseline(run, baseline.base),
    engine.ok ? seedEngine(run, engine.base) : Promise.resolve(null),
  ]);
  if (seed) {
    seed.ms = Date.now() - s0;
    log(
      `engine seeded in ${(seed.ms / 1000).toFixed(1)} s: ${seed.rulesCreated} rules, tiers ${seed.tiers}, ` +
        `${seed.members} members, ${seed.orders.length} orders, ${seed.funded.length} members with points`,
    );
  }
  if (seedRetries) {
    run.notes.push(
      `${seedRetries} seeding requests were retried after wrangler dev answered that it had reloaded the worker mid-request.`,
    );
  }
  return { baselineSeed, seed };
}

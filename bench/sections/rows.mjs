// @ts-check
// D1 cost per operation: rows read and written and queries per request (the engine's x-d1-* headers),
// for a member with a short history and one with a long one, to show that cost does not grow with history.
import { n0, table } from "../lib/format.mjs";
import { buildHistory, ledgerSize, setRulesActive } from "../lib/history.mjs";
import { call, d1Stats, describe, is2xx } from "../lib/http.mjs";
import { orderBody, RULES } from "../lib/workload.mjs";

/** @import { BaselineCost, Config, CostOp, D1Cost, HistoryCost, OpCost, Run, RowsCost, Seed, Servers } from "../lib/types.js" */

/**
 * The operations whose cost is measured, for one member.
 * @param {string} member
 * @param {string[]} orderIds the member's orders (the first one is refunded)
 * @param {string} tag keeps ids of the two members' probes apart
 * @returns {CostOp[]}
 */
function costOps(member, orderIds, tag) {
  return [
    {
      id: "order",
      label: "order (POST /v1/orders)",
      req: (r) => {
        const orderId = `${member}-cost-${tag}-${r}`;
        return { method: "POST", path: "/v1/orders", key: `k-${orderId}`, body: orderBody(9_000_000 + r, member, orderId) };
      },
    },
    {
      id: "balance",
      label: "balance read (GET /v1/members/{id})",
      req: () => ({ method: "GET", path: `/v1/members/${member}` }),
    },
    {
      id: "redemption",
      label: "redemption (POST /v1/redemptions, 1 point)",
      req: (r) => ({
        method: "POST",
        path: "/v1/redemptions",
        key: `k-${member}-cost-redeem-${tag}-${r}`,
        body: { memberId: member, points: 1 },
      }),
    },
    {
      id: "refund",
      label: "refund (POST /v1/orders/{id}/refunds, partial)",
      req: (r) => ({
        method: "POST",
        path: `/v1/orders/${orderIds[0]}/refunds`,
        key: `k-${member}-cost-refund-${tag}-${r}`,
        body: { refundId: `${member}-cost-refund-${tag}-${r}`, amount: 10 },
      }),
      requires: orderIds.length ? null : "no order to refund",
    },
    // limit=10: both members hold at least 10 entries, so a flat cost reads the same rows for both
    {
      id: "ledger",
      label: "ledger first page (GET /v1/members/{id}/ledger?limit=10)",
      req: () => ({ method: "GET", path: `/v1/members/${member}/ledger?limit=10` }),
    },
    {
      id: "quote",
      label: "quote (POST /v1/orders/quote), extra",
      req: (r) => ({ method: "POST", path: "/v1/orders/quote", body: orderBody(9_500_000 + r, member, `${member}-quote-${r}`) }),
    },
    {
      id: "tier",
      label: "tier status (GET /v1/members/{id}/tier), extra",
      req: () => ({ method: "GET", path: `/v1/members/${member}/tier` }),
    },
    {
      id: "perks",
      label: "perks with progress (GET /v1/members/{id}/perks), extra",
      req: () => ({ method: "GET", path: `/v1/members/${member}/perks` }),
    },
    {
      id: "switching",
      label: "switching-cost statement (GET /v1/members/{id}/switching-cost), extra",
      req: () => ({ method: "GET", path: `/v1/members/${member}/switching-cost` }),
    },
  ];
}

/**
 * Runs one operation `cfg.costRepeats` times; stops at the first answer without cost figures.
 * @param {Run} run
 * @param {string} base
 * @param {string} token
 * @param {string} member
 * @param {CostOp} op
 * @returns {Promise<OpCost>}
 */
async function costOf(run, base, token, member, op) {
  /** @type {D1Cost[]} */
  const stats = [];
  /** @type {string | null} */
  let na = null;
  for (let r = 0; r < run.cfg.costRepeats; r++) {
    const spec = op.req(r);
    const res = await call(base, spec.method, spec.path, { token, body: spec.body, key: spec.key });
    if (res.status === 404) {
      na = "route answers 404";
      break;
    }
    if (!is2xx(res)) {
      na = `answered ${res.status || res.error}`;
      run.problems.push({ where: `cost: ${op.label} for ${member}`, detail: describe(res) });
      break;
    }
    const s = d1Stats(res);
    if (!s) {
      na = "no x-d1-* headers";
      break;
    }
    stats.push(s);
  }
  return { label: op.label, stats, na };
}

/**
 * Every operation for one member.
 * @param {Run} run
 * @param {string} base
 * @param {string} token
 * @param {string} member
 * @param {string[]} orderIds
 * @param {string} tag
 * @returns {Promise<Record<string, OpCost>>}
 */
async function costFor(run, base, token, member, orderIds, tag) {
  /** @type {Record<string, OpCost>} */
  const out = {};
  for (const op of costOps(member, orderIds, tag)) {
    out[op.id] = op.requires ? { label: op.label, na: op.requires } : await costOf(run, base, token, member, op);
  }
  return out;
}

/**
 * The baseline's own cost, for reference: one upsert and one select.
 * @param {Servers} servers
 * @returns {Promise<BaselineCost | null>}
 */
export async function measureBaselineCost({ baseline }) {
  if (!baseline.ok) return null;
  const up = await call(baseline.base, "POST", "/upsert", { body: { id: "k0", value: 1 } });
  const sel = await call(baseline.base, "GET", "/select/k0");
  return { upsert: d1Stats(up), select: d1Stats(sel) };
}

/**
 * Builds the short and the long history. A firstOrder rule makes the engine guard every order of a member
 * against concurrent orders of the same member (see the contention figures), which would make 20 orders in
 * flight for one member crawl. The long history is setup, not the measurement: it is built with those rules
 * off, and they are back on before any cost is measured.
 * @param {Run} run
 * @param {string} base
 * @param {Seed} seed
 */
async function buildHistories(run, base, seed) {
  const { cfg, log, notes, problems } = run;
  const token = seed.checkout;
  // What is left of the run's time budget, keeping ~5 s for the cost probes and shutdown.
  const budget = Math.max(5_000, Math.min(cfg.historyBudgetMs, cfg.totalBudgetMs - (Date.now() - run.t0) - 5_000));
  log(`cost: building a history of ${cfg.historySmall} orders for member hist-small`);
  const small = await buildHistory(base, token, "hist-small", cfg.historySmall, 1, 60_000, problems);

  const firstOrderRules = RULES.filter((r) => r.conditions.firstOrder !== undefined);
  const switchedOff = await setRulesActive(base, seed.admin, firstOrderRules, false, problems);
  log(
    `cost: building a history of ${cfg.historyBig} orders for member hist-big ` +
      `(${cfg.historyConcurrency} in flight, at most ${(budget / 1000).toFixed(0)} s` +
      `${switchedOff.length ? `, rule ${switchedOff.join(", ")} off meanwhile` : ""})`,
  );
  const big = await buildHistory(base, token, "hist-big", cfg.historyBig, cfg.historyConcurrency, budget, problems);
  const switchedBack = firstOrderRules.filter((r) => switchedOff.includes(r.id));
  const switchedOn = await setRulesActive(base, seed.admin, switchedBack, true, problems);
  if (switchedOn.length !== switchedOff.length) {
    throw new Error(`could not switch rule(s) back on: ${switchedOff.filter((id) => !switchedOn.includes(id)).join(", ")}`);
  }
  if (switchedOff.length) {
    notes.push(
      `The long history was built with the firstOrder rule (${switchedOff.join(", ")}) switched off, and switched back on ` +
        `before measuring cost: with it on, orders of one member in flight together conflict (see "One member, many orders at once").`,
    );
  }
  log(
    `cost: hist-big got ${big.orderIds.length} orders in ${(big.ms / 1000).toFixed(1)} s${big.raceRetries ? ` (${big.raceRetries} retries after a 409 race)` : ""}`,
  );
  if (big.raceRetries)
    notes.push(
      `Building the long history, ${big.raceRetries} orders were retried with the same key after a 409 "posted at the same moment".`,
    );
  if (big.orderIds.length < cfg.historyBig) {
    notes.push(
      `The long history reached ${big.orderIds.length} orders (target ${cfg.historyBig}) within the ` +
        `${(budget / 1000).toFixed(0)} s budget${big.failures ? `; ${big.failures} orders failed` : ""}.`,
    );
  }
  return { small, big };
}

/**
 * Cost per operation for a member with a short history and one with a long one.
 * @param {Run} run
 * @param {Servers} servers
 * @param {Seed | null} seed
 * @returns {Promise<RowsCost>}
 */
export async function measureRows(run, { engine }, seed) {
  if (!engine.ok || !seed) return { small: null, big: null };
  const base = engine.base;
  const token = seed.checkout;
  const { small, big } = await buildHistories(run, base, seed);
  const smallSize = await ledgerSize(base, token, "hist-small");
  const bigSize = await ledgerSize(base, token, "hist-big");
  const smallOps = await costFor(run, base, token, "hist-small", small.orderIds, "s");
  const bigOps = await costFor(run, base, token, "hist-big", big.orderIds, "b");
  const withCards = await withStampCards(run, base, seed.admin, async () => ({
    small: await costOf(run, base, token, "hist-small", stampOrderOp("hist-small", "s")),
    big: await costOf(run, base, token, "hist-big", stampOrderOp("hist-big", "b")),
  }));
  if (withCards) {
    smallOps.stampOrder = withCards.small;
    bigOps.stampOrder = withCards.big;
  }
  return {
    small: { member: "hist-small", orders: small.orderIds.length, entries: smallSize.count, ops: smallOps },
    big: { member: "hist-big", orders: big.orderIds.length, entries: bigSize.count, buildMs: big.ms, ops: bigOps },
  };
}

/** Two stamp cards, one counting every order and one counting book units, as a merchant running both would have. */
const STAMP_CARDS = {
  visits: { name: "Tenth visit", counts: "orders", stamps: 10, reward: { kind: "points", points: 100 } },
  books: {
    name: "Fifth book",
    counts: "quantity",
    match: { categories: ["books"] },
    stamps: 5,
    reward: { kind: "voucher", name: "Free book", value: 2000 },
  },
};

/**
 * An order with the 10 rules and both stamp cards active.
 * @param {string} member
 * @param {string} tag
 * @returns {CostOp}
 */
function stampOrderOp(member, tag) {
  return {
    id: "stampOrder",
    label: "order with 10 rules and 2 stamp cards (POST /v1/orders), extra",
    req: (r) => {
      const orderId = `${member}-stamps-${tag}-${r}`;
      return { method: "POST", path: "/v1/orders", key: `k-${orderId}`, body: orderBody(9_700_000 + r, member, orderId) };
    },
  };
}

/**
 * Runs `measure` with the stamp cards active, and switches them off after, so later sections see the seeded
 * configuration. null when the engine refuses the cards.
 * @template T
 * @param {Run} run
 * @param {string} base
 * @param {string} admin
 * @param {() => Promise<T>} measure
 * @returns {Promise<T | null>}
 */
async function withStampCards(run, base, admin, measure) {
  const put = (/** @type {boolean} */ active) =>
    Promise.all(
      Object.entries(STAMP_CARDS).map(([id, card]) =>
        call(base, "PUT", `/v1/stamp-cards/${id}`, { token: admin, body: { ...card, active } }),
      ),
    );
  const on = await put(true);
  if (!on.every(is2xx)) {
    run.problems.push({ where: "cost: stamp cards", detail: on.map(describe).join("; ") });
    return null;
  }
  try {
    return await measure();
  } finally {
    await put(false);
  }
}

/**
 * @param {D1Cost[]} stats
 * @param {keyof D1Cost} key
 */
function rangeOf(stats, key) {
  const vals = stats.map((s) => s[key]);
  return { min: Math.min(...vals), max: Math.max(...vals) };
}

/** @param {{ min: number, max: number }} r */
const showRange = (r) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`);

/** @param {number} x */
const signed = (x) => `${x >= 0 ? "+" : ""}${x}`;

/**
 * The table's rows, and for each operation measured at both lengths whether its cost grew.
 * @param {HistoryCost} s short history
 * @param {HistoryCost} b long history
 */
function compareHistories(s, b) {
  /** @type {string[][]} */
  const rows = [];
  /** @type {{ label: string, flat: boolean, dr: number, dw: number, extra: boolean }[]} */
  const growth = [];
  for (const [id, a] of Object.entries(s.ops)) {
    const z = /** @type {OpCost} */ (b.ops[id]);
    if (a.na || z.na || !a.stats?.length || !z.stats?.length) {
      rows.push([a.label, `n/a (${a.na || z.na || "no data"})`, "", "", "", "", "", ""]);
      continue;
    }
    const [ar, zr] = [rangeOf(a.stats, "read"), rangeOf(z.stats, "read")];
    const [aw, zw] = [rangeOf(a.stats, "written"), rangeOf(z.stats, "written")];
    const [aq, zq] = [rangeOf(a.stats, "queries"), rangeOf(z.stats, "queries")];
    const dr = zr.max - ar.max;
    const dw = zw.max - aw.max;
    const flat = dr <= 0 && dw <= 0;
    growth.push({ label: a.label, flat, dr, dw, extra: /extra/.test(a.label) });
    const verdict = flat ? "flat" : `GROWS (read ${signed(dr)}, written ${signed(dw)})`;
    rows.push([a.label, showRange(ar), showRange(zr), showRange(aw), showRange(zw), showRange(aq), showRange(zq), verdict]);
  }
  return { rows, growth };
}

/**
 * @param {Config} cfg
 * @param {HistoryCost} s
 * @param {HistoryCost} b
 * @param {string[][]} rows
 */
function historiesTable(cfg, s, b, rows) {
  const S = `${s.entries ?? s.orders}`;
  const B = `${b.entries ?? b.orders}`;
  return [
    `Rows read / written and queries per request, from the engine's \`x-d1-rows-read\`, ` +
      `\`x-d1-rows-written\` and \`x-d1-queries\` headers (D1_STATS=on), for member \`${s.member}\` with ` +
      `${s.orders} orders (${s.entries ?? "unknown"} ledger entries) and member \`${b.member}\` with ${n0(b.orders)} ` +
      `orders (${b.entries === null || b.entries === undefined ? "unknown" : n0(b.entries)} ledger entries, built over HTTP ` +
      `in ${(/** @type {number} */ (b.buildMs) / 1000).toFixed(0)} s). Each operation ran ${cfg.costRepeats} times per member; a range means ` +
      `the repeats differed.`,
    "",
    table(
      [
        "Operation",
        `rows read @${S}`,
        `rows read @${B}`,
        `rows written @${S}`,
        `rows written @${B}`,
        `queries @${S}`,
        `queries @${B}`,
        "with history",
      ],
      rows,
    ),
  ];
}

/**
 * @param {Config} cfg
 * @param {RowsCost} cost
 * @param {BaselineCost | null} baseline
 * @returns {string[]} lines, ending with a blank one
 */
export function renderRows(cfg, { small, big }, baseline) {
  const out = ["## D1 cost per operation", ""];
  if (small && big) out.push(...historiesTable(cfg, small, big, compareHistories(small, big).rows));
  else out.push("Engine not measured (see notes).");
  if (baseline?.upsert) {
    out.push(
      "",
      `Baseline for reference: \`POST /upsert\` read ${baseline.upsert.read} / wrote ${baseline.upsert.written} ` +
        `rows in 1 query; \`GET /select/:id\` read ${baseline.select?.read ?? "n/a"} / wrote ${baseline.select?.written ?? "n/a"} rows in 1 query ` +
        `(D1 counts index rows too).`,
    );
  }
  out.push("");
  return out;
}

/**
 * What the engine's requests cost next to the baseline's, for the Reading.
 * @param {RowsCost} cost
 * @param {BaselineCost | null} baseline
 * @returns {string[]}
 */
export function costReading({ small }, baseline) {
  const first = (/** @type {string} */ id) => small?.ops?.[id]?.stats?.[0];
  const up = baseline?.upsert;
  const o = first("order");
  if (!o || !up) return [];
  const r = first("redemption");
  const f = first("refund");
  return [
    `Per request the engine's order runs ${o.queries} D1 queries (${o.read} rows read, ${o.written} written)` +
      (r ? `, a redemption ${r.queries} (${r.read} / ${r.written})` : "") +
      (f ? `, a refund ${f.queries} (${f.read} / ${f.written})` : "") +
      `, where the baseline upsert runs 1 (${up.read} / ${up.written}).`,
  ];
}

/**
 * Whether cost grew with history, for the Reading.
 * @param {RowsCost} cost
 * @returns {string[]}
 */
export function growthReading({ small, big }) {
  if (!small || !big) return [];
  const { growth } = compareHistories(small, big);
  if (!growth.length) return [];
  const reading = [];
  const grows = growth.filter((g) => !g.flat);
  const core = growth.filter((g) => !g.extra);
  if (!grows.length) {
    reading.push(
      `D1 rows read and written per operation are the same at ${small.entries ?? small.orders} and ${n0(big.entries ?? big.orders)} ledger entries for every operation measured: cost does not grow with history.`,
    );
  } else {
    reading.push(
      `Cost grows with history for: ${grows.map((g) => `${g.label} (rows read ${signed(g.dr)}, written ${signed(g.dw)})`).join("; ")}. ` +
        `Flat: ${
          growth
            .filter((g) => g.flat)
            .map((g) => g.label)
            .join("; ") || "none"
        }.`,
    );
  }
  if (core.length < 5) reading.push(`Only ${core.length} of the 5 required operations had cost figures.`);
  return reading;
}

// @ts-check
// Throughput and latency: every operation under load at each connection count, engine and baseline in
// alternating rounds, and the table of req/s and percentiles with ratios to the baseline.

import { measured, ms, n0, pct, table, times } from "../lib/format.mjs";
import { call, describe, is2xx } from "../lib/http.mjs";
import { combine, measure, nextSequence, rpsRatio } from "../lib/load.mjs";
import { groupCpuMs } from "../lib/proc.mjs";
import { RESTARTED } from "../lib/seed.mjs";
import { memberId, orderBody } from "../lib/workload.mjs";

/** @import { Config, Load, LoadOp, LoadResult, RoundResult, Run, Seed, Servers } from "../lib/types.js" */

/**
 * The engine's write operations under load; each request has a fresh id and Idempotency-Key.
 * @param {string[]} members
 * @param {string[]} funded members with points to redeem
 * @param {{ orderId: string }[]} orders seeded orders to refund
 * @returns {LoadOp[]}
 */
function engineWrites(members, funded, orders) {
  const order = (/** @type {number} */ n) => {
    const orderId = `load-o-${n}`;
    return {
      method: "POST",
      path: "/v1/orders",
      headers: { "idempotency-key": `k-${orderId}` },
      body: orderBody(n, /** @type {string} */ (members[n % members.length]), orderId),
    };
  };
  const redemption = (/** @type {number} */ n) => ({
    method: "POST",
    path: "/v1/redemptions",
    headers: { "idempotency-key": `k-load-redeem-${n}` },
    body: { memberId: funded[n % funded.length], points: 1 },
  });
  const refund = (/** @type {number} */ n) => ({
    method: "POST",
    path: `/v1/orders/${orders[n % orders.length]?.orderId}/refunds`,
    headers: { "idempotency-key": `k-load-refund-${n}` },
    body: { refundId: `load-r-${n}`, amount: 10 },
  });
  return [
    { id: "order", label: "POST /v1/orders (accrual)", target: "engine", vs: "upsert", make: order },
    { id: "redemption", label: "POST /v1/redemptions", target: "engine", vs: "upsert", make: redemption },
    {
      id: "refund",
      label: "POST /v1/orders/{id}/refunds",
      target: "engine",
      vs: "upsert",
      requires: orders.length ? null : "no seeded orders to refund",
      make: refund,
    },
  ];
}

/**
 * Every operation under load, in the order of the report's table.
 * @param {Config} cfg
 * @param {Seed | null} seed
 * @returns {LoadOp[]}
 */
function loadOps(cfg, seed) {
  const members = Array.from({ length: cfg.members }, (_, i) => memberId(i));
  const funded = seed?.funded?.length ? seed.funded : members;
  const [order, redemption, refund] = engineWrites(members, funded, seed?.orders ?? []);
  return /** @type {LoadOp[]} */ ([
    {
      id: "upsert",
      label: "baseline POST /upsert",
      target: "baseline",
      make: (n) => ({ method: "POST", path: "/upsert", body: { id: `k${n % cfg.members}`, value: 1 } }),
    },
    order,
    redemption,
    refund,
    {
      id: "select",
      label: "baseline GET /select/:id",
      target: "baseline",
      make: (n) => ({ method: "GET", path: `/select/k${n % cfg.members}` }),
    },
    {
      id: "balance",
      label: "GET /v1/members/{id} (balance)",
      target: "engine",
      vs: "select",
      make: (n) => ({ method: "GET", path: `/v1/members/${members[n % members.length]}` }),
    },
    {
      id: "switching",
      label: "GET /v1/members/{id}/switching-cost",
      target: "engine",
      vs: "select",
      make: (n) => ({ method: "GET", path: `/v1/members/${members[n % members.length]}/switching-cost` }),
    },
  ]);
}

/**
 * Why each operation cannot be loaded (null when it can): server down, route missing, probe refused.
 * One request through the same generator shows whether the route is there before loading it.
 * @param {Run} run
 * @param {Servers} servers
 * @param {Seed | null} seed
 * @param {LoadOp[]} ops
 * @returns {Promise<Record<string, string | null>>}
 */
async function availability(run, servers, seed, ops) {
  /** @type {Record<string, string | null>} */
  const available = {};
  for (const op of ops) {
    const server = servers[op.target];
    const token = op.target === "engine" ? seed?.checkout : undefined;
    /** @type {string | null} */
    let na = null;
    if (!server.ok) na = `${op.target} not running`;
    else if (op.target === "engine" && !seed) na = "engine API not there";
    else if (op.requires) na = op.requires;
    else {
      const spec = op.make(nextSequence());
      const res = await call(server.base, spec.method, spec.path, {
        token,
        body: spec.body,
        key: spec.headers?.["idempotency-key"],
      });
      if (res.status === 404) na = "route answers 404";
      else if (!is2xx(res)) {
        na = `probe answered ${res.status || res.error}`;
        run.problems.push({ where: `load probe ${op.label}`, detail: describe(res) });
      }
    }
    available[op.id] = na;
  }
  return available;
}

/**
 * Log line, notes (stalled rounds, worker reloads) and problems (non-2xx samples) of one merged run.
 * @param {Run} run
 * @param {LoadOp} op
 * @param {number} connections
 * @param {LoadResult} r
 */
function reportRun(run, op, connections, r) {
  run.log(
    `${op.label.padEnd(32)} c=${String(connections).padStart(2)}  ${r.rps.toFixed(0).padStart(5)} req/s  ` +
      `p50 ${Math.round(Number(r.p50))} ms  p99 ${Math.round(Number(r.p99))} ms  non-2xx ${r.non2xx}  errors ${r.errors}` +
      (r.rounds > 1 ? `  (rounds: ${r.roundRps.map((x) => x.toFixed(0)).join(" / ")} req/s)` : ""),
  );
  const typical = /** @type {number} */ ([...r.roundRps].sort((a, b) => a - b)[Math.floor(r.roundRps.length / 2)]);
  const stalled = r.roundRps.map((rps, i) => ({ rps, round: i + 1 })).filter((s) => r.rounds > 1 && s.rps < typical * 0.25);
  if (stalled.length) {
    run.notes.push(
      `${op.label} at ${connections} connections: round ${stalled.map((s) => `${s.round} managed ${s.rps.toFixed(0)} req/s`).join(", ")} ` +
        `against a median round of ${typical.toFixed(0)} req/s (a stall of the machine or the dev server).`,
    );
  }
  if (r.samples.some((s) => RESTARTED.test(s.body))) {
    run.notes.push(
      `During ${op.label} at ${connections} connections wrangler dev answered "worker restarted mid-request": ` +
        `it reloaded the worker (a source file changed or a dev server registered), so that run is disturbed.`,
    );
  }
  for (const s of r.samples) {
    run.problems.push({
      where: `load ${op.label} c=${connections}`,
      detail:
        `${s.request.method} ${s.request.path}` +
        (s.request.headers?.["idempotency-key"] ? ` (Idempotency-Key: ${s.request.headers["idempotency-key"]})` : "") +
        (s.request.body !== undefined ? ` body ${JSON.stringify(s.request.body)}` : "") +
        ` -> ${s.status} ${s.body}`,
    });
  }
}

/**
 * Loads every available operation: an unrecorded warm-up each, then at each connection count the rounds
 * of all operations in turn.
 * @param {Run} run
 * @param {Servers} servers
 * @param {Seed | null} seed
 * @returns {Promise<Load>}
 */
export async function measureLoad(run, servers, seed) {
  const { cfg } = run;
  run.log(
    `load: ${cfg.connections.join(" and ")} connections, ${cfg.duration} s per operation in ${cfg.rounds} alternating rounds ` +
      `(after ${cfg.warmup} s of warm-up per operation)`,
  );
  const ops = loadOps(cfg, seed);
  const available = await availability(run, servers, seed, ops);
  /** @type {Load["results"]} */
  const results = Object.fromEntries(ops.map((op) => [op.id, {}]));
  for (const op of ops)
    for (const c of cfg.connections) if (available[op.id]) results[op.id][c] = { na: String(available[op.id]) };
  const live = ops.filter((op) => !available[op.id]);
  const urlOf = (/** @type {LoadOp} */ op) => /** @type {{ base: string }} */ (servers[op.target]).base;
  const cpuOf = (/** @type {LoadOp} */ op) => () => groupCpuMs(/** @type {{ pid: number }} */ (servers[op.target]).pid);
  /** @type {(op: LoadOp) => Record<string, string>} */
  const headersFor = (op) => (op.target === "engine" ? { authorization: `Bearer ${seed?.checkout}` } : {});

  // Unrecorded warm-up of every route first, so no measured run pays for a cold isolate or cold JIT.
  for (const op of live) {
    if (cfg.warmup > 0) {
      await measure({
        url: urlOf(op),
        connections: 10,
        duration: cfg.warmup,
        headers: headersFor(op),
        make: op.make,
        maxSamples: 0,
      });
    }
  }

  // Baseline and engine runs alternate in short rounds, so a change in what else the machine is doing
  // hits both sides of each ratio alike instead of one whole block of runs.
  const roundDuration = cfg.duration / cfg.rounds;
  for (const connections of cfg.connections) {
    /** @type {Record<string, RoundResult[]>} */
    const rounds = Object.fromEntries(live.map((op) => [op.id, []]));
    for (let round = 0; round < cfg.rounds; round++) {
      for (const op of live) {
        rounds[op.id]?.push(
          await measure({
            url: urlOf(op),
            connections,
            duration: roundDuration,
            lead: cfg.lead,
            headers: headersFor(op),
            make: op.make,
            cpu: cpuOf(op),
          }),
        );
      }
    }
    for (const op of live) {
      const r = combine(rounds[op.id] ?? []);
      results[op.id][connections] = r;
      reportRun(run, op, connections, r);
    }
  }
  return { ops, results };
}

/**
 * One row of the throughput table.
 * @param {Config} cfg
 * @param {Load} load
 * @param {LoadOp} op
 * @param {number} c connections
 * @returns {(string | number)[]}
 */
function loadRow(cfg, { results }, op, c) {
  const r = results[op.id][c];
  if (!measured(r)) {
    return [op.label, c, `n/a (${r?.na ?? "not run"})`, "", "", "", "", "", "", "", "", ...(cfg.rounds > 1 ? [""] : [])];
  }
  const b = op.vs ? results[op.vs][c] : null;
  const codes = Object.entries(r.statusCodes)
    .filter(([k]) => !k.startsWith("2"))
    .map(([k, v]) => `${v}x${k}`)
    .join(", ");
  return [
    op.label,
    c,
    n0(r.rps),
    ms(r.p50),
    ms(r.p99),
    r.non2xx ? `${r.non2xx} (${codes})` : "0",
    r.errors + (r.timeouts ? ` (${r.timeouts} timeouts)` : ""),
    measured(b) ? pct(rpsRatio(r, b)) : op.vs ? "n/a" : "-",
    measured(b) ? times(/** @type {number} */ (r.p99) / /** @type {number} */ (b.p99)) : op.vs ? "n/a" : "-",
    r.cpuPerRequest === null ? "n/a" : r.cpuPerRequest.toFixed(2),
    measured(b) && r.cpuPerRequest && b.cpuPerRequest ? pct(b.cpuPerRequest / r.cpuPerRequest) : op.vs ? "n/a" : "-",
    ...(cfg.rounds > 1 ? [r.roundRps.map((x) => n0(x)).join(" / ")] : []),
  ];
}

/**
 * @param {Config} cfg
 * @param {Load} load
 * @returns {string[]} lines, ending with a blank one
 */
export function renderLoad(cfg, load) {
  const several = cfg.rounds > 1;
  // biome-ignore format: the table's header reads best on one line per group
  const head = [
    "Operation", "Conns", "req/s (2xx)", "p50 ms", "p99 ms", "non-2xx", "errors", "req/s vs baseline", "p99 vs baseline",
    "server CPU ms/req", "CPU vs baseline",
    ...(several ? ["req/s per round"] : []),
  ];
  return [
    "## Throughput and latency",
    "",
    'req/s counts 2xx responses only. "vs baseline" compares with `POST /upsert` for writes and ' +
      "`GET /select/:id` for reads at the same number of connections" +
      (several ? " (req/s: median of the per-round ratios; p99: over all responses). " : ". ") +
      (several
        ? `Each row is ${cfg.rounds} rounds of ${(cfg.duration / cfg.rounds).toFixed(1)} s measured after ${cfg.lead} s of load: a round counts the responses completed in its window, once every connection is busy. The rounds of all operations alternate, and percentiles are over every response of every window.`
        : `Each row is one run of ${cfg.duration} s, after an unrecorded warm-up.`),
    "",
    "Server CPU is the CPU time the server's `wrangler dev` process group (wrangler and workerd) used during " +
      "the row's rounds, per response, read from /proc. A local server runs its requests on one thread, so " +
      'this is steadier than req/s when the machine is shared; "CPU vs baseline" is the baseline\'s CPU per ' +
      "request over the engine's: the throughput ratio CPU alone would allow.",
    "",
    table(
      head,
      load.ops.flatMap((op) => cfg.connections.map((c) => loadRow(cfg, load, op, c))),
    ),
    "",
  ];
}

/**
 * What the load says for the Reading: engine runs with non-2xx or errors, and operations not measured.
 * @param {Config} cfg
 * @param {Load} load
 * @returns {string[]}
 */
export function loadReading(cfg, { ops, results }) {
  const reading = [];
  const engineRuns = ops
    .filter((o) => o.target === "engine")
    .flatMap((o) => cfg.connections.map((c) => /** @type {const} */ ([o, results[o.id][c]])));
  const failing = engineRuns.filter(([, r]) => measured(r) && (r.non2xx || r.errors));
  const naOps = [
    ...new Set(
      engineRuns
        .filter(([, r]) => !measured(r))
        .map(([o, r]) => `${o.label} (${/** @type {{ na?: string } | undefined} */ (r)?.na})`),
    ),
  ];
  if (failing.length) {
    reading.push(
      `Under load the engine answered non-2xx or failed on: ${failing
        .map(([o, r]) => {
          const m = /** @type {LoadResult} */ (r);
          return `${o.label} at ${m.connections} connections (${m.non2xx} of ${m.total} responses non-2xx, ${m.errors} connection errors)`;
        })
        .join("; ")}. Those responses are excluded from req/s; see "Engine problems seen".`,
    );
  } else if (engineRuns.some(([, r]) => measured(r))) {
    reading.push("Every measured engine request under load answered 2xx.");
  }
  if (naOps.length) reading.push(`Not measured: ${naOps.join("; ")}.`);
  return reading;
}

// @ts-check
// Load runs through autocannon's programmatic API. Every request is built by `make(n)` with a run-wide
// sequence number, so ids and idempotency keys never repeat across connections or runs.
import autocannon from "autocannon";

/** @import { LoadResult, RequestSpec, RoundResult, Sample } from "./types.js" */

let sequence = 0;

/** Next number of the run-wide sequence (for one-off requests that must not reuse a load id). */
export const nextSequence = () => sequence++;

/** Seconds the load keeps running after a round's window closes, so no connection winds down inside it. */
const TAIL = 0.1;

/**
 * One autocannon run, measured over a window of steady load. All connections start together and idle, so
 * the first `lead` seconds are load but not measurement: counted from a cold start, a round would miss about
 * half a response per connection, more of the total for the slower side of a ratio. The window then counts
 * every response that completed within it, and the server's CPU is read at its two ends.
 * @param {object} o
 * @param {string} o.url base URL, e.g. http://127.0.0.1:8787
 * @param {number} o.connections
 * @param {number} o.duration seconds measured
 * @param {number} [o.lead] seconds of load before the window opens
 * @param {Record<string,string>} [o.headers] sent with every request
 * @param {(n: number) => RequestSpec} o.make
 * @param {number} [o.maxSamples] non-2xx responses kept, with the request that got them
 * @param {() => number | null} [o.cpu] the server's CPU used so far (ms), read as the window opens and closes
 * @returns {Promise<RoundResult>}
 */
export function measure({ url, connections, duration, lead = 0, headers = {}, make, maxSamples = 3, cpu = () => null }) {
  /** @type {Sample[]} */
  const samples = []; // first few non-2xx responses, with the request that got them
  /** @type {number[]} */
  const latencies = []; // every response time in the window (ms), so rounds can be merged exactly
  /** @type {Record<string, number>} */
  const statusCodes = {};
  /** The measured window: when it opened and closed, what completed in it, the server's CPU at its ends. */
  const span = {
    open: false,
    openedAt: 0,
    closedAt: 0,
    ok: 0,
    total: 0,
    cpuBefore: /** @type {number | null} */ (null),
    cpuAfter: /** @type {number | null} */ (null),
  };
  return new Promise((resolve, reject) => {
    const opening = setTimeout(() => {
      span.open = true;
      span.openedAt = performance.now();
      span.cpuBefore = cpu();
    }, lead * 1000);
    const closing = setTimeout(
      () => {
        span.open = false;
        span.closedAt = performance.now();
        span.cpuAfter = cpu();
      },
      (lead + duration) * 1000,
    );
    const tracker = autocannon(
      {
        url,
        connections,
        duration: lead + duration + TAIL,
        timeout: 30,
        requests: [
          {
            setupRequest(req, context) {
              const spec = make(sequence++);
              context.last = spec;
              /** @type {Record<string, string>} */
              const h = { ...req.headers, ...headers, ...spec.headers };
              if (spec.body !== undefined) h["content-type"] = "application/json";
              return {
                ...req,
                method: spec.method,
                path: spec.path,
                headers: h,
                body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
              };
            },
            onResponse(status, body, context) {
              if ((status < 200 || status >= 300) && samples.length < maxSamples) {
                samples.push({ status, body: String(body).slice(0, 600), request: context.last });
              }
            },
          },
        ],
      },
      (err, result) => {
        clearTimeout(opening);
        clearTimeout(closing);
        if (err) return reject(err);
        if (!span.closedAt) return reject(new Error("the load ended before its measured window closed"));
        const { cpuBefore, cpuAfter } = span;
        resolve({
          connections,
          duration: (span.closedAt - span.openedAt) / 1000,
          ok: span.ok,
          total: span.total,
          non2xx: span.total - span.ok,
          // Errors and timeouts are the whole run's: autocannon reports them in total only.
          errors: result.errors ?? 0,
          timeouts: result.timeouts ?? 0,
          statusCodes,
          samples,
          latencies,
          cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
        });
      },
    );
    tracker.on("response", (_client, status, _bytes, responseTime) => {
      if (!span.open) return;
      latencies.push(responseTime);
      span.total += 1;
      if (status >= 200 && status < 300) span.ok += 1;
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    });
  });
}

/**
 * @param {number[]} sorted
 * @param {number} p
 */
function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return /** @type {number} */ (sorted[i]);
}

/**
 * Merges the rounds of one operation at one connection count.
 * req/s counts 2xx responses only, over the summed duration of the rounds; percentiles are over every
 * response of every round (non-2xx included, as autocannon does).
 * @param {RoundResult[]} rounds at least one
 * @returns {LoadResult}
 */
export function combine(rounds) {
  const all = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  /** @param {"duration" | "ok" | "total" | "non2xx" | "errors" | "timeouts"} k */
  const sum = (k) => rounds.reduce((acc, r) => acc + r[k], 0);
  /** @type {Record<string, number>} */
  const statusCodes = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.statusCodes)) statusCodes[k] = (statusCodes[k] ?? 0) + v;
  const duration = sum("duration");
  return {
    connections: /** @type {RoundResult} */ (rounds[0]).connections,
    rounds: rounds.length,
    roundRps: rounds.map((r) => r.ok / r.duration),
    roundP99: rounds.map((r) =>
      percentile(
        [...r.latencies].sort((a, b) => a - b),
        99,
      ),
    ),
    duration,
    ok: sum("ok"),
    total: sum("total"),
    rps: sum("ok") / duration,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    non2xx: sum("non2xx"),
    errors: sum("errors"),
    timeouts: sum("timeouts"),
    statusCodes,
    samples: rounds.flatMap((r) => r.samples).slice(0, 3),
    cpuPerRequest:
      rounds.every((r) => r.cpuMs !== null) && sum("total") > 0
        ? rounds.reduce((acc, r) => acc + (r.cpuMs ?? 0), 0) / sum("total")
        : null,
  };
}

/** @param {number[]} xs */
function median(xs) {
  const v = [...xs].sort((a, b) => a - b);
  const at = (/** @type {number} */ i) => /** @type {number} */ (v[i]);
  return v.length % 2 ? at((v.length - 1) / 2) : (at(v.length / 2 - 1) + at(v.length / 2)) / 2;
}

/**
 * Engine round i divided by baseline round i (the two ran seconds apart).
 * @param {LoadResult} e
 * @param {LoadResult} b
 * @param {"roundRps" | "roundP99"} key
 * @returns {number[]}
 */
export const perRound = (e, b, key) =>
  e.rounds > 1 && b.rounds === e.rounds
    ? e[key].map((x, i) => /** @type {number} */ (x) / /** @type {number} */ (b[key][i])).filter(Number.isFinite)
    : [];

/**
 * Throughput ratio to the baseline: with several rounds, the median of the per-round ratios, so one round
 * in which the machine stalled (it happens on a shared machine) does not decide the figure.
 * @param {LoadResult} e
 * @param {LoadResult} b
 */
export function rpsRatio(e, b) {
  const rr = perRound(e, b, "roundRps");
  return rr.length ? median(rr) : e.rps / b.rps;
}

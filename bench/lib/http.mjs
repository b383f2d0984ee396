// @ts-check
// Small HTTP helpers for seeding and for the per-operation cost probes (not used for load:
// load goes through autocannon).

/** @import { CallOptions, CallResult, D1Cost } from "./types.js" */

/**
 * One JSON request. Never throws: a network failure comes back as status 0 with `error`.
 * @param {string} base
 * @param {string} method
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<CallResult>}
 */
export async function call(base, method, path, { token, body, key, timeoutMs = 30_000 } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (key) headers["idempotency-key"] = key;
  const request = { method, path, ...(key ? { idempotencyKey: key } : {}), ...(body !== undefined ? { body } : {}) };
  const start = performance.now();
  try {
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json, ms: performance.now() - start, request };
  } catch (err) {
    return {
      status: 0,
      headers: null,
      text: "",
      json: undefined,
      ms: performance.now() - start,
      error: errorCode(err),
      request,
    };
  }
}

/**
 * The most specific description of a fetch failure: the socket's error code when there is one.
 * @param {unknown} err
 */
export function errorCode(err) {
  const e = /** @type {{ cause?: { code?: string }, message?: string } | undefined} */ (err);
  return String(e?.cause?.code ?? e?.message ?? err);
}

/** @param {{ status: number }} res */
export const is2xx = (res) => res.status >= 200 && res.status < 300;

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * D1 cost headers of a response (engine and baseline with D1_STATS=on), or null when absent.
 * @param {CallResult} res
 * @returns {D1Cost | null}
 */
export function d1Stats(res) {
  const h = res.headers;
  if (!h || h.get("x-d1-rows-read") === null) return null;
  return {
    read: Number(h.get("x-d1-rows-read")),
    written: Number(h.get("x-d1-rows-written")),
    queries: Number(h.get("x-d1-queries")),
  };
}

/**
 * Runs fn(0..count-1) with at most `concurrency` calls in flight.
 * Stops early (no new calls) once `deadline` (ms since epoch) has passed; returns how many ran.
 * @param {number} count
 * @param {number} concurrency
 * @param {(i: number) => Promise<void>} fn
 * @param {{ deadline?: number }} [options]
 */
export async function pool(count, concurrency, fn, { deadline = Number.POSITIVE_INFINITY } = {}) {
  let next = 0;
  let done = 0;
  async function worker() {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      await fn(i);
      done++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return done;
}

/**
 * Compact, single-line description of a request/response pair for reports.
 * @param {CallResult} res
 */
export function describe(res) {
  const req = res.request;
  const reqLine = `${req.method} ${req.path}${req.idempotencyKey ? ` (Idempotency-Key: ${req.idempotencyKey})` : ""}`;
  const reqBody = req.body !== undefined ? ` body ${JSON.stringify(req.body)}` : "";
  const resp = res.status === 0 ? `network error ${res.error}` : `${res.status} ${res.text.slice(0, 600)}`;
  return `${reqLine}${reqBody} -> ${resp}`;
}

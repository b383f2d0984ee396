// Load runs through autocannon's programmatic API. Every request is built by `make(n)` with a run-wide
// sequence number, so ids and idempotency keys never repeat across connections or runs.
import autocannon from 'autocannon'

let sequence = 0

/** Next number of the run-wide sequence (for one-off requests that must not reuse a load id). */
export const nextSequence = () => sequence++

/**
 * @param {object} o
 * @param {string} o.url base URL, e.g. http://127.0.0.1:8787
 * @param {number} o.connections
 * @param {number} o.duration seconds
 * @param {Record<string,string>} [o.headers] sent with every request
 * @param {(n: number) => { method: string, path: string, body?: any, headers?: Record<string,string> }} o.make
 * @returns {Promise<LoadResult>}
 */
export async function measure({ url, connections, duration, headers = {}, make, maxSamples = 3 }) {
  const samples = [] // first few non-2xx responses, with the request that got them
  const result = await autocannon({
    url,
    connections,
    duration,
    timeout: 30,
    requests: [
      {
        setupRequest(req, context) {
          const spec = make(sequence++)
          context.last = spec
          const h = { ...req.headers, ...headers, ...spec.headers }
          if (spec.body !== undefined) h['content-type'] = 'application/json'
          return {
            ...req,
            method: spec.method,
            path: spec.path,
            headers: h,
            body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          }
        },
        onResponse(status, body, context) {
          if ((status < 200 || status >= 300) && samples.length < maxSamples) {
            samples.push({ status, body: String(body).slice(0, 600), request: context.last })
          }
        },
      },
    ],
  })
  const ok = result['2xx'] ?? 0
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]))
  return {
    connections,
    duration: result.duration,
    ok,
    total: ok + (result.non2xx ?? 0),
    rps: ok / result.duration, // successful responses per second: failures never count as throughput
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx ?? 0,
    errors: result.errors ?? 0,
    timeouts: result.timeouts ?? 0,
    statusCodes,
    samples,
  }
}

/** @typedef {Awaited<ReturnType<typeof measure>>} LoadResult */

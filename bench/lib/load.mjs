// Load runs through autocannon's programmatic API. Every request is built by `make(n)` with a run-wide
// sequence number, so ids and idempotency keys never repeat across connections or runs.
import autocannon from 'autocannon'

let sequence = 0

/** Next number of the run-wide sequence (for one-off requests that must not reuse a load id). */
export const nextSequence = () => sequence++

/**
 * One autocannon run.
 * @param {object} o
 * @param {string} o.url base URL, e.g. http://127.0.0.1:8787
 * @param {number} o.connections
 * @param {number} o.duration seconds
 * @param {Record<string,string>} [o.headers] sent with every request
 * @param {(n: number) => { method: string, path: string, body?: any, headers?: Record<string,string> }} o.make
 */
export function measure({ url, connections, duration, headers = {}, make, maxSamples = 3 }) {
  const samples = [] // first few non-2xx responses, with the request that got them
  const latencies = [] // every response time in ms, so rounds can be merged exactly
  return new Promise((resolve, reject) => {
    const tracker = autocannon(
      {
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
      },
      (err, result) => {
        if (err) return reject(err)
        const ok = result['2xx'] ?? 0
        resolve({
          connections,
          duration: result.duration,
          ok,
          total: ok + (result.non2xx ?? 0),
          non2xx: result.non2xx ?? 0,
          errors: result.errors ?? 0,
          timeouts: result.timeouts ?? 0,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
          samples,
          latencies,
        })
      },
    )
    tracker.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime))
  })
}

function percentile(sorted, p) {
  if (!sorted.length) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

/**
 * Merges the rounds of one operation at one connection count.
 * req/s counts 2xx responses only, over the summed duration of the rounds; percentiles are over every
 * response of every round (non-2xx included, as autocannon does).
 */
export function combine(rounds) {
  const all = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b)
  const sum = (k) => rounds.reduce((acc, r) => acc + r[k], 0)
  const statusCodes = {}
  for (const r of rounds) for (const [k, v] of Object.entries(r.statusCodes)) statusCodes[k] = (statusCodes[k] ?? 0) + v
  const duration = sum('duration')
  return {
    connections: rounds[0].connections,
    rounds: rounds.length,
    roundRps: rounds.map((r) => r.ok / r.duration),
    roundP99: rounds.map((r) => percentile([...r.latencies].sort((a, b) => a - b), 99)),
    duration,
    ok: sum('ok'),
    total: sum('total'),
    rps: sum('ok') / duration,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    statusCodes,
    samples: rounds.flatMap((r) => r.samples).slice(0, 3),
  }
}

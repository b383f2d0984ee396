#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --keep]`
//
// Starts the engine and a baseline worker (bench/baseline: one upsert, one select) side by side under
// `wrangler dev` on fresh local D1 state, seeds the engine over its HTTP API, load-tests both with
// autocannon, measures D1 rows read/written per operation at short and long member histories, and
// writes bench/RESULTS.md. Engine routes that do not exist yet (404) are reported as n/a.
//
//   --quick   3 s per load run (whole run well under 2 minutes); default is 10 s per run
//   --keep    keep the temporary state and server logs under bench/.tmp/ for inspection
//   --no-write  print the report but leave bench/RESULTS.md alone
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { call, d1Stats, describe, is2xx, pool } from './lib/http.mjs'
import { measure, nextSequence } from './lib/load.mjs'
import {
  freePort,
  killAllNow,
  nodeBinary,
  runWrangler,
  startDev,
  stopAll,
  tail,
  waitForHealth,
} from './lib/proc.mjs'
import { renderReport } from './lib/report.mjs'
import { memberId, orderBody, PROGRAM, RULES, tiersBody } from './lib/workload.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BENCH = path.join(ROOT, 'bench')
const rel = (p) => path.relative(ROOT, p) || '.'

const argv = process.argv.slice(2)
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport')[0])
  process.exit(0)
}
const QUICK = argv.includes('--quick')
const KEEP = argv.includes('--keep')
const WRITE = !argv.includes('--no-write')

const CFG = {
  mode: QUICK ? 'quick' : 'full',
  duration: QUICK ? 3 : 10, // seconds per measured load run
  warmup: QUICK ? 1 : 2, // seconds of unrecorded load before an operation's first run
  connections: [10, 50],
  members: 1000,
  seedConcurrency: 16,
  historySmall: 10,
  historyBig: 10_000,
  historyConcurrency: 20,
  historyBudgetMs: QUICK ? 50_000 : 240_000, // stop building the long history after this, report what was built
  costRepeats: 3,
}
const PLATFORM_TOKEN = 'bench-platform-token'

const t0 = Date.now()
const log = (msg) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------
// Cleanup: the servers must never outlive this process.
let cleaningUp = false
let tmpDir = null
async function cleanup() {
  if (cleaningUp) return
  cleaningUp = true
  await stopAll()
}
process.on('exit', killAllNow)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    console.error(`\n[bench] ${sig}: stopping servers`)
    await cleanup()
    if (tmpDir && !KEEP) fs.rmSync(tmpDir, { recursive: true, force: true })
    process.exit(130)
  })
}

// ---------------------------------------------------------------------------------------------
/** Name of the first D1 binding in a wrangler.toml (the brief's "DB" if none is found). */
function d1Binding(configFile) {
  const text = fs.readFileSync(configFile, 'utf8')
  const block = text.split(/\[\[\s*d1_databases\s*\]\]/)[1]
  const m = block?.match(/^\s*binding\s*=\s*"([^"]+)"/m)
  return m ? m[1] : 'DB'
}

function versionOf(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

/** Applies migrations and starts `wrangler dev` for one worker. Returns { ok, base, reason }. */
async function bringUp({ name, config, persist, vars, logFile, healthPath }) {
  const binding = d1Binding(config)
  const migrate = await runWrangler(
    ROOT,
    ['d1', 'migrations', 'apply', binding, '--local', '--persist-to', rel(persist), '-c', rel(config)],
    { logFile },
  )
  if (migrate.code !== 0) {
    return { ok: false, reason: `migrations failed (exit ${migrate.code}): ${migrate.output.trim().split('\n').slice(-5).join(' | ')}` }
  }
  const port = await freePort()
  const inspectorPort = await freePort()
  const args = [
    '-c', rel(config),
    '--port', String(port),
    '--ip', '127.0.0.1',
    '--persist-to', rel(persist),
    '--inspector-port', String(inspectorPort),
    '--show-interactive-dev-session=false',
    '--log-level', 'warn', // per-request log lines cost the dev server CPU that the workers need
    ...vars.flatMap((v) => ['--var', v]),
  ]
  const server = startDev(ROOT, args, { logFile })
  const base = `http://127.0.0.1:${port}`
  const health = await waitForHealth(base + healthPath, { server })
  if (!health.ok) {
    return { ok: false, reason: `${name} did not become healthy: ${health.reason}. Log tail:\n${tail(logFile, 15)}` }
  }
  log(`${name} ready on ${base} (${(health.ms / 1000).toFixed(1)} s after start)`)
  return { ok: true, base, args }
}

// ---------------------------------------------------------------------------------------------
// Seeding

async function seedBaseline(base, problems) {
  let failed = 0
  await pool(CFG.members, CFG.seedConcurrency, async (i) => {
    const res = await call(base, 'POST', '/upsert', { body: { id: `k${i}`, value: 1 } })
    if (!is2xx(res)) {
      failed++
      if (failed <= 2) problems.push({ where: 'baseline seed', detail: describe(res) })
    }
  })
  return { rows: CFG.members - failed }
}

/**
 * Creates the merchant, program, rules, tiers, checkout key, members and one order per member.
 * Returns null when the engine's API is not there yet (reason pushed to `notes`).
 */
async function seedEngine(base, problems, notes) {
  const seed = { rulesCreated: 0, tiers: 'not attempted', members: 0, orders: [], funded: [], checkoutKey: false }
  const m = await call(base, 'POST', '/v1/merchants', {
    token: PLATFORM_TOKEN,
    body: { name: 'Bench Merchant', currency: 'CNY', timezone: 'Asia/Shanghai' },
  })
  if (m.status === 404) {
    notes.push('POST /v1/merchants answers 404: the engine API is not there yet, every engine figure is n/a.')
    return null
  }
  const admin = m.json?.apiKey?.secret
  if (!is2xx(m) || !admin) {
    problems.push({ where: 'seed: create merchant', detail: describe(m) })
    notes.push('Could not create a merchant, every engine figure is n/a.')
    return null
  }
  seed.admin = admin

  const prog = await call(base, 'PUT', '/v1/program', { token: admin, body: PROGRAM })
  seed.program = is2xx(prog) ? 'set' : `failed (${prog.status})`
  if (!is2xx(prog)) problems.push({ where: 'seed: program', detail: describe(prog) })

  for (const rule of RULES) {
    const res = await call(base, 'POST', '/v1/rules', { token: admin, body: rule })
    if (is2xx(res)) seed.rulesCreated++
    else problems.push({ where: `seed: rule ${rule.id}`, detail: describe(res) })
  }

  let tiers = await call(base, 'PUT', '/v1/tiers', { token: admin, body: tiersBody() })
  if (tiers.status === 400) {
    const retry = await call(base, 'PUT', '/v1/tiers', { token: admin, body: tiersBody({ withMultipliers: false }) })
    if (is2xx(retry)) {
      notes.push(`PUT /v1/tiers refused fractional earnMultiplier values (400); the ladder was set without multipliers.`)
      tiers = retry
    }
  }
  if (is2xx(tiers)) seed.tiers = '4-tier ladder set'
  else if (tiers.status === 404) seed.tiers = 'n/a (PUT /v1/tiers answers 404)'
  else {
    seed.tiers = `failed (${tiers.status})`
    problems.push({ where: 'seed: tiers', detail: describe(tiers) })
  }

  const key = await call(base, 'POST', '/v1/api-keys', { token: admin, body: { scope: 'checkout', name: 'bench checkout' } })
  if (is2xx(key) && key.json?.secret) {
    seed.checkout = key.json.secret
    seed.checkoutKey = true
  } else {
    seed.checkout = admin
    problems.push({ where: 'seed: checkout key', detail: describe(key) })
    notes.push('No checkout key could be created; the load used the admin key instead.')
  }

  let memberFailures = 0
  await pool(CFG.members, CFG.seedConcurrency, async (i) => {
    const id = memberId(i)
    const res = await call(base, 'PUT', `/v1/members/${id}`, {
      token: seed.checkout,
      body: { name: `Bench Member ${i}`, email: `${id}@bench.example`, attributes: { cohort: String(i % 7) } },
    })
    if (is2xx(res)) seed.members++
    else if (++memberFailures <= 2) problems.push({ where: 'seed: member', detail: describe(res) })
  })

  const funded = new Array(CFG.members).fill(null)
  let orderFailures = 0
  await pool(CFG.members, CFG.seedConcurrency, async (i) => {
    const orderId = `seed-o-${i}`
    const res = await call(base, 'POST', '/v1/orders', {
      token: seed.checkout,
      key: `k-${orderId}`,
      body: orderBody(1_000_000 + i, memberId(i), orderId),
    })
    if (is2xx(res)) {
      seed.orders.push({ orderId, memberId: memberId(i) })
      const balance = res.json?.member?.balance
      if (typeof balance !== 'number' || balance > 0) funded[i] = memberId(i)
    } else if (++orderFailures <= 2) problems.push({ where: 'seed: order', detail: describe(res) })
  })
  seed.funded = funded.filter(Boolean)
  return seed
}

// ---------------------------------------------------------------------------------------------
// Load

function loadOps(seed) {
  const members = Array.from({ length: CFG.members }, (_, i) => memberId(i))
  const funded = seed?.funded?.length ? seed.funded : members
  const orders = seed?.orders ?? []
  return [
    {
      id: 'upsert',
      label: 'baseline POST /upsert',
      target: 'baseline',
      make: (n) => ({ method: 'POST', path: '/upsert', body: { id: `k${n % CFG.members}`, value: 1 } }),
    },
    {
      id: 'order',
      label: 'POST /v1/orders (accrual)',
      target: 'engine',
      vs: 'upsert',
      make: (n) => {
        const orderId = `load-o-${n}`
        return {
          method: 'POST',
          path: '/v1/orders',
          headers: { 'idempotency-key': `k-${orderId}` },
          body: orderBody(n, members[n % members.length], orderId),
        }
      },
    },
    {
      id: 'redemption',
      label: 'POST /v1/redemptions',
      target: 'engine',
      vs: 'upsert',
      make: (n) => ({
        method: 'POST',
        path: '/v1/redemptions',
        headers: { 'idempotency-key': `k-load-redeem-${n}` },
        body: { memberId: funded[n % funded.length], points: 1 },
      }),
    },
    {
      id: 'refund',
      label: 'POST /v1/orders/{id}/refunds',
      target: 'engine',
      vs: 'upsert',
      requires: orders.length ? null : 'no seeded orders to refund',
      make: (n) => {
        const o = orders[n % orders.length]
        return {
          method: 'POST',
          path: `/v1/orders/${o.orderId}/refunds`,
          headers: { 'idempotency-key': `k-load-refund-${n}` },
          body: { refundId: `load-r-${n}`, amount: 10 },
        }
      },
    },
    {
      id: 'select',
      label: 'baseline GET /select/:id',
      target: 'baseline',
      make: (n) => ({ method: 'GET', path: `/select/k${n % CFG.members}` }),
    },
    {
      id: 'balance',
      label: 'GET /v1/members/{id} (balance)',
      target: 'engine',
      vs: 'select',
      make: (n) => ({ method: 'GET', path: `/v1/members/${members[n % members.length]}` }),
    },
  ]
}

/** One request through the same generator, to see whether the route is there before loading it. */
async function probe(base, token, op) {
  const spec = op.make(nextSequence())
  const res = await call(base, spec.method, spec.path, {
    token,
    body: spec.body,
    key: spec.headers?.['idempotency-key'],
  })
  return res
}

async function runLoad(servers, seed, problems) {
  const results = {} // results[opId][connections] = LoadResult | { na: reason }
  const ops = loadOps(seed)
  const available = {}
  for (const op of ops) {
    results[op.id] = {}
    const server = servers[op.target]
    const token = op.target === 'engine' ? seed?.checkout : undefined
    let na = null
    if (!server?.ok) na = `${op.target} not running`
    else if (op.target === 'engine' && !seed) na = 'engine API not there'
    else if (op.requires) na = op.requires
    else {
      const res = await probe(server.base, token, op)
      if (res.status === 404) na = `route answers 404`
      else if (!is2xx(res)) {
        na = `probe answered ${res.status || res.error}`
        problems.push({ where: `load probe ${op.label}`, detail: describe(res) })
      }
    }
    available[op.id] = na
  }

  for (const [ci, connections] of CFG.connections.entries()) {
    for (const op of ops) {
      if (available[op.id]) {
        results[op.id][connections] = { na: available[op.id] }
        continue
      }
      const server = servers[op.target]
      const headers = op.target === 'engine' ? { authorization: `Bearer ${seed.checkout}` } : {}
      if (ci === 0 && CFG.warmup > 0) {
        await measure({ url: server.base, connections: 10, duration: CFG.warmup, headers, make: op.make, maxSamples: 0 })
      }
      const r = await measure({ url: server.base, connections, duration: CFG.duration, headers, make: op.make })
      results[op.id][connections] = r
      log(
        `${op.label.padEnd(32)} c=${String(connections).padStart(2)}  ${r.rps.toFixed(0).padStart(5)} req/s  ` +
          `p50 ${r.p50} ms  p99 ${r.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}`,
      )
      for (const s of r.samples) {
        problems.push({
          where: `load ${op.label} c=${connections}`,
          detail:
            `${s.request.method} ${s.request.path}` +
            (s.request.headers?.['idempotency-key'] ? ` (Idempotency-Key: ${s.request.headers['idempotency-key']})` : '') +
            (s.request.body !== undefined ? ` body ${JSON.stringify(s.request.body)}` : '') +
            ` -> ${s.status} ${s.body}`,
        })
      }
      await sleep(300)
    }
  }
  return { ops, results }
}

// ---------------------------------------------------------------------------------------------
// Cost per operation at two history lengths

/** Number of ledger entries of a member, by walking the ledger pages (bounded). */
async function ledgerSize(base, token, member) {
  let count = 0
  let cursor = null
  for (let page = 0; page < 200; page++) {
    const q = `?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const res = await call(base, 'GET', `/v1/members/${member}/ledger${q}`, { token })
    if (!is2xx(res) || !Array.isArray(res.json?.data)) return { count: null, status: res.status }
    count += res.json.data.length
    cursor = res.json.nextCursor
    if (!cursor) return { count }
  }
  return { count, truncated: true }
}

async function buildHistory(base, token, member, orders, concurrency, budgetMs, problems) {
  const start = Date.now()
  const put = await call(base, 'PUT', `/v1/members/${member}`, { token, body: { name: `History ${member}` } })
  if (!is2xx(put)) problems.push({ where: `cost: member ${member}`, detail: describe(put) })
  const orderIds = []
  let failures = 0
  const done = await pool(
    orders,
    concurrency,
    async (i) => {
      const orderId = `${member}-o-${i}`
      const res = await call(base, 'POST', '/v1/orders', {
        token,
        key: `k-${orderId}`,
        body: orderBody(5_000_000 + i, member, orderId),
      })
      if (is2xx(res)) orderIds.push(orderId)
      else if (++failures <= 2) problems.push({ where: `cost: history of ${member}`, detail: describe(res) })
    },
    { deadline: start + budgetMs },
  )
  return { orderIds, attempted: done, failures, ms: Date.now() - start }
}

function costOps(member, orderIds, tag) {
  return [
    {
      id: 'order',
      label: 'order (POST /v1/orders)',
      req: (r) => {
        const orderId = `${member}-cost-${tag}-${r}`
        return { method: 'POST', path: '/v1/orders', key: `k-${orderId}`, body: orderBody(9_000_000 + r, member, orderId) }
      },
    },
    { id: 'balance', label: 'balance read (GET /v1/members/{id})', req: () => ({ method: 'GET', path: `/v1/members/${member}` }) },
    {
      id: 'redemption',
      label: 'redemption (POST /v1/redemptions, 1 point)',
      req: (r) => ({
        method: 'POST',
        path: '/v1/redemptions',
        key: `k-${member}-cost-redeem-${tag}-${r}`,
        body: { memberId: member, points: 1 },
      }),
    },
    {
      id: 'refund',
      label: 'refund (POST /v1/orders/{id}/refunds, partial)',
      req: (r) => ({
        method: 'POST',
        path: `/v1/orders/${orderIds[0]}/refunds`,
        key: `k-${member}-cost-refund-${tag}-${r}`,
        body: { refundId: `${member}-cost-refund-${tag}-${r}`, amount: 10 },
      }),
      requires: orderIds.length ? null : 'no order to refund',
    },
    // limit=10: both members hold at least 10 entries, so a flat cost reads the same rows for both
    {
      id: 'ledger',
      label: 'ledger first page (GET /v1/members/{id}/ledger?limit=10)',
      req: () => ({ method: 'GET', path: `/v1/members/${member}/ledger?limit=10` }),
    },
    {
      id: 'quote',
      label: 'quote (POST /v1/orders/quote), extra',
      req: (r) => ({ method: 'POST', path: '/v1/orders/quote', body: orderBody(9_500_000 + r, member, `${member}-quote-${r}`) }),
    },
    { id: 'tier', label: 'tier status (GET /v1/members/{id}/tier), extra', req: () => ({ method: 'GET', path: `/v1/members/${member}/tier` }) },
  ]
}

/** Runs each operation `repeats` times for one member; returns { [opId]: { stats[], na?, error? } }. */
async function costFor(base, token, member, orderIds, tag, problems) {
  const out = {}
  for (const op of costOps(member, orderIds, tag)) {
    if (op.requires) {
      out[op.id] = { label: op.label, na: op.requires }
      continue
    }
    const stats = []
    let na = null
    for (let r = 0; r < CFG.costRepeats; r++) {
      const spec = op.req(r)
      const res = await call(base, spec.method, spec.path, { token, body: spec.body, key: spec.key })
      if (res.status === 404) {
        na = 'route answers 404'
        break
      }
      if (!is2xx(res)) {
        na = `answered ${res.status || res.error}`
        problems.push({ where: `cost: ${op.label} for ${member}`, detail: describe(res) })
        break
      }
      const s = d1Stats(res)
      if (!s) {
        na = 'no x-d1-* headers'
        break
      }
      stats.push(s)
    }
    out[op.id] = { label: op.label, stats, na }
  }
  return out
}

async function runCost(servers, seed, problems, notes) {
  const cost = { small: null, big: null, baseline: null }
  if (servers.baseline?.ok) {
    const up = await call(servers.baseline.base, 'POST', '/upsert', { body: { id: 'k0', value: 1 } })
    const sel = await call(servers.baseline.base, 'GET', '/select/k0')
    cost.baseline = { upsert: d1Stats(up), select: d1Stats(sel) }
  }
  if (!servers.engine?.ok || !seed) return cost
  const base = servers.engine.base
  const token = seed.checkout

  log(`cost: building a history of ${CFG.historySmall} orders for member hist-small`)
  const small = await buildHistory(base, token, 'hist-small', CFG.historySmall, 1, 60_000, problems)
  log(
    `cost: building a history of ${CFG.historyBig} orders for member hist-big ` +
      `(${CFG.historyConcurrency} in flight, at most ${CFG.historyBudgetMs / 1000} s)`,
  )
  const big = await buildHistory(base, token, 'hist-big', CFG.historyBig, CFG.historyConcurrency, CFG.historyBudgetMs, problems)
  log(`cost: hist-big got ${big.orderIds.length} orders in ${(big.ms / 1000).toFixed(1)} s`)
  if (big.orderIds.length < CFG.historyBig) {
    notes.push(
      `The long history reached ${big.orderIds.length} orders (target ${CFG.historyBig}) within the ` +
        `${CFG.historyBudgetMs / 1000} s budget${big.failures ? `; ${big.failures} orders failed` : ''}.`,
    )
  }
  const smallSize = await ledgerSize(base, token, 'hist-small')
  const bigSize = await ledgerSize(base, token, 'hist-big')
  cost.small = {
    member: 'hist-small',
    orders: small.orderIds.length,
    entries: smallSize.count,
    ops: await costFor(base, token, 'hist-small', small.orderIds, 's', problems),
  }
  cost.big = {
    member: 'hist-big',
    orders: big.orderIds.length,
    entries: bigSize.count,
    buildMs: big.ms,
    ops: await costFor(base, token, 'hist-big', big.orderIds, 'b', problems),
  }
  return cost
}

// ---------------------------------------------------------------------------------------------

function engineLogErrors(logFile) {
  try {
    return fs
      .readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => /error|exception|uncaught/i.test(l) && !/ENOTFOUND|workers\.cloudflare\.com|Request\.cf|getaddrinfo|GetAddrInfoReqWrap/.test(l))
      .slice(0, 15)
  } catch {
    return []
  }
}

async function main() {
  const started = new Date()
  fs.mkdirSync(path.join(BENCH, '.tmp'), { recursive: true })
  const tmp = fs.mkdtempSync(path.join(BENCH, '.tmp', 'run-'))
  tmpDir = tmp
  log(`mode ${CFG.mode}; state and logs in ${rel(tmp)}`)

  const problems = []
  const notes = []
  // BENCH_ENGINE_CONFIG benchmarks another build of the engine (a wrangler.toml path, relative to the repo root)
  const engineConfig = path.resolve(ROOT, process.env.BENCH_ENGINE_CONFIG || 'wrangler.toml')
  const engineMigrations = path.join(path.dirname(engineConfig), 'migrations')
  const baselineConfig = path.join(BENCH, 'baseline', 'wrangler.toml')
  const logs = { baseline: path.join(tmp, 'baseline.log'), engine: path.join(tmp, 'engine.log') }

  const engineReason = !fs.existsSync(engineConfig)
    ? 'no wrangler.toml at the repository root yet'
    : !fs.existsSync(engineMigrations) || !fs.readdirSync(engineMigrations).some((f) => f.endsWith('.sql'))
      ? `no migrations in ${rel(engineMigrations)} yet`
      : null

  log('applying migrations and starting wrangler dev for baseline and engine')
  const [baseline, engine] = await Promise.all([
    bringUp({
      name: 'baseline',
      config: baselineConfig,
      persist: path.join(tmp, 'baseline-state'),
      vars: ['D1_STATS:on'],
      logFile: logs.baseline,
      healthPath: '/health',
    }),
    engineReason
      ? Promise.resolve({ ok: false, reason: engineReason })
      : bringUp({
          name: 'engine',
          config: engineConfig,
          persist: path.join(tmp, 'engine-state'),
          vars: [`PLATFORM_TOKEN:${PLATFORM_TOKEN}`, 'D1_STATS:on'],
          logFile: logs.engine,
          healthPath: '/health',
        }),
  ])
  if (!baseline.ok) throw new Error(`baseline worker: ${baseline.reason}`)
  if (!engine.ok) {
    notes.push(`Engine not measured: ${engine.reason.split('\n')[0]}`)
    log(`engine unavailable: ${engine.reason}`)
  }
  const servers = { baseline, engine }

  log(`seeding baseline (${CFG.members} rows)`)
  const baselineSeed = await seedBaseline(baseline.base, problems)
  let seed = null
  if (engine.ok) {
    log(`seeding engine: merchant, program, ${RULES.length} rules, tiers, checkout key, ${CFG.members} members and one order each`)
    const s0 = Date.now()
    seed = await seedEngine(engine.base, problems, notes)
    if (seed) {
      seed.ms = Date.now() - s0
      log(
        `engine seeded in ${(seed.ms / 1000).toFixed(1)} s: ${seed.rulesCreated} rules, tiers ${seed.tiers}, ` +
          `${seed.members} members, ${seed.orders.length} orders, ${seed.funded.length} members with points`,
      )
    }
  }

  log(`load: ${CFG.connections.join(' and ')} connections, ${CFG.duration} s per run`)
  const load = await runLoad(servers, seed, problems)

  log('cost per operation')
  const cost = await runCost(servers, seed, problems, notes)

  const logErrors = engine.ok ? engineLogErrors(logs.engine) : []
  await cleanup()
  log('servers stopped')

  const nodeForWrangler = execFileSync(nodeBinary(ROOT), ['-v'], { encoding: 'utf8' }).trim()
  const env = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    elapsedS: (Date.now() - t0) / 1000,
    machine: `${os.platform()} ${os.arch()}, ${os.cpus().length} cores (${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory`,
    node: process.version,
    nodeForWrangler,
    wrangler: versionOf('wrangler'),
    autocannon: versionOf('autocannon'),
    command: process.env.npm_lifecycle_event === 'bench' ? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}` : `node bench/run.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`,
    devArgs: {
      engine: engine.ok ? engine.args : null,
      baseline: baseline.args,
    },
  }
  const report = renderReport({ cfg: CFG, env, load, cost, seed, baselineSeed, problems, notes, logErrors })
  console.log('\n' + report)
  if (WRITE) {
    fs.writeFileSync(path.join(BENCH, 'RESULTS.md'), report)
    log(`wrote ${rel(path.join(BENCH, 'RESULTS.md'))}`)
  }
  if (KEEP) log(`kept ${rel(tmp)}`)
  else fs.rmSync(tmp, { recursive: true, force: true })
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`[bench] failed: ${err?.stack ?? err}`)
    await cleanup()
    if (tmpDir) console.error(`[bench] state and server logs kept in ${rel(tmpDir)}`)
    process.exit(1)
  },
)

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
//   --live    run the engine from the working tree instead of a snapshot of it (see snapshotEngine)
//   --ref <rev>  benchmark the engine as committed at a git revision (e.g. HEAD) instead of the working tree
//   --skip-jobs  leave out the expiry-job benchmark (bench/jobs.mjs), which otherwise runs after the rest
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { call, d1Stats, describe, is2xx, pool } from './lib/http.mjs'
import { combine, measure, nextSequence } from './lib/load.mjs'
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
const LIVE = argv.includes('--live')
const SKIP_JOBS = argv.includes('--skip-jobs')
const REF = argv.includes('--ref') ? argv[argv.indexOf('--ref') + 1] : null
if (argv.includes('--ref') && (!REF || REF.startsWith('--'))) {
  console.error('--ref needs a git revision, e.g. --ref HEAD')
  process.exit(2)
}

const CFG = {
  mode: QUICK ? 'quick' : 'full',
  duration: QUICK ? 3 : 10, // seconds of measured load per operation and connection count
  rounds: QUICK ? 3 : 5, // ... split into this many rounds, alternating baseline and engine operations
  warmup: QUICK ? 0.5 : 2, // seconds of unrecorded load per operation before the first round
  connections: [10, 50],
  members: 1000,
  seedConcurrency: 24,
  historySmall: 10,
  // Built over HTTP (real orders through the engine), so its length is bounded by the engine's order
  // rate: quick mode keeps the whole run under 2 minutes with a shorter long history.
  historyBig: QUICK ? 2_000 : 10_000,
  historyConcurrency: 20,
  contentionOrders: QUICK ? 100 : 200, // orders of one member posted 20 at a time, all rules on
  historyBudgetMs: QUICK ? 30_000 : 240_000, // stop building the long history after this, report what was built
  // The long history is cut short so the run ends in time; it comes before the expiry-job section, which
  // is skipped when less than `jobsReserveMs` of the time limit is left.
  totalBudgetMs: QUICK ? 100_000 : 480_000,
  jobsReserveMs: QUICK ? 25_000 : 120_000,
  costRepeats: 3,
}
const PLATFORM_TOKEN = 'bench-platform-token'

const t0 = Date.now()
const log = (msg) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------
// Cleanup: the servers must never outlive this process.
let tmpDir = null
const cleanup = () => stopAll()
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

/**
 * Copies the engine's sources next to the run's state and returns the copy's wrangler.toml. `wrangler dev`
 * reloads the worker whenever a watched source file changes; measuring a copy keeps one build for the
 * whole run even while someone edits src/.
 */
function snapshotEngine(configFile, dest) {
  const from = path.dirname(configFile)
  fs.mkdirSync(dest, { recursive: true })
  fs.copyFileSync(configFile, path.join(dest, 'wrangler.toml'))
  for (const entry of [...ENGINE_FILES.slice(1), '.dev.vars']) {
    if (fs.existsSync(path.join(from, entry))) fs.cpSync(path.join(from, entry), path.join(dest, entry), { recursive: true })
  }
  return path.join(dest, 'wrangler.toml')
}

const ENGINE_FILES = ['wrangler.toml', 'src', 'migrations', 'tsconfig.json', 'package.json']

/** Extracts the engine's files as committed at `ref` into `dest`; returns the copy's wrangler.toml. */
function checkoutEngine(ref, dest) {
  fs.mkdirSync(dest, { recursive: true })
  const tracked = execFileSync('git', ['ls-tree', '--name-only', ref, ...ENGINE_FILES], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
  const archive = execFileSync('git', ['archive', '--format=tar', ref, ...tracked], { cwd: ROOT, maxBuffer: 256 * 2 ** 20 })
  execFileSync('tar', ['-x', '-C', dest], { input: archive })
  if (fs.existsSync(path.join(ROOT, '.dev.vars'))) fs.copyFileSync(path.join(ROOT, '.dev.vars'), path.join(dest, '.dev.vars'))
  return path.join(dest, 'wrangler.toml')
}

/** Commit of the working tree (or of `ref`) and whether the engine's files differ from it. */
function engineRevision(ref) {
  try {
    const git = (...a) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    if (ref) return `${git('log', '-1', '--format=%h %s', ref)} (committed files of ${ref}; working-tree changes not included)`
    const commit = git('log', '-1', '--format=%h %s')
    const dirty = git('status', '--porcelain', '--', 'src', 'migrations', 'wrangler.toml')
    return `${commit}${dirty ? ' (plus uncommitted changes in src/, migrations/ or wrangler.toml)' : ''}`
  } catch {
    return 'unknown (not a git checkout)'
  }
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

const RESTARTED = /restarted mid-request/i
let seedRetries = 0
/**
 * `call` for seeding: retried (at most twice) when wrangler dev answers that it reloaded the worker
 * mid-request, which it does when another dev server registers or a source file changes.
 */
async function seedCall(base, method, p, opts) {
  for (let attempt = 0; ; attempt++) {
    const res = await call(base, method, p, opts)
    if (attempt < 2 && (res.status === 503 && RESTARTED.test(res.text))) {
      seedRetries++
      await sleep(500)
      continue
    }
    return res
  }
}

async function seedBaseline(base, problems) {
  let failed = 0
  await pool(CFG.members, CFG.seedConcurrency, async (i) => {
    const res = await seedCall(base, 'POST', '/upsert', { body: { id: `k${i}`, value: 1 } })
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
  const m = await seedCall(base, 'POST', '/v1/merchants', {
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

  const prog = await seedCall(base, 'PUT', '/v1/program', { token: admin, body: PROGRAM })
  seed.program = is2xx(prog) ? 'set' : `failed (${prog.status})`
  if (!is2xx(prog)) problems.push({ where: 'seed: program', detail: describe(prog) })

  for (const rule of RULES) {
    const res = await seedCall(base, 'POST', '/v1/rules', { token: admin, body: rule })
    if (is2xx(res)) seed.rulesCreated++
    else problems.push({ where: `seed: rule ${rule.id}`, detail: describe(res) })
  }

  let tiers = await seedCall(base, 'PUT', '/v1/tiers', { token: admin, body: tiersBody() })
  if (tiers.status === 400) {
    const retry = await seedCall(base, 'PUT', '/v1/tiers', { token: admin, body: tiersBody({ withMultipliers: false }) })
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

  const key = await seedCall(base, 'POST', '/v1/api-keys', { token: admin, body: { scope: 'checkout', name: 'bench checkout' } })
  if (is2xx(key) && key.json?.secret) {
    seed.checkout = key.json.secret
    seed.checkoutKey = true
  } else {
    seed.checkout = admin
    problems.push({ where: 'seed: checkout key', detail: describe(key) })
    notes.push('No checkout key could be created; the load used the admin key instead.')
  }

  // Each member is created, then gets one order (points to redeem, an order to refund).
  const funded = new Array(CFG.members).fill(null)
  let memberFailures = 0
  let orderFailures = 0
  await pool(CFG.members, CFG.seedConcurrency, async (i) => {
    const id = memberId(i)
    const put = await seedCall(base, 'PUT', `/v1/members/${id}`, {
      token: seed.checkout,
      body: { name: `Bench Member ${i}`, email: `${id}@bench.example`, attributes: { cohort: String(i % 7) } },
    })
    if (is2xx(put)) seed.members++
    else if (++memberFailures <= 2) problems.push({ where: 'seed: member', detail: describe(put) })
    const orderId = `seed-o-${i}`
    const res = await seedCall(base, 'POST', '/v1/orders', {
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

async function runLoad(servers, seed, problems, notes) {
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

  const live = ops.filter((op) => !available[op.id])
  for (const op of ops) for (const c of CFG.connections) if (available[op.id]) results[op.id][c] = { na: available[op.id] }
  const headersFor = (op) => (op.target === 'engine' ? { authorization: `Bearer ${seed.checkout}` } : {})

  // Unrecorded warm-up of every route first, so no measured run pays for a cold isolate or cold JIT.
  for (const op of live) {
    if (CFG.warmup > 0) {
      await measure({ url: servers[op.target].base, connections: 10, duration: CFG.warmup, headers: headersFor(op), make: op.make, maxSamples: 0 })
    }
  }

  // Baseline and engine runs alternate in short rounds, so a change in what else the machine is doing
  // hits both sides of each ratio alike instead of one whole block of runs.
  const roundDuration = CFG.duration / CFG.rounds
  for (const connections of CFG.connections) {
    const rounds = Object.fromEntries(live.map((op) => [op.id, []]))
    for (let round = 0; round < CFG.rounds; round++) {
      for (const op of live) {
        rounds[op.id].push(
          await measure({ url: servers[op.target].base, connections, duration: roundDuration, headers: headersFor(op), make: op.make }),
        )
      }
    }
    for (const op of live) {
      const r = combine(rounds[op.id])
      results[op.id][connections] = r
      log(
        `${op.label.padEnd(32)} c=${String(connections).padStart(2)}  ${r.rps.toFixed(0).padStart(5)} req/s  ` +
          `p50 ${Math.round(r.p50)} ms  p99 ${Math.round(r.p99)} ms  non-2xx ${r.non2xx}  errors ${r.errors}` +
          (r.rounds > 1 ? `  (rounds: ${r.roundRps.map((x) => x.toFixed(0)).join(' / ')} req/s)` : ''),
      )
      const typical = [...r.roundRps].sort((a, b) => a - b)[Math.floor(r.roundRps.length / 2)]
      const stalled = r.roundRps.map((x, i) => [x, i]).filter(([x]) => r.rounds > 1 && x < typical * 0.25)
      if (stalled.length) {
        notes.push(
          `${op.label} at ${connections} connections: round ${stalled.map(([x, i]) => `${i + 1} managed ${x.toFixed(0)} req/s`).join(', ')} ` +
            `against a median round of ${typical.toFixed(0)} req/s (a stall of the machine or the dev server).`,
        )
      }
      if (r.samples.some((s) => RESTARTED.test(s.body))) {
        notes.push(
          `During ${op.label} at ${connections} connections wrangler dev answered "worker restarted mid-request": ` +
            `it reloaded the worker (a source file changed or a dev server registered), so that run is disturbed.`,
        )
      }
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

/** A 409 the engine marks as a lost race, to be retried with the same key (a client would do that). */
const isRaceConflict = (res) => res.status === 409 && /retry with the same Idempotency-Key/i.test(res.text)

async function buildHistory(base, token, member, orders, concurrency, budgetMs, problems) {
  const start = Date.now()
  const put = await seedCall(base, 'PUT', `/v1/members/${member}`, { token, body: { name: `History ${member}` } })
  if (!is2xx(put)) problems.push({ where: `cost: member ${member}`, detail: describe(put) })
  const orderIds = []
  let failures = 0
  let raceRetries = 0
  const done = await pool(
    orders,
    concurrency,
    async (i) => {
      const orderId = `${member}-o-${i}`
      let res
      for (let attempt = 0; attempt < 6; attempt++) {
        res = await seedCall(base, 'POST', '/v1/orders', { token, key: `k-${orderId}`, body: orderBody(5_000_000 + i, member, orderId) })
        if (!isRaceConflict(res)) break
        raceRetries++
        await sleep(10 + ((i * 7919 + attempt * 104729) % 40))
      }
      if (is2xx(res)) orderIds.push(orderId)
      else if (++failures <= 2) problems.push({ where: `cost: history of ${member}`, detail: describe(res) })
    },
    { deadline: start + budgetMs },
  )
  return { orderIds, attempted: done, failures, raceRetries, ms: Date.now() - start }
}

/**
 * Many orders of one member at once, with every rule on: the statuses show whether concurrent checkouts
 * of one customer (retries, several tills) are absorbed or refused. No client-side retry here.
 */
async function oneMemberContention(base, token, member, orders, concurrency) {
  const put = await seedCall(base, 'PUT', `/v1/members/${member}`, { token, body: { name: `Contention ${member}` } })
  const statuses = {}
  let sample = null
  const start = Date.now()
  await pool(orders, concurrency, async (i) => {
    const orderId = `${member}-o-${i}`
    const res = await call(base, 'POST', '/v1/orders', { token, key: `k-${orderId}`, body: orderBody(7_000_000 + i, member, orderId) })
    statuses[res.status || 'network error'] = (statuses[res.status || 'network error'] ?? 0) + 1
    if (!is2xx(res) && !sample) sample = res
  })
  const ms = Date.now() - start
  if (!is2xx(put) && !sample) sample = put
  const ok = Object.entries(statuses).reduce((acc, [k, v]) => acc + (String(k).startsWith('2') ? v : 0), 0)
  return { member, orders, concurrency, statuses, ms, ok, sample }
}

/** Switches rules on or off through PUT /v1/rules/{id}; returns the ids that answered 2xx. */
async function setRulesActive(base, admin, rules, active, problems) {
  const done = []
  for (const rule of rules) {
    const res = await seedCall(base, 'PUT', `/v1/rules/${rule.id}`, { token: admin, body: { ...rule, active } })
    if (is2xx(res)) done.push(rule.id)
    else problems.push({ where: `cost: switch rule ${rule.id} ${active ? 'on' : 'off'}`, detail: describe(res) })
  }
  return done
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
  const cost = { small: null, big: null, baseline: null, contention: null }
  if (servers.baseline?.ok) {
    const up = await call(servers.baseline.base, 'POST', '/upsert', { body: { id: 'k0', value: 1 } })
    const sel = await call(servers.baseline.base, 'GET', '/select/k0')
    cost.baseline = { upsert: d1Stats(up), select: d1Stats(sel) }
  }
  if (!servers.engine?.ok || !seed) return cost
  const base = servers.engine.base
  const token = seed.checkout

  log(`contention: ${CFG.contentionOrders} orders of one member, ${CFG.historyConcurrency} in flight, all rules on`)
  cost.contention = await oneMemberContention(base, token, 'hot-member', CFG.contentionOrders, CFG.historyConcurrency)
  log(`contention: ${JSON.stringify(cost.contention.statuses)} in ${(cost.contention.ms / 1000).toFixed(1)} s`)
  if (cost.contention.sample) problems.push({ where: `one member, ${CFG.historyConcurrency} orders in flight`, detail: describe(cost.contention.sample) })

  // What is left of the run's time budget, keeping ~5 s for the cost probes and shutdown.
  const budget = Math.max(5_000, Math.min(CFG.historyBudgetMs, CFG.totalBudgetMs - (Date.now() - t0) - 5_000))
  log(`cost: building a history of ${CFG.historySmall} orders for member hist-small`)
  const small = await buildHistory(base, token, 'hist-small', CFG.historySmall, 1, 60_000, problems)

  // A firstOrder rule makes the engine guard every order of a member against concurrent orders of the
  // same member (see the contention figures), which would make 20 orders in flight for one member crawl.
  // The long history is setup, not the measurement: it is built with those rules off, and they are back on
  // before any cost is measured.
  const firstOrderRules = RULES.filter((r) => r.conditions.firstOrder !== undefined)
  const switchedOff = await setRulesActive(base, seed.admin, firstOrderRules, false, problems)
  log(
    `cost: building a history of ${CFG.historyBig} orders for member hist-big ` +
      `(${CFG.historyConcurrency} in flight, at most ${(budget / 1000).toFixed(0)} s` +
      `${switchedOff.length ? `, rule ${switchedOff.join(', ')} off meanwhile` : ''})`,
  )
  const big = await buildHistory(base, token, 'hist-big', CFG.historyBig, CFG.historyConcurrency, budget, problems)
  const switchedOn = await setRulesActive(base, seed.admin, firstOrderRules.filter((r) => switchedOff.includes(r.id)), true, problems)
  if (switchedOn.length !== switchedOff.length) throw new Error(`could not switch rule(s) back on: ${switchedOff.filter((id) => !switchedOn.includes(id)).join(', ')}`)
  if (switchedOff.length) {
    notes.push(
      `The long history was built with the firstOrder rule (${switchedOff.join(', ')}) switched off, and switched back on ` +
        `before measuring cost: with it on, orders of one member in flight together conflict (see "One member, many orders at once").`,
    )
  }
  log(`cost: hist-big got ${big.orderIds.length} orders in ${(big.ms / 1000).toFixed(1)} s${big.raceRetries ? ` (${big.raceRetries} retries after a 409 race)` : ''}`)
  if (big.raceRetries) notes.push(`Building the long history, ${big.raceRetries} orders were retried with the same key after a 409 "posted at the same moment".`)
  if (big.orderIds.length < CFG.historyBig) {
    notes.push(
      `The long history reached ${big.orderIds.length} orders (target ${CFG.historyBig}) within the ` +
        `${(budget / 1000).toFixed(0)} s budget${big.failures ? `; ${big.failures} orders failed` : ''}.`,
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

/** Distinct error lines of a server log (ANSI colours removed, the harmless DNS error left out). */
function engineLogErrors(logFile) {
  try {
    const lines = fs
      .readFileSync(logFile, 'utf8')
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;]*m/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /error|exception|uncaught/i.test(l) && !/ENOTFOUND|workers\.cloudflare\.com|Request\.cf|getaddrinfo|GetAddrInfoReqWrap/.test(l))
    const counts = new Map()
    for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1)
    return [...counts].slice(0, 15).map(([l, n]) => (n > 1 ? `${l}  (x${n})` : l))
  } catch {
    return []
  }
}

async function main() {
  const started = new Date()
  const loadAtStart = os.loadavg()[0]
  fs.mkdirSync(path.join(BENCH, '.tmp'), { recursive: true })
  const tmp = fs.mkdtempSync(path.join(BENCH, '.tmp', 'run-'))
  tmpDir = tmp
  log(`mode ${CFG.mode}; state and logs in ${rel(tmp)}`)

  const problems = []
  const notes = []
  if (loadAtStart > 0.5) {
    notes.push(
      `The 1-minute load average was ${loadAtStart.toFixed(2)} on ${os.cpus().length} cores when the run started: something ` +
        `else had been using the CPU in the last minute, so the figures may be noisier than on an idle machine.`,
    )
  }
  // BENCH_ENGINE_CONFIG benchmarks another build of the engine (a wrangler.toml path, relative to the repo root)
  let engineConfig = path.resolve(ROOT, process.env.BENCH_ENGINE_CONFIG || 'wrangler.toml')
  const engineMigrations = path.join(path.dirname(engineConfig), 'migrations')
  const baselineConfig = path.join(BENCH, 'baseline', 'wrangler.toml')
  const logs = { baseline: path.join(tmp, 'baseline.log'), engine: path.join(tmp, 'engine.log') }

  const engineReason = REF
    ? null
    : !fs.existsSync(engineConfig)
    ? 'no wrangler.toml at the repository root yet'
    : !fs.existsSync(engineMigrations) || !fs.readdirSync(engineMigrations).some((f) => f.endsWith('.sql'))
      ? `no migrations in ${rel(engineMigrations)} yet`
      : null

  const revision = engineRevision(REF)
  if (REF) {
    engineConfig = checkoutEngine(REF, path.join(tmp, 'engine-src'))
    log(`engine files of ${REF} extracted to ${rel(path.dirname(engineConfig))} (${revision})`)
  } else if (!engineReason && !LIVE) {
    engineConfig = snapshotEngine(engineConfig, path.join(tmp, 'engine-src'))
    log(`engine sources copied to ${rel(path.dirname(engineConfig))} (${revision})`)
  }

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
  // A dev server reloads its worker once when the other one registers; let that happen before seeding.
  await sleep(1500)
  for (const [name, srv] of Object.entries(servers)) {
    if (srv.ok && !(await waitForHealth(srv.base + '/health', { timeoutMs: 30_000 })).ok) throw new Error(`${name} stopped answering`)
  }

  log(
    `seeding baseline (${CFG.members} rows)` +
      (engine.ok ? ` and engine (merchant, program, ${RULES.length} rules, tiers, checkout key, ${CFG.members} members with one order each)` : ''),
  )
  const s0 = Date.now()
  const [baselineSeed, seed] = await Promise.all([
    seedBaseline(baseline.base, problems),
    engine.ok ? seedEngine(engine.base, problems, notes) : Promise.resolve(null),
  ])
  if (seed) {
    seed.ms = Date.now() - s0
    log(
      `engine seeded in ${(seed.ms / 1000).toFixed(1)} s: ${seed.rulesCreated} rules, tiers ${seed.tiers}, ` +
        `${seed.members} members, ${seed.orders.length} orders, ${seed.funded.length} members with points`,
    )
  }
  if (seedRetries) notes.push(`${seedRetries} seeding requests were retried after wrangler dev answered that it had reloaded the worker mid-request.`)

  log(
    `load: ${CFG.connections.join(' and ')} connections, ${CFG.duration} s per operation in ${CFG.rounds} alternating rounds ` +
      `(after ${CFG.warmup} s of warm-up per operation)`,
  )
  const load = await runLoad(servers, seed, problems, notes)

  log('cost per operation')
  const cost = await runCost(servers, seed, problems, notes)

  const logErrors = engine.ok ? engineLogErrors(logs.engine) : []
  await cleanup()
  log('servers stopped')

  // The expiry-job benchmark (bench/jobs.mjs) seeds its own databases and starts its own servers, so it
  // runs only once the servers above are gone.
  let jobsSection = null
  const hardLimitMs = QUICK ? 118_000 : 600_000
  if (!SKIP_JOBS && fs.existsSync(path.join(BENCH, 'jobs.mjs')) && Date.now() - t0 + CFG.jobsReserveMs > hardLimitMs) {
    notes.push(
      `The expiry-job section (bench/jobs.mjs) was skipped to keep the run under ${hardLimitMs / 60_000 < 2.5 ? '2' : '10'} minutes; ` +
        `\`node bench/jobs.mjs${QUICK ? ' --quick' : ''}\` runs it alone.`,
    )
  } else if (!SKIP_JOBS && fs.existsSync(path.join(BENCH, 'jobs.mjs'))) {
    log(`expiry job benchmark (bench/jobs.mjs${QUICK ? ' --quick' : ''})`)
    try {
      const jobs = await import('./jobs.mjs')
      const rows = await jobs.runJobsBench({ quick: QUICK })
      jobsSection = jobs.renderJobsSection(rows, 'npm run bench' + (QUICK ? ' -- --quick' : '') + ' (bench/jobs.mjs)')
      if (REF || !LIVE) notes.push('The expiry-job section runs the engine from the working tree (bench/jobs.mjs), not from the copy the other sections measured.')
    } catch (err) {
      await stopAll()
      notes.push(`The expiry-job benchmark (bench/jobs.mjs) failed: ${String(err?.message ?? err).split('\n')[0]}`)
    }
    log('expiry job benchmark done')
  }

  const nodeForWrangler = execFileSync(nodeBinary(ROOT), ['-v'], { encoding: 'utf8' }).trim()
  const env = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    elapsedS: (Date.now() - t0) / 1000,
    machine: `${os.platform()} ${os.arch()}, ${os.cpus().length} cores (${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory`,
    loadavg: { start: loadAtStart, end: os.loadavg()[0] },
    node: process.version,
    nodeForWrangler,
    wrangler: versionOf('wrangler'),
    engineRevision: revision,
    engineSnapshot: !LIVE || !!REF,
    autocannon: versionOf('autocannon'),
    command: process.env.npm_lifecycle_event === 'bench' ? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}` : `node bench/run.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`,
    devArgs: {
      engine: engine.ok ? engine.args : null,
      baseline: baseline.args,
    },
  }
  // Rule evaluation on its own (pure function, no servers): a few seconds.
  let rulesSection = null
  try {
    const rules = await import('./rules.mjs')
    rulesSection = rules.renderRulesSection(await rules.runRulesBench({ quick: QUICK }), 'npm run bench' + (QUICK ? ' -- --quick' : '') + ' (bench/rules.mjs)')
  } catch (err) {
    notes.push(`The rule-evaluation benchmark (bench/rules.mjs) failed: ${String(err?.message ?? err).split('\n')[0]}`)
  }
  const report = renderReport({ cfg: CFG, env, load, cost, seed, baselineSeed, problems, notes, logErrors, extraSections: [jobsSection, rulesSection] })
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

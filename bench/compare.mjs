// @ts-check
// Two builds of the engine under the same order load, in alternating rounds: how much faster or slower one
// change makes POST /v1/orders, to a few percent. The full benchmark compares the engine with a baseline
// worker and moves by several points between runs; this compares the engine with itself.
//
//   node bench/compare.mjs A B [--rounds 12] [--seconds 3] [--connections 50]
//
// A and B are git revisions (their committed files), `.` (the working tree, copied at the start), a
// directory holding a wrangler.toml, src/ and migrations/ (a build patched to measure something), or
// `baseline`: the benchmark's baseline worker under its single-row upsert instead of orders. Engine builds
// get the same seed: the benchmark's program, rules and tiers, and 300 members with one order each.
import fs from "node:fs";
import path from "node:path";
import { BENCH, PLATFORM_TOKEN, ROOT } from "./lib/config.mjs";
import { bringUp, checkoutEngine, snapshotEngine } from "./lib/engine.mjs";
import { call, pool, sleep } from "./lib/http.mjs";
import { measure } from "./lib/load.mjs";
import { groupCpuMs, stopAll, threadCpuMs } from "./lib/proc.mjs";
import { memberId, orderBody, PROGRAM, RULES, tiersBody } from "./lib/workload.mjs";

const MEMBERS = 300;

/** @param {string[]} argv */
function options(argv) {
  /** @param {string} flag @param {number} fallback */
  const named = (flag, fallback) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const builds = argv.filter(
    (/** @type {string} */ a, /** @type {number} */ i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"),
  );
  if (builds.length !== 2) {
    console.error("usage: node bench/compare.mjs A B [--rounds 12] [--seconds 3] [--connections 50]");
    process.exit(2);
  }
  return { builds, rounds: named("--rounds", 12), seconds: named("--seconds", 3), connections: named("--connections", 50) };
}

/**
 * The build's wrangler.toml, in a copy under `dest` (a directory build is served where it is).
 * @param {string} build
 * @param {string} dest
 */
function buildConfig(build, dest) {
  if (build === "baseline") return path.join(BENCH, "baseline", "wrangler.toml");
  if (fs.existsSync(path.join(build, "wrangler.toml")) && build !== ".") return path.resolve(build, "wrangler.toml");
  if (build === ".") return snapshotEngine(path.join(ROOT, "wrangler.toml"), dest);
  return checkoutEngine(build, dest);
}

/**
 * Program, rules, tiers, a checkout key and one order per member; returns the checkout key.
 * @param {string} base
 * @returns {Promise<string>}
 */
async function seed(base) {
  const merchant = await call(base, "POST", "/v1/merchants", {
    token: PLATFORM_TOKEN,
    body: { name: "Compare", currency: "CNY", timezone: "Asia/Shanghai" },
  });
  if (merchant.status !== 201) throw new Error(`merchant: ${merchant.status} ${merchant.text.slice(0, 200)}`);
  const admin = merchant.json.apiKey.secret;
  await call(base, "PUT", "/v1/program", { token: admin, body: PROGRAM });
  for (const rule of RULES) await call(base, "POST", "/v1/rules", { token: admin, body: rule });
  await call(base, "PUT", "/v1/tiers", { token: admin, body: tiersBody() });
  const key = await call(base, "POST", "/v1/api-keys", { token: admin, body: { scope: "checkout", name: "compare" } });
  const checkout = key.json.secret;
  await pool(MEMBERS, 8, async (i) => {
    const res = await call(base, "POST", "/v1/orders", {
      token: checkout,
      key: `seed-${i}`,
      body: orderBody(1_000_000 + i, memberId(i), `seed-${i}`),
    });
    if (res.status !== 201) throw new Error(`seed order: ${res.status} ${res.text.slice(0, 200)}`);
  });
  return checkout;
}

/**
 * CPU of the busiest thread between two readings: the one that bounds a local server's req/s.
 * @param {Map<string, number>} before
 * @param {Map<string, number>} after
 */
function busiestThreadMs(before, after) {
  let most = 0;
  for (const [thread, ms] of after) most = Math.max(most, ms - (before.get(thread) ?? ms));
  return most;
}

/** @param {number[]} xs */
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main() {
  const opts = options(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(BENCH, ".tmp", "compare-"));
  const run = /** @type {import("./lib/types.js").Run} */ (
    /** @type {unknown} */ ({ log: (/** @type {string} */ msg) => console.log(msg) })
  );
  const servers = await Promise.all(
    opts.builds.map(async (/** @type {string} */ build, /** @type {number} */ i) => {
      const name = i === 0 ? "A" : "B";
      const config = buildConfig(build, path.join(tmp, `${name}-src`));
      const server = await bringUp(run, {
        name: `${name} (${build})`,
        config,
        persist: path.join(tmp, `${name}-state`),
        vars: [`PLATFORM_TOKEN:${PLATFORM_TOKEN}`, "D1_STATS:on", "RATE_LIMITS:off"],
        logFile: path.join(tmp, `${name}.log`),
        healthPath: "/health",
      });
      if (!server.ok) throw new Error(server.reason);
      return { name, build, base: server.base, pid: /** @type {number} */ (server.pid) };
    }),
  );
  await sleep(1500);
  const tokens = [];
  for (const server of servers) tokens.push(server.build === "baseline" ? "" : await seed(server.base));
  const rounds = servers.map(() => /** @type {{ rps: number, cpu: number, thread: number }[]} */ ([]));
  let sequence = 0;
  for (let r = 0; r < opts.rounds; r++) {
    // Alternate which build goes first, so a drift of the machine falls on both.
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const { base, pid } = servers[i];
      /** @type {Map<string, number>[]} */
      const threads = [];
      const round = await measure({
        url: base,
        connections: opts.connections,
        duration: opts.seconds,
        lead: 0.5,
        headers: { authorization: `Bearer ${tokens[i]}` },
        make: (n) => {
          if (servers[i].build === "baseline") return { method: "POST", path: "/upsert", body: { id: `k${n % 3000}`, value: 1 } };
          const id = `load-${i}-${sequence++}`;
          return {
            method: "POST",
            path: "/v1/orders",
            headers: { "idempotency-key": id },
            body: orderBody(n, memberId(n % MEMBERS), id),
          };
        },
        cpu: () => {
          threads.push(threadCpuMs(pid));
          return groupCpuMs(pid);
        },
      });
      if (round.non2xx > 0) console.log(`  ${servers[i].name}: ${round.non2xx} non-2xx responses`);
      rounds[i].push({
        rps: round.ok / round.duration,
        cpu: (round.cpuMs ?? 0) / round.ok,
        thread: busiestThreadMs(threads[0], threads[1]) / round.ok,
      });
    }
    const [a, b] = rounds.map((rs) => rs[r]);
    console.log(
      `round ${r + 1}: A ${a.rps.toFixed(0)} req/s, ${a.cpu.toFixed(2)} ms CPU, ${a.thread.toFixed(2)} ms busiest thread | ` +
        `B ${b.rps.toFixed(0)} req/s, ${b.cpu.toFixed(2)} ms, ${b.thread.toFixed(2)} ms`,
    );
  }
  const summary = rounds.map((rs) => ({
    rps: median(rs.map((x) => x.rps)),
    cpu: median(rs.map((x) => x.cpu)),
    thread: median(rs.map((x) => x.thread)),
  }));
  const ratios = rounds[0].map((a, r) => rounds[1][r].rps / a.rps);
  for (const [i, s] of summary.entries())
    console.log(
      `${servers[i].name} ${servers[i].build}: median ${s.rps.toFixed(0)} req/s, ${s.cpu.toFixed(2)} ms CPU per order ` +
        `(server process group), ${s.thread.toFixed(2)} ms on its busiest thread`,
    );
  console.log(
    `B/A: req/s ${median(ratios).toFixed(3)} (median of per-round ratios, range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}); ` +
      `busiest-thread CPU ${(summary[1].thread / summary[0].thread).toFixed(3)}`,
  );
}

try {
  await main();
} finally {
  await stopAll();
}

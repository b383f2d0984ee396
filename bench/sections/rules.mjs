#!/usr/bin/env node
// @ts-check
// `node bench/sections/rules.mjs` (also run by `npm run bench`): rule evaluation, the pure function, on its own.
//
// Bundles src/earning/evaluate.ts and rule-set.ts with esbuild (already installed with wrangler), compiles
// 100 active rules once (per_amount on categories and skus, fixed with minAmount / channels / daysOfWeek /
// tiers / firstOrder, multipliers, a few with limits and one exclusive), as the isolate's configuration
// cache does, then evaluates a 20-item cart against them many times and reports time per evaluation; then
// again with 10 of the 100 rules using CEL expressions. The one-off compile is timed apart.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH, ROOT } from "../lib/config.mjs";
import { firstLine } from "../lib/format.mjs";

/** @import { Run } from "../lib/types.js" */

/**
 * @typedef {object} RulesResult
 * @property {RulesRun} plain 100 rules without expressions
 * @property {RulesRun} expressions the same with 10 rules using CEL expressions
 */

/**
 * @typedef {object} RulesRun
 * @property {number} iterations
 * @property {number} meanUs
 * @property {number} p50Us
 * @property {number} p99Us
 * @property {number} perSecond
 * @property {number} matched
 * @property {number} points
 * @property {number | null} compileUs median time to compile the rule set (once per configuration version); null
 *   when the engine has no compile step
 * @property {number} sink keeps the evaluations from being optimised away
 */

/**
 * The rule engine's evaluateRules and compileRules, bundled from the TypeScript source. esbuild is loaded
 * here, not at the top, so that a missing esbuild costs this section only.
 * @returns {Promise<Engine>}
 */
async function loadEngine() {
  const { build } = await import("esbuild");
  const out = path.join(BENCH, ".tmp", `evaluate-${process.pid}.mjs`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const compiles = fs.existsSync(path.join(ROOT, "src/earning/rule-set.ts"));
  await build({
    stdin: {
      contents: [
        'export { evaluateRules } from "./src/earning/evaluate.ts";',
        compiles ? 'export { compileRules } from "./src/earning/rule-set.ts";' : "",
      ].join("\n"),
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile: out,
    logLevel: "error",
  });
  const mod = await import(pathToFileURL(out).href);
  fs.rmSync(out, { force: true });
  return { evaluateRules: mod.evaluateRules, compileRules: mod.compileRules ?? null };
}

/** @typedef {(rules: unknown, order: unknown, member: unknown, timezone: string) => { pointsEarned: number, awards: unknown[] }} Evaluate */
/** @typedef {{ evaluateRules: Evaluate, compileRules: ((rules: unknown[]) => unknown) | null }} Engine */

/** CEL conditions of the kind marketers write, over the cart and the member. */
const EXPRESSIONS = [
  'order.items.exists(i, i.category == "tea" && i.quantity >= 2)',
  "order.amount >= 20000 && member.orderCount > 2",
  'member.tier in ["bronze", "silver"] && order.channel == "store"',
  "order.items.filter(i, i.unitPrice > 1500).size() >= 3",
  'member.attributes.vip == true || order.currency == "CNY"',
];

/**
 * 100 rules shaped like a real program's, deterministic; with `expressions`, every tenth rule also has a
 * CEL condition.
 * @param {{ expressions?: boolean }} [options]
 */
export function hundredRules({ expressions = false } = {}) {
  const categories = ["tea", "ware", "snacks", "gifts", "books", "home"];
  return Array.from({ length: 100 }, (_, i) => {
    const kind = i % 10 === 9 ? "multiplier" : i % 3 === 0 ? "fixed" : "per_amount";
    /** @type {Record<string, unknown>} */
    const conditions = {};
    if (i % 4 === 0) conditions.categories = [categories[i % categories.length], categories[(i + 1) % categories.length]];
    if (i % 7 === 0) conditions.skus = [`sku-${i % 20}`, `sku-${(i * 3) % 20}`];
    if (i % 5 === 0) conditions.minAmount = 5000 + i * 10;
    if (i % 6 === 0) conditions.channels = ["app", "web"];
    if (i % 8 === 0) conditions.daysOfWeek = [1, 2, 3, 4, 5];
    if (i % 11 === 0) conditions.tiers = ["gold", "silver"];
    if (i % 13 === 0) conditions.firstOrder = false;
    if (expressions && i % 10 === 4) conditions.expression = EXPRESSIONS[((i / 10) % EXPRESSIONS.length) | 0];
    const effect =
      kind === "per_amount"
        ? { kind, points: 1 + (i % 3), per: 100 }
        : kind === "fixed"
          ? { kind, points: 10 + i }
          : { kind, factor: 1.5 };
    return {
      id: `rule-${i}`,
      name: `rule ${i}`,
      active: true,
      priority: i % 10,
      startsAt: null,
      endsAt: null,
      conditions,
      effect,
      exclusive: i === 97,
      limits: i % 9 === 0 ? { perOrder: 200, budget: 1_000_000 } : null,
      version: 1,
    };
  });
}

export function twentyItemCart() {
  const categories = ["tea", "ware", "snacks", "gifts", "books", "home"];
  const items = Array.from({ length: 20 }, (_, i) => ({
    sku: `sku-${i}`,
    category: categories[i % categories.length],
    quantity: 1 + (i % 3),
    unitPrice: 500 + i * 137,
  }));
  const amount = items.reduce((s, it) => s + it.quantity * it.unitPrice, 0);
  return { amount, currency: "CNY", occurredAt: Date.parse("2026-11-18T04:00:00Z"), channel: "store", items };
}

/**
 * Median time to compile the rule set, in µs.
 * @param {(rules: unknown[]) => unknown} compileRules
 * @param {unknown[]} list
 */
function compileMedianUs(compileRules, list) {
  for (let i = 0; i < 200; i++) compileRules(list);
  const samples = new Float64Array(500);
  for (let i = 0; i < samples.length; i++) {
    const t = performance.now();
    compileRules(list);
    samples[i] = performance.now() - t;
  }
  return (samples.sort()[samples.length >> 1] ?? 0) * 1000;
}

/**
 * Times many evaluations of one rule set, compiled once beforehand as the Worker's configuration cache does.
 * @param {Engine} engine
 * @param {unknown[]} list
 * @param {number} iterations
 * @returns {RulesRun}
 */
function measure({ evaluateRules, compileRules }, list, iterations) {
  const rules = compileRules ? compileRules(list) : list;
  const order = twentyItemCart();
  const member = { tierId: "bronze", previousOrders: 4, attributes: { vip: false } };
  let sink = 0;
  for (let i = 0; i < 2_000; i++) sink += evaluateRules(rules, order, member, "Asia/Shanghai").pointsEarned;
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    sink += evaluateRules(rules, order, member, "Asia/Shanghai").pointsEarned;
    samples[i] = performance.now() - t;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (/** @type {number} */ q) => /** @type {number} */ (sorted[Math.floor(iterations * q)]);
  const mean = samples.reduce((s, x) => s + x, 0) / iterations;
  const result = evaluateRules(rules, order, member, "Asia/Shanghai");
  return {
    iterations,
    meanUs: mean * 1000,
    p50Us: at(0.5) * 1000,
    p99Us: at(0.99) * 1000,
    perSecond: Math.round(1000 / mean),
    matched: result.awards.length,
    points: result.pointsEarned,
    compileUs: compileRules ? compileMedianUs(compileRules, list) : null,
    sink,
  };
}

/**
 * @param {{ quick?: boolean }} [options]
 * @returns {Promise<RulesResult>}
 */
export async function runRulesBench({ quick = false } = {}) {
  const engine = await loadEngine();
  const iterations = quick ? 5_000 : 20_000;
  return {
    plain: measure(engine, hundredRules(), iterations),
    expressions: measure(engine, hundredRules({ expressions: true }), iterations),
  };
}

/**
 * The one-off compile, when the engine has one.
 * @param {RulesResult} r
 * @returns {string[]}
 */
function compileLine(r) {
  if (r.plain.compileUs === null || r.expressions.compileUs === null) return [];
  return [
    `Compiling the rule set, once per configuration version: ${r.plain.compileUs.toFixed(0)} µs (median) for the 100 rules, ` +
      `${r.expressions.compileUs.toFixed(0)} µs with the expressions (their CEL programs come from the isolate's cache after the first compile).`,
    "",
  ];
}

/**
 * @param {RulesResult} r
 * @param {string} command what produced the figures
 */
export function renderRulesSection(r, command) {
  const row = (/** @type {string} */ label, /** @type {RulesRun} */ x) =>
    `| ${label} | ${x.iterations.toLocaleString("en-US")} | ${x.meanUs.toFixed(1)} | ${x.p50Us.toFixed(1)} | ${x.p99Us.toFixed(1)} | ${x.perSecond.toLocaleString("en-US")} | ${x.matched} | ${x.points} |`;
  return [
    "## Rule evaluation (pure function)",
    "",
    `Command: \`${command}\`. A 20-item cart against 100 active rules (per_amount on categories and skus, fixed with`,
    "minAmount / channels / daysOfWeek / tiers / firstOrder, multipliers, some with limits, one exclusive), evaluated in",
    "Node 22 outside the Worker; then the same with 10 of the 100 rules also carrying a CEL expression. As in the Worker,",
    "the rules are compiled once (sorted, conditions as sets, CEL programs) and reused: the isolate caches the compiled set",
    "per configuration version, so the per-order figures below leave that step out; it is timed on its own after the table.",
    "",
    "| rules | evaluations | mean µs | p50 µs | p99 µs | evaluations/s | rules matched | points |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    row("100 rules", r.plain),
    row("100 rules, 10 with expressions", r.expressions),
    "",
    ...compileLine(r),
    `Reading: at ${r.plain.p50Us.toFixed(0)} µs (median) per evaluation, ${r.expressions.p50Us.toFixed(0)} µs with expressions, ` +
      "rules are a small part of an order's cost next to its D1 round trips.",
    "",
  ].join("\n");
}

/**
 * The section within `npm run bench` (a few seconds, no servers); a failure becomes a note.
 * @param {Run} run
 * @returns {Promise<string[]>} lines, ending with a blank one; none when it failed
 */
export async function rulesSection(run) {
  const command = `npm run bench${run.opts.quick ? " -- --quick" : ""} (bench/sections/rules.mjs)`;
  try {
    return [renderRulesSection(await runRulesBench({ quick: run.opts.quick }), command).trimEnd(), ""];
  } catch (err) {
    run.notes.push(`The rule-evaluation benchmark (bench/sections/rules.mjs) failed: ${firstLine(err)}`);
    return [];
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes("--quick");
  const r = await runRulesBench({ quick });
  console.log(renderRulesSection(r, `node bench/sections/rules.mjs${quick ? " --quick" : ""}`));
}

#!/usr/bin/env node
// @ts-check
// `node bench/sections/rules.mjs` (also run by `npm run bench`): rule evaluation, the pure function, on its own.
//
// Bundles src/earning/evaluate.ts with esbuild (already installed with wrangler), then evaluates a 20-item
// cart against 100 active rules (per_amount on categories and skus, fixed with minAmount / channels /
// daysOfWeek / tiers / firstOrder, multipliers) many times, and reports time per evaluation.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH, ROOT } from "../lib/config.mjs";
import { firstLine } from "../lib/format.mjs";

/** @import { Run } from "../lib/types.js" */

/**
 * @typedef {object} RulesResult
 * @property {number} iterations
 * @property {number} meanUs
 * @property {number} p50Us
 * @property {number} p99Us
 * @property {number} perSecond
 * @property {number} matched
 * @property {number} points
 * @property {number} sink keeps the evaluations from being optimised away
 */

/**
 * The rule engine's evaluateRules, bundled from the TypeScript source. esbuild is loaded here, not at the
 * top, so that a missing esbuild costs this section only.
 * @returns {Promise<(rules: unknown[], order: unknown, member: unknown, timezone: string) => { pointsEarned: number, awards: unknown[] }>}
 */
async function loadEvaluate() {
  const { build } = await import("esbuild");
  const out = path.join(BENCH, ".tmp", `evaluate-${process.pid}.mjs`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await build({
    entryPoints: [path.join(ROOT, "src/earning/evaluate.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile: out,
    logLevel: "error",
  });
  const mod = await import(pathToFileURL(out).href);
  fs.rmSync(out, { force: true });
  return mod.evaluateRules;
}

/** 100 rules shaped like a real program's, deterministic. */
export function hundredRules() {
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
  return { amount, occurredAt: Date.parse("2026-11-18T04:00:00Z"), channel: "store", items };
}

/**
 * @param {{ quick?: boolean }} [options]
 * @returns {Promise<RulesResult>}
 */
export async function runRulesBench({ quick = false } = {}) {
  const evaluateRules = await loadEvaluate();
  const rules = hundredRules();
  const order = twentyItemCart();
  const member = { tierId: "bronze", previousOrders: 4 };
  const iterations = quick ? 5_000 : 20_000;
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
    sink,
  };
}

/**
 * @param {RulesResult} r
 * @param {string} command what produced the figures
 */
export function renderRulesSection(r, command) {
  return [
    "## Rule evaluation (pure function)",
    "",
    `Command: \`${command}\`. A 20-item cart against 100 active rules (per_amount on categories and skus, fixed with`,
    "minAmount / channels / daysOfWeek / tiers / firstOrder, multipliers), evaluated in Node 22 outside the Worker.",
    "",
    "| evaluations | mean µs | p50 µs | p99 µs | evaluations/s | rules matched | points |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    `| ${r.iterations.toLocaleString("en-US")} | ${r.meanUs.toFixed(1)} | ${r.p50Us.toFixed(1)} | ${r.p99Us.toFixed(1)} | ${r.perSecond.toLocaleString("en-US")} | ${r.matched} | ${r.points} |`,
    "",
    `Reading: at ${r.meanUs.toFixed(0)} µs per evaluation, rules are a small part of an order's cost next to its D1 round trips.`,
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

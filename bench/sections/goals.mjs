// @ts-check
// Goals: each a ratio of an engine run to the baseline run at the same connections. With several rounds,
// the per-round ratios (engine round i against baseline round i, minutes apart at most) show how much of
// the verdict is noise: when they fall on both sides of the target the verdict is marked borderline.
import { measured, pct, table, times } from "../lib/format.mjs";
import { perRound, rpsRatio } from "../lib/load.mjs";

/** @import { Config, Load } from "../lib/types.js" */

/**
 * @typedef {object} Verdict
 * @property {string} name
 * @property {number} c connections
 * @property {number | null} value
 * @property {boolean | null} met null when not measured
 * @property {boolean} [borderline]
 * @property {(x: number) => string} show
 */

const GOALS = {
  accrualRps: 0.6, // order accrual req/s >= 60% of the upsert's
  balanceRps: 0.8, // balance read req/s >= 80% of the select's
  accrualP99: 2, // order accrual p99 < 2x the upsert's
};

/** @type {(v: number, t: number) => boolean} */
const atLeast = (v, t) => v >= t;
/** @type {(v: number, t: number) => boolean} */
const below = (v, t) => v < t;

/** Each goal: engine and baseline operation, the ratio compared, and how it is shown. */
const SPECS = /** @type {const} */ ([
  {
    name: "accrual req/s vs upsert",
    engine: "order",
    base: "upsert",
    key: "roundRps",
    target: GOALS.accrualRps,
    pass: atLeast,
    show: pct,
    targetText: `>= ${pct(GOALS.accrualRps)}`,
  },
  {
    name: "balance read req/s vs select",
    engine: "balance",
    base: "select",
    key: "roundRps",
    target: GOALS.balanceRps,
    pass: atLeast,
    show: pct,
    targetText: `>= ${pct(GOALS.balanceRps)}`,
  },
  {
    name: "accrual p99 vs upsert p99",
    engine: "order",
    base: "upsert",
    key: "roundP99",
    target: GOALS.accrualP99,
    pass: below,
    show: times,
    targetText: `< ${GOALS.accrualP99}x`,
  },
]);

/**
 * The Goals table's rows and the verdicts the Reading repeats, in the same order.
 * @param {Config} cfg
 * @param {Load} load
 */
export function evaluateGoals(cfg, { results }) {
  /** @type {(string | number)[][]} */
  const rows = [];
  /** @type {Verdict[]} */
  const verdicts = [];
  for (const c of cfg.connections) {
    for (const { name, engine, base, key, target, pass, show, targetText } of SPECS) {
      const e = results[engine]?.[c];
      const b = results[base]?.[c];
      if (!measured(e) || !measured(b)) {
        rows.push([name, c, "n/a", targetText, "n/a", ""]);
        verdicts.push({ name, c, value: null, met: null, show });
        continue;
      }
      const value = key === "roundRps" ? rpsRatio(e, b) : /** @type {number} */ (e.p99) / /** @type {number} */ (b.p99);
      const met = pass(value, target);
      const rr = perRound(e, b, key);
      const borderline = rr.length > 1 && rr.some((x) => pass(x, target)) && rr.some((x) => !pass(x, target));
      const range = rr.length ? `${show(Math.min(...rr))} - ${show(Math.max(...rr))}` : "";
      rows.push([name, c, show(value), targetText, `${met ? "met" : "NOT met"}${borderline ? " (borderline)" : ""}`, range]);
      verdicts.push({ name, c, value, met, borderline, show });
    }
  }
  return { rows, verdicts };
}

/**
 * @param {{ rows: (string | number)[][] }} goals
 * @returns {string[]} lines, ending with a blank one
 */
export function renderGoals({ rows }) {
  return ["### Goals", "", table(["Goal", "Conns", "Measured", "Target", "Result", "Per-round range"], rows), ""];
}

/**
 * One Reading line per goal, with its value at each connection count.
 * @param {Verdict[]} verdicts
 * @returns {string[]}
 */
export function goalsReading(verdicts) {
  const reading = [];
  if (!verdicts.some((v) => v.met !== null))
    reading.push("No goal could be evaluated: the engine routes were not measured in this run.");
  for (const name of [...new Set(verdicts.map((v) => v.name))]) {
    const vs = verdicts.filter((v) => v.name === name && v.met !== null);
    if (!vs.length) continue;
    const parts = vs.map(
      (v) =>
        `${v.show(/** @type {number} */ (v.value))} at ${v.c} connections (${v.met ? "met" : "not met"}${v.borderline ? ", borderline: the rounds fall on both sides" : ""})`,
    );
    reading.push(`${name}: ${parts.join(", ")}.`);
  }
  return reading;
}

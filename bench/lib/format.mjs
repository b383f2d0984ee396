// @ts-check
// Number formats and Markdown tables for the report. Every figure shown comes from the run being reported.

/** @import { LoadResult, NotMeasured } from "./types.js" */

/** @param {number | null | undefined} x */
export const n0 = (x) => (x === null || x === undefined || Number.isNaN(x) ? "n/a" : Math.round(x).toLocaleString("en-US"));
/** @param {number | null | undefined} x milliseconds */
export const ms = (x) => (x === null || x === undefined ? "n/a" : x < 10 ? x.toFixed(1) : String(Math.round(x)));
/** @param {number | null | undefined} x */
export const pct = (x) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${(x * 100).toFixed(0)}%`);
/** @param {number | null | undefined} x */
export const times = (x) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${x.toFixed(2)}x`);

/**
 * @param {(string | number)[]} head
 * @param {(string | number)[][]} rows
 */
export const table = (head, rows) =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

/**
 * @param {LoadResult | NotMeasured | null | undefined} r
 * @returns {r is LoadResult}
 */
export const measured = (r) => !!r && !("na" in r && r.na);

/** First line of an error's message, for a note. @param {unknown} err */
export const firstLine = (err) => String(/** @type {Error} */ (err)?.message ?? err).split("\n")[0];

// @ts-check
// Reading: what the run's figures say, one line per finding, each computed from this run's numbers.

import { contentionReading } from "./contention.mjs";
import { goalsReading } from "./goals.mjs";
import { loadReading } from "./load.mjs";
import { costReading, growthReading } from "./rows.mjs";

/** @import { BaselineCost, Config, Contention, Load, RowsCost } from "../lib/types.js" */
/** @import { Verdict } from "./goals.mjs" */

/**
 * @param {object} o
 * @param {Config} o.cfg
 * @param {Verdict[]} o.verdicts
 * @param {Load} o.load
 * @param {RowsCost} o.rows
 * @param {BaselineCost | null} o.baselineCost
 * @param {Contention | null} o.contention
 * @returns {string[]} lines, ending with a blank one
 */
export function renderReading({ cfg, verdicts, load, rows, baselineCost, contention }) {
  const reading = [
    ...goalsReading(verdicts),
    ...loadReading(cfg, load),
    ...costReading(rows, baselineCost),
    ...contentionReading(contention),
    ...growthReading(rows),
  ];
  return ["## Reading", "", ...reading.map((r) => `- ${r}`), ""];
}

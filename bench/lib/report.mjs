// @ts-check
// bench/RESULTS.md: the sections in their order. Every figure and every sentence of the reading is
// computed from this run's numbers; nothing is carried over from earlier runs.
import { renderContention } from "../sections/contention.mjs";
import { renderEnvironment } from "../sections/environment.mjs";
import { evaluateGoals, renderGoals } from "../sections/goals.mjs";
import { renderLoad } from "../sections/load.mjs";
import { renderNotes, renderProblems } from "../sections/problems.mjs";
import { renderReading } from "../sections/reading.mjs";
import { renderRows } from "../sections/rows.mjs";
import { renderSetup } from "../sections/setup.mjs";

/** @import { BaselineCost, BaselineSeed, Config, Contention, Environment, Load, Problem, RowsCost, Seed } from "./types.js" */

/**
 * @param {object} r
 * @param {Config} r.cfg
 * @param {Environment} r.env
 * @param {Load} r.load
 * @param {RowsCost} r.rows
 * @param {BaselineCost | null} r.baselineCost
 * @param {Contention | null} r.contention
 * @param {Seed | null} r.seed
 * @param {BaselineSeed} r.baselineSeed
 * @param {Problem[]} r.problems
 * @param {string[]} r.notes
 * @param {string[]} r.logErrors
 * @param {string[][]} r.extraSections jobs and rules, as lines (empty when skipped)
 */
export function renderReport({
  cfg,
  env,
  load,
  rows,
  baselineCost,
  contention,
  seed,
  baselineSeed,
  problems,
  notes,
  logErrors,
  extraSections,
}) {
  const goals = evaluateGoals(cfg, load);
  return [
    ...renderEnvironment(cfg, env),
    ...renderLoad(cfg, load),
    ...renderGoals(goals),
    ...renderRows(cfg, rows, baselineCost),
    ...renderContention(contention),
    ...extraSections.flat(),
    ...renderSetup(baselineSeed, seed),
    ...renderProblems(problems, logErrors),
    ...renderNotes(notes),
    ...renderReading({ cfg, verdicts: goals.verdicts, load, rows, baselineCost, contention }),
  ].join("\n");
}

// @ts-check
// Engine problems seen (unexpected statuses, error lines of the engine's log) and the run's notes.
import fs from "node:fs";

/** @import { Problem } from "../lib/types.js" */

/**
 * Distinct error lines of a server log (ANSI colours removed, the harmless DNS error left out).
 * @param {string} logFile
 */
export function engineLogErrors(logFile) {
  try {
    const lines = fs
      .readFileSync(logFile, "utf8")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI colour codes wrangler writes
      .replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n")
      .map((l) => l.trim())
      .filter(
        (l) =>
          /error|exception|uncaught/i.test(l) &&
          !/ENOTFOUND|workers\.cloudflare\.com|Request\.cf|getaddrinfo|GetAddrInfoReqWrap/.test(l),
      );
    /** @type {Map<string, number>} */
    const counts = new Map();
    for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
    return [...counts].slice(0, 15).map(([l, n]) => (n > 1 ? `${l}  (x${n})` : l));
  } catch {
    return [];
  }
}

/**
 * Each problem once (the same request shape with other numbers counts as the same problem).
 * @param {Problem[]} problems
 * @param {string[]} logErrors
 * @returns {string[]} lines, ending with a blank one
 */
export function renderProblems(problems, logErrors) {
  const out = ["## Engine problems seen", ""];
  if (!problems.length && !logErrors.length) out.push("None: no unexpected status, no error in the engine log.");
  const seen = new Set();
  for (const p of problems) {
    const k = `${p.where}|${p.detail.replace(/\d+/g, "#")}`.slice(0, 200);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(`- ${p.where}: \`${p.detail.replace(/`/g, "'")}\``);
  }
  if (logErrors.length) {
    out.push("", "Error lines in the engine server log:", "", "```", ...logErrors.map((l) => l.slice(0, 300)), "```");
  }
  out.push("");
  return out;
}

/**
 * @param {string[]} notes
 * @returns {string[]} lines, ending with a blank one; none without notes
 */
export function renderNotes(notes) {
  if (!notes.length) return [];
  return ["## Notes", "", ...notes.map((n) => `- ${n}`), ""];
}

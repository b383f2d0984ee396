#!/usr/bin/env node
// @ts-check
/**
 * The dependency rule of src/ (ENGINEERING.md, "Shape of the code"), checked on every `npm run lint`:
 * - platform/ and db/ import no capability;
 * - ledger/ imports only ledger/, platform/ and db/;
 * - earning/ imports no capability's routes or service;
 * - activity/ (member activity per period, shared by orders, refunds, tiers, rebates) imports only platform/ and db/;
 * - no capability imports another capability's routes.ts or service.ts (jobs/ may call services);
 * - routes.ts files are imported only by app.ts;
 * - no two capabilities import each other (shared logic belongs in a layer, e.g. earning/).
 * Prints every violation as `file -> import: rule` and exits 1 when there is one.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

/** Folders that are not capabilities: shared layers with rules of their own. */
const LAYERS = new Set(["platform", "db", "ledger", "earning", "activity"]);

/** @param {string} dir @returns {string[]} */
function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** Relative imports of a file, resolved to paths under src/ (type-only imports count too). */
/** @param {string} file @returns {string[]} */
function importsOf(file) {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/\bfrom\s+"(\.[^"]+)"/g)].map((m) => m[1] ?? "");
  return specs.map((spec) => relative(src, resolve(dirname(file), spec.endsWith(".ts") ? spec : `${spec}.ts`)));
}

/** @param {string} path */
const folderOf = (path) => (path.includes("/") ? (path.split("/")[0] ?? "") : "");
/** @param {string} path */
const baseOf = (path) => path.split("/").at(-1) ?? "";

/** @param {string} from @param {string} to @returns {string | null} */
function violation(from, to) {
  const a = folderOf(from);
  const b = folderOf(to);
  if (baseOf(to) === "routes.ts" && from !== "app.ts") return "routes are mounted by app.ts only";
  if ((a === "platform" || a === "db") && b !== "" && !["platform", "db"].includes(b)) return `${a}/ imports no capability`;
  if (a === "ledger" && !["ledger", "platform", "db"].includes(b)) return "ledger/ imports only ledger/, platform/ and db/";
  if (a === "activity" && !["activity", "platform", "db"].includes(b)) return "activity/ imports only platform/ and db/";
  if (a !== b && baseOf(to) === "service.ts" && a !== "jobs" && b !== "" && !LAYERS.has(b))
    return "a capability calls another capability's service only from jobs/";
  return null;
}

const problems = sourceFiles(src).flatMap((file) => {
  const from = relative(src, file);
  return importsOf(file).flatMap((to) => {
    const rule = violation(from, to);
    return rule ? [`src/${from} -> src/${to}: ${rule}`] : [];
  });
});

/** Capability folders importing each other, both ways. */
const edges = new Set(
  sourceFiles(src).flatMap((file) => {
    const a = folderOf(relative(src, file));
    return importsOf(file)
      .map((to) => folderOf(to))
      .filter((b) => a !== b && a !== "" && b !== "" && !LAYERS.has(a) && !LAYERS.has(b))
      .map((b) => `${a}>${b}`);
  }),
);
for (const edge of edges) {
  const [a, b] = edge.split(">");
  if (a && b && a < b && edges.has(`${b}>${a}`))
    problems.push(`src/${a}/ <-> src/${b}/: capabilities must not import each other`);
}

if (problems.length > 0) {
  console.error(`Dependency rule broken (${problems.length}):\n${problems.join("\n")}`);
  process.exit(1);
}
console.log("Dependency rule holds for every import in src/.");

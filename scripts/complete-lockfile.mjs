#!/usr/bin/env node
// @ts-check
/**
 * Adds the other platforms' workerd binaries to package-lock.json as optional entries.
 *
 * workerd ships one optional package per platform. When the registry an install runs against serves only
 * some platforms' builds, npm leaves the others out of the lockfile and `npm ci` then refuses the lockfile
 * as out of sync. Listing them (optional, with their os/cpu) makes the lockfile complete; npm skips them
 * on other platforms without fetching them. Run after any `npm install` that rewrites the lockfile:
 *   node scripts/complete-lockfile.mjs
 */
import { readFileSync, writeFileSync } from "node:fs";

/** @type {Record<string, { os: string[], cpu: string[] }>} */
const PLATFORMS = {
  "darwin-64": { os: ["darwin"], cpu: ["x64"] },
  "darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "linux-64": { os: ["linux"], cpu: ["x64"] },
  "linux-arm64": { os: ["linux"], cpu: ["arm64"] },
  "windows-64": { os: ["win32"], cpu: ["x64"] },
};

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  if (!path.endsWith("node_modules/workerd")) continue;
  const prefix = path.slice(0, -"workerd".length);
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const platform = PLATFORMS[name.replace("@cloudflare/workerd-", "")];
    if (!platform || lock.packages[prefix + name]) continue;
    lock.packages[prefix + name] = { version, ...platform, license: "Apache-2.0", optional: true, engines: { node: ">=16" } };
    added++;
  }
}
/** @type {(a: string, b: string) => number} */
const order = (a, b) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0);
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => order(a, b)));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} optional workerd platform entries added`);

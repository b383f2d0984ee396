#!/usr/bin/env node
// @ts-check
/**
 * `npm start`: local engine on the embedded D1.
 * 1. creates .dev.vars from .dev.vars.example when missing (PLATFORM_TOKEN for local use);
 * 2. applies the migrations to the local D1 (.wrangler/state);
 * 3. copies the docs UI's files into dist/docs-ui (the Worker bundles them) and starts `wrangler dev` on
 *    127.0.0.1:8787, with --test-scheduled so the cron jobs can be triggered by hand (curl .../__scheduled);
 * 4. seeds a demo merchant once (keys kept in .wrangler/demo-merchant.json; a later start reuses them)
 *    and prints its keys as `export NAME=value` lines to paste into a shell, the base URL and the docs URL.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { seedDemo } from "./demo-seed.mjs";
import { copyDocsAssets } from "./docs-assets.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const host = "127.0.0.1";
const port = Number(process.env.PORT ?? 8787);
const baseUrl = `http://${host}:${port}`;
const demoFile = join(root, ".wrangler", "demo-merchant.json");
const wrangler = join(root, "node_modules", ".bin", "wrangler");

/** The variables of .dev.vars (created from .dev.vars.example on first start). */
function readVars() {
  const path = join(root, ".dev.vars");
  if (!existsSync(path)) {
    copyFileSync(join(root, ".dev.vars.example"), path);
    console.log("Created .dev.vars from .dev.vars.example");
  }
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (match?.[1] && match[2] !== undefined) vars[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

async function waitForHealth(timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${baseUrl}/health`);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the engine did not answer on ${baseUrl}/health within ${timeoutMs / 1000} s`);
}

/**
 * The demo merchant of an earlier start while its key still works, else a newly seeded one.
 * @param {string | undefined} platformToken
 * @returns {Promise<{ demo: import("./demo-seed.mjs").Demo, reused: boolean }>}
 */
async function loadOrSeedDemo(platformToken) {
  if (existsSync(demoFile)) {
    const demo = JSON.parse(readFileSync(demoFile, "utf8"));
    const check = await fetch(`${baseUrl}/v1/program`, { headers: { authorization: `Bearer ${demo.adminKey}` } });
    if (check.ok) return { demo, reused: true };
  }
  const demo = await seedDemo(baseUrl, platformToken);
  mkdirSync(dirname(demoFile), { recursive: true });
  writeFileSync(demoFile, JSON.stringify(demo, null, 2));
  return { demo, reused: false };
}

const vars = readVars();
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

copyDocsAssets();
const devArgs = ["dev", "--ip", host, "--port", String(port), "--test-scheduled", "--show-interactive-dev-session=false"];
const dev = spawn(wrangler, devArgs, {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  env: process.env,
});
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));

try {
  await waitForHealth();
  const { demo, reused } = await loadOrSeedDemo(vars.PLATFORM_TOKEN);
  console.log(`
Loyalty engine running (${reused ? "demo merchant reused" : "demo merchant seeded"}).
  Docs:          ${baseUrl}/docs   (OpenAPI: ${baseUrl}/openapi.json)
  Merchant:      ${demo.merchantId} (${demo.currency}, ${demo.timezone})
  Demo members:  ${demo.members.join(", ")}

Paste into another shell (KEY is the checkout key, the one a till uses):

export BASE=${baseUrl}
export KEY=${demo.checkoutKey}
export ADMIN_KEY=${demo.adminKey}
export READ_KEY=${demo.readKey}
export PLATFORM_TOKEN=${vars.PLATFORM_TOKEN ?? ""}

Then try:  curl -s $BASE/v1/members/${demo.members[0]} -H "Authorization: Bearer $KEY"
Run the scheduled jobs now:  curl -s "$BASE/__scheduled?cron=*+*+*+*+*"
`);
} catch (error) {
  console.error(String(error));
  dev.kill("SIGTERM");
  process.exit(1);
}

#!/usr/bin/env node
// @ts-check
/**
 * `npm run lint:openapi`: writes the OpenAPI document (dist/openapi.json, see openapi.mjs) and lints it with
 * Redocly (redocly.yaml). Fails on any error or warning. Telemetry and update checks are off: CI has no
 * network, and nothing about the project should leave the machine.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openApiText } from "./openapi.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
writeFileSync(join(root, "dist", "openapi.json"), await openApiText());

const lint = spawnSync(join(root, "node_modules", ".bin", "redocly"), ["lint", "dist/openapi.json"], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
});
const output = `${lint.stdout}${lint.stderr}`;
process.stdout.write(output);
const warned = /You have \d+ warnings?/.test(output);
if (lint.status !== 0 || warned) {
  console.error(`OpenAPI lint failed: ${warned ? "warnings" : `exit ${lint.status}`} (fix them, or waive one with a reason)`);
  process.exit(1);
}

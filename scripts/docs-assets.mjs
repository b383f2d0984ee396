#!/usr/bin/env node
// @ts-check
/**
 * Copies the docs UI's files from swagger-ui-dist (pinned in package.json) into dist/docs-ui/, where the
 * Worker imports them as modules (src/docs/ui-files.ts) and serves them under /docs/assets/. The `.txt` and
 * `.bin` suffixes select wrangler's default module rules (text and binary data), which the test pool shares,
 * so no build configuration is needed. Runs after `npm install` (postinstall) and before `wrangler dev`,
 * `npm start`, `npm test` and deploys; copying again is harmless.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The files /docs loads (the UI bundle, its stylesheet and the icon), and the module each becomes. */
export const DOCS_ASSET_FILES = {
  "swagger-ui-bundle.js": "swagger-ui-bundle.js.txt",
  "swagger-ui.css": "swagger-ui.css.txt",
  "favicon-32x32.png": "favicon-32x32.png.bin",
};

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Copies the files; returns the directory they were copied to. */
export function copyDocsAssets() {
  const from = join(root, "node_modules", "swagger-ui-dist");
  const to = join(root, "dist", "docs-ui");
  mkdirSync(to, { recursive: true });
  for (const [file, module] of Object.entries(DOCS_ASSET_FILES)) copyFileSync(join(from, file), join(to, module));
  return to;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets();

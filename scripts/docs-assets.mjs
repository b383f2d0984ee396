#!/usr/bin/env node
// @ts-check
/**
 * Copies the docs UI's files from swagger-ui-dist (pinned in package.json) into dist/assets/docs/assets/,
 * the directory wrangler serves as static assets (wrangler.toml `[assets]`). Runs after `npm install`
 * (postinstall) and before `wrangler dev`, `npm start`, `npm test` and deploys; copying again is harmless.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The files /docs loads: the UI bundle, its stylesheet and the icon. */
export const DOCS_ASSET_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Copies the files; returns the directory they were copied to. */
export function copyDocsAssets() {
  const from = join(root, "node_modules", "swagger-ui-dist");
  const to = join(root, "dist", "assets", "docs", "assets");
  mkdirSync(to, { recursive: true });
  for (const file of DOCS_ASSET_FILES) copyFileSync(join(from, file), join(to, file));
  return to;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsAssets();

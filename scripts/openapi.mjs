#!/usr/bin/env node
// @ts-check
/**
 * Writes the OpenAPI document to dist/openapi.json (or the path given), exactly as GET /openapi.json serves
 * it: createApp() is bundled with esbuild and asked for the document in Node, without starting a Worker.
 *   node scripts/openapi.mjs [out.json]
 * `npm run lint:openapi` lints the written file with Redocly; `npm run client:generate` types it.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The document createApp() serves, as pretty-printed JSON text. */
export async function openApiText() {
  const bundle = join(root, "dist", "openapi-app.mjs");
  mkdirSync(dirname(bundle), { recursive: true });
  await build({
    entryPoints: [join(root, "src", "app.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    outfile: bundle,
    // The docs UI's files (src/docs/ui-files.ts): text as wrangler loads it; the icon as base64 text, since
    // the document needs no file and esbuild's binary loader needs a newer Node than 20.
    loader: { ".txt": "text", ".bin": "base64" },
    logLevel: "error",
  });
  try {
    /** @type {{ createApp(): { request(path: string, init: object, env: object): Promise<Response> } }} */
    const { createApp } = await import(pathToFileURL(bundle).href);
    // The document needs no binding; the database middleware only wraps the (unused) D1 binding.
    const response = await createApp().request("/openapi.json", {}, { DB: {}, D1_STATS: "off" });
    if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}: ${await response.text()}`);
    return `${JSON.stringify(await response.json(), null, 2)}\n`;
  } finally {
    rmSync(bundle, { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? join(root, "dist", "openapi.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, await openApiText());
  console.log(`OpenAPI document written to ${out}`);
}

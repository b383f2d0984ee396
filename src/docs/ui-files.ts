/**
 * The docs UI's files (swagger-ui-dist, copied into dist/docs-ui by scripts/docs-assets.mjs), bundled into
 * the Worker and served under /docs/assets/. Serving them from the Worker rather than as static assets keeps
 * every API request free of the asset router in front of it: under `wrangler dev` that router cost each
 * order about 1.5 ms of CPU (the engine measured side by side with and without `[assets]`), more than a
 * third of what the benchmark's baseline upsert costs in all.
 */

import favicon from "../../dist/docs-ui/favicon-32x32.png.bin";
import stylesheet from "../../dist/docs-ui/swagger-ui.css.txt";
import bundle from "../../dist/docs-ui/swagger-ui-bundle.js.txt";

export interface DocsFile {
  body: string | ArrayBuffer;
  contentType: string;
}

export const DOCS_FILES: Readonly<Record<string, DocsFile>> = {
  "swagger-ui-bundle.js": { body: bundle, contentType: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { body: stylesheet, contentType: "text/css; charset=utf-8" },
  "favicon-32x32.png": { body: favicon, contentType: "image/png" },
};

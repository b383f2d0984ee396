/**
 * The API's self-description: GET /openapi.json (OpenAPI 3.1 from the routes' zod schemas), the docs UI at
 * GET /docs (Swagger UI from the pinned swagger-ui-dist, its files bundled into the Worker and served
 * under /docs/assets/, nothing loaded from another origin) and GET /health.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/context";
import { ApiError } from "../platform/errors";
import { jsonResponse, RESPONSE_HEADERS } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { API_GUIDE } from "./guide";
import { DOCS_FILES } from "./ui-files";

export const DOCS_ASSETS = "/docs/assets";

/** Tags in the order the docs list them, each with its description (every operation has one of them). */
export const TAGS = [
  { name: "Merchants and keys", description: "Merchants (platform token) and their API keys." },
  { name: "Program", description: "Program settings: point value, return window, expiry, auto-enrolment, browser origins." },
  { name: "Members", description: "Members, their points, ledger, expiring points, adjustments, tokens, export and erasure." },
  { name: "Member API", description: "The member's own view with a member token (`/v1/me*`); CORS for the program's origins." },
  { name: "Checkout", description: "Orders, quotes and refunds: points earned and reversed." },
  { name: "Redemptions", description: "Points spent as payment: captured at once, or held then captured or cancelled." },
  { name: "Earning rules", description: "Rules that decide what orders earn, their versions and simulation." },
  {
    name: "Stamp cards and vouchers",
    description: "Cards that count orders or items toward a reward, and the vouchers they issue.",
  },
  {
    name: "Referrals",
    description:
      "Members' referral codes, and the referrals they made: paid when the referee's first order passes the return window.",
  },
  { name: "Tiers", description: "Frequent-buyer tiers: the ladder, members' status, progress, history, manual tiers, previews." },
  { name: "Rebates", description: "Profit-sharing rebates: programs, period previews and closes, reports, member statements." },
  { name: "Perks", description: "Perks that grow with the relationship, their uses, and the switching-cost statement." },
  { name: "Operations", description: "Health, scheduled jobs and their runs." },
];

const HealthSchema = z.object({ ok: z.literal(true) }).openapi("Health");

export const docsRouter = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/health",
    operationId: "getHealth",
    tags: ["Operations"],
    summary: "Health check",
    description: "Answers without credentials while the Worker runs. It does not touch D1.",
    security: [],
    responses: { 200: jsonResponse(HealthSchema, "The engine is up") },
  }),
  (c) => c.json({ ok: true as const }, 200),
);

/** Registers /openapi.json, /docs and the document's shared components on the app. */
export function documentation(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description:
      "A merchant API key (`lk_...`, scopes admin / checkout / read), a member token (`mt_...`, /v1/me routes only) " +
      "or the platform token (creates merchants only).",
  });
  for (const [name, header] of Object.entries(RESPONSE_HEADERS))
    app.openAPIRegistry.registerComponent("headers", name, header as never);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edge loyalty engine",
      version: "1.0.0",
      description: API_GUIDE,
      license: { name: "MIT", url: "https://spdx.org/licenses/MIT.html" },
    },
    servers: [{ url: "/", description: "The engine serving this document" }],
    tags: TAGS,
    security: [{ bearerAuth: [] }],
  });
  app.get("/docs", (c) => {
    c.header("content-security-policy", DOCS_CSP);
    return c.html(DOCS_PAGE);
  });
  app.get(`${DOCS_ASSETS}/:file`, (c) => {
    const name = c.req.param("file");
    const file = Object.hasOwn(DOCS_FILES, name) ? DOCS_FILES[name] : undefined;
    if (!file) throw new ApiError("not_found", "No such route.");
    // The files change only with the pinned swagger-ui-dist version, so browsers may keep them a day.
    c.header("content-type", file.contentType);
    c.header("cache-control", "public, max-age=86400");
    return c.body(file.body);
  });
  app.get("/docs/init.js", (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    return c.body(DOCS_INIT);
  });
}

/** Only this origin: the page can load nothing from elsewhere, whatever the UI would try. */
const DOCS_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Edge loyalty engine API</title>
<link rel="icon" type="image/png" href="${DOCS_ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="${DOCS_ASSETS}/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="${DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl: null keeps Swagger UI from sending the document to an outside validator.
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#docs",
  validatorUrl: null,
  deepLinking: true,
  displayOperationId: true,
  persistAuthorization: false,
});
`;

/**
 * createApp(): middleware, error handling, every capability's router, the OpenAPI document and docs UI.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { jobsRouter } from "./jobs/routes";
import { membersRouter, meRouter } from "./members/routes";
import { merchantsRouter } from "./merchants/routes";
import { ordersRouter } from "./orders/routes";
import { bearerSecret } from "./platform/auth";
import { wellFormedBody } from "./platform/body";
import type { AppEnv } from "./platform/context";
import { createOrm, type D1Stats, meteredD1 } from "./platform/db";
import { ApiError, problemResponse } from "./platform/errors";
import { validationHook } from "./platform/validation";
import { programRouter } from "./program/routes";
import { redemptionsRouter } from "./redemptions/routes";
import { rulesRouter } from "./rules/routes";
import { stampsRouter } from "./stamps/routes";
import { meTierRouter, tiersRouter } from "./tiers/routes";

/** Largest request body accepted (a 500-item order is far below it). */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * The engine's Hono app: middleware, every capability's router, the OpenAPI document and docs, errors.
 *
 * @example export default { fetch: createApp().fetch };
 */
export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use("*", database);
  app.use("/v1/*", bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }));
  app.use("/v1/*", wellFormedBody());
  app.use("/v1/*", bearerSecret());
  app.get("/health", (c) => c.json({ ok: true }));
  for (const router of [
    merchantsRouter,
    programRouter,
    membersRouter,
    meRouter,
    ordersRouter,
    redemptionsRouter,
    rulesRouter,
    stampsRouter,
    tiersRouter,
    meTierRouter,
    jobsRouter,
  ])
    app.route("/", router);
  documentation(app);
  app.notFound(() => problemResponse(new ApiError("not_found", "No such route.")));
  app.onError(problemForError);
  return app;
}

/** Binds D1 (metered when D1_STATS is on, for the benchmarks) and reports rows read and written. */
const database: MiddlewareHandler<AppEnv> = async function database(c, next) {
  let db = c.env.DB;
  let stats: D1Stats | undefined;
  if (c.env.D1_STATS === "on") {
    stats = { rowsRead: 0, rowsWritten: 0, queries: 0 };
    db = meteredD1(db, stats);
  }
  c.set("db", db);
  c.set("orm", createOrm(db));
  c.set("stats", stats);
  await next();
  if (stats) {
    c.res.headers.set("x-d1-rows-read", String(stats.rowsRead));
    c.res.headers.set("x-d1-rows-written", String(stats.rowsWritten));
    c.res.headers.set("x-d1-queries", String(stats.queries));
  }
};

function tooLarge(): never {
  throw new ApiError("payload_too_large", `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
}

/** GET /openapi.json (OpenAPI 3.1 from the routes' zod schemas) and the docs UI at GET /docs. */
function documentation(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description:
      "A merchant API key (`lk_...`, scopes admin / checkout / read), a member token (`mt_...`, /v1/me routes only) " +
      "or the platform token (creates merchants only).",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edge loyalty engine",
      version: "1.0.0",
      description:
        "Points ledger, checkout (orders, refunds, redemptions), earning rules, members. Money is integer minor units; points are integers. " +
        "State-changing POSTs accept Idempotency-Key; errors are application/problem+json.",
    },
    security: [{ bearerAuth: [] }],
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Loyalty engine API" }));
}

/** Every error becomes problem+json: domain errors as they are, malformed requests as 4xx, anything else 500. */
function problemForError(error: Error): Response {
  if (error instanceof ApiError) return problemResponse(error);
  if (error instanceof HTTPException && error.status < 500) {
    const code = error.status === 413 ? "payload_too_large" : error.status === 401 ? "unauthorized" : "invalid_request";
    const detail = error.message || "The request is malformed.";
    return problemResponse(
      new ApiError(code, detail, code === "invalid_request" ? [{ path: "(body)", message: detail }] : undefined),
    );
  }
  console.error("unhandled error", error);
  return problemResponse(
    new ApiError("internal_error", "Something went wrong on our side; nothing was written twice. Retry later."),
  );
}

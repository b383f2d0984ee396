/**
 * createApp(): middleware, error handling, every capability's router, the OpenAPI document and docs UI.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { docsRouter, documentation } from "./docs/routes";
import { jobsRouter } from "./jobs/routes";
import { membersRouter, meRouter } from "./members/routes";
import { merchantsRouter } from "./merchants/routes";
import { ordersRouter } from "./orders/routes";
import { mePerksRouter, perksRouter } from "./perks/routes";
import { bearerSecret } from "./platform/auth";
import { MAX_BODY_BYTES, wellFormedBody } from "./platform/body";
import type { AppEnv } from "./platform/context";
import { type D1Stats, lazyOrm, meteredD1 } from "./platform/db";
import { ApiError, problemResponse } from "./platform/errors";
import { rateLimit } from "./platform/rate-limit";
import { validationHook } from "./platform/validation";
import { memberCors } from "./program/cors";
import { programRouter } from "./program/routes";
import { rebatesRouter } from "./rebates/routes";
import { redemptionsRouter } from "./redemptions/routes";
import { meReferralsRouter, referralsRouter } from "./referrals/routes";
import { rulesRouter } from "./rules/routes";
import { stampsRouter } from "./stamps/routes";
import { meSwitchingCostRouter, switchingCostRouter } from "./switching-cost/routes";
import { meTierRouter, tiersRouter } from "./tiers/routes";

/**
 * The engine's Hono app: middleware, every capability's router, the OpenAPI document and docs, errors.
 *
 * @example export default { fetch: createApp().fetch };
 */
export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use("*", requestId({ headerName: REQUEST_ID_HEADER }), requestIdOnEveryResponse);
  // Security headers on every response; the docs page adds its own Content-Security-Policy (docs/routes.ts).
  app.use("*", secureHeaders());
  app.use("*", database);
  // Before authentication: CORS preflights carry no credentials.
  app.use("/v1/me", memberCors());
  app.use("/v1/me/*", memberCors());
  app.use("/v1/*", bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }));
  app.use("/v1/*", wellFormedBody());
  app.use("/v1/*", bearerSecret(), rateLimit());
  for (const router of [
    docsRouter,
    merchantsRouter,
    programRouter,
    membersRouter,
    meRouter,
    ordersRouter,
    redemptionsRouter,
    rulesRouter,
    stampsRouter,
    referralsRouter,
    meReferralsRouter,
    tiersRouter,
    meTierRouter,
    perksRouter,
    mePerksRouter,
    switchingCostRouter,
    meSwitchingCostRouter,
    jobsRouter,
    rebatesRouter,
  ])
    app.route("/", router);
  documentation(app);
  app.notFound((c) => problemResponse(new ApiError("not_found", "No such route."), c.get("requestId")));
  app.onError(problemForError);
  return app;
}

const REQUEST_ID_HEADER = "Request-Id";

/**
 * Sets Request-Id on the final response. requestId() sets it before the handler runs, which a response
 * built whole (a replayed body, a problem from onError) would not carry.
 */
const requestIdOnEveryResponse: MiddlewareHandler<AppEnv> = async function requestIdOnEveryResponse(c, next) {
  await next();
  c.res.headers.set(REQUEST_ID_HEADER, c.get("requestId"));
};

/** Binds D1 (metered when D1_STATS is on, for the benchmarks) and reports rows read and written. */
const database: MiddlewareHandler<AppEnv> = async function database(c, next) {
  let db = c.env.DB;
  let stats: D1Stats | undefined;
  if (c.env.D1_STATS === "on") {
    stats = { rowsRead: 0, rowsWritten: 0, queries: 0 };
    db = meteredD1(db, stats);
  }
  c.set("db", db);
  c.set("orm", lazyOrm(db));
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

/** Every error becomes problem+json: domain errors as they are, malformed requests as 4xx, anything else 500. */
function problemForError(error: Error, c: Context<AppEnv>): Response {
  const id = c.get("requestId");
  if (error instanceof ApiError) return problemResponse(error, id);
  if (error instanceof HTTPException && error.status < 500) {
    const code = error.status === 413 ? "payload_too_large" : error.status === 401 ? "unauthorized" : "invalid_request";
    const detail = error.message || "The request is malformed.";
    return problemResponse(
      new ApiError(code, detail, code === "invalid_request" ? [{ path: "(body)", message: detail }] : undefined),
      id,
    );
  }
  console.error("unhandled error", error);
  return problemResponse(
    new ApiError("internal_error", "Something went wrong on our side; nothing was written twice. Retry later."),
    id,
  );
}

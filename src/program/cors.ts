/**
 * CORS for the member API (/v1/me*), the only routes a browser calls with a member token.
 *
 * - A preflight (OPTIONS) carries no credentials, so its merchant is unknown: it is answered without
 *   authentication, with Access-Control-Allow-Origin only for an origin that some merchant lists in
 *   `allowedOrigins`, and for GET with the Authorization and Content-Type headers.
 * - The actual response carries Access-Control-Allow-Origin only when the token's own merchant lists the
 *   origin. A page of another merchant's origin may pass the preflight, but its browser never lets it read
 *   the reply; and a member token is a bearer secret, not a cookie, so such a page has nothing to send.
 * Other origins get no Access-Control-Allow-Origin at all. No other route answers CORS.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../platform/context";
import { allowedOriginsOf, isOriginListed } from "./service";

/** How long a browser may cache a preflight (seconds). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

const preflight = cors({
  origin: async (origin, c) =>
    c.req.method === "OPTIONS" && origin && (await isOriginListed(c.get("db"), origin)) ? origin : null,
  allowMethods: ["GET"],
  allowHeaders: ["Authorization", "Content-Type"],
  exposeHeaders: ["Request-Id", "Retry-After"],
  maxAge: PREFLIGHT_MAX_AGE_SECONDS,
});

/** Answers preflights, then allows the origin on the response when the token's merchant lists it. */
export function memberCors(): MiddlewareHandler<AppEnv> {
  return async function memberCors(c, next) {
    return preflight(c, async () => {
      await next();
      const origin = c.req.header("origin");
      const principal = c.get("principal");
      if (!origin || principal?.kind !== "member") return;
      if ((await allowedOriginsOf(c.get("orm")(), principal.merchant.id)).includes(origin))
        c.res.headers.set("Access-Control-Allow-Origin", origin);
    });
  };
}

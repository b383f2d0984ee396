/**
 * Rate limits per credential, with the Workers Rate Limiting binding (wrangler.toml `[[ratelimits]]`).
 *
 * The limit is checked before authentication and before any idempotency claim: a limited request reads and
 * writes nothing, so its retry with the same Idempotency-Key either runs once or replays the stored response.
 * The counter is keyed by a hash of the secret (never the secret itself), so unknown secrets are limited too.
 * The binding counts per Cloudflare location and eventually: the limits are a guard against floods, not a quota.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { sha256Hex } from "./crypto";
import { ApiError } from "./errors";

/** Requests per minute for one API key (or the platform token). Mirrors wrangler.toml. */
export const API_KEY_LIMIT_PER_MINUTE = 600;
/** Requests per minute for one member token (a browser or app polling /v1/me). Mirrors wrangler.toml. */
export const MEMBER_TOKEN_LIMIT_PER_MINUTE = 120;
/** The binding's window: a limited client may retry after it. */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

const MEMBER_TOKEN_PREFIX = "mt_";

/** Checks the caller's limit; runs after bearerSecret() has read the secret. */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    if (c.env.RATE_LIMITS === "off") return next();
    const secret = c.get("secret");
    const limiter = secret.startsWith(MEMBER_TOKEN_PREFIX) ? c.env.MEMBER_TOKEN_RATE_LIMITER : c.env.API_KEY_RATE_LIMITER;
    const { success } = await limiter.limit({ key: await sha256Hex(secret) });
    if (!success) {
      const error = new ApiError(
        "rate_limited",
        `Too many requests for this credential; retry after ${RATE_LIMIT_PERIOD_SECONDS} seconds. Nothing was written.`,
      );
      error.retryAfterSeconds = RATE_LIMIT_PERIOD_SECONDS;
      throw error;
    }
    await next();
  };
}

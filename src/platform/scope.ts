/**
 * What a service needs of a request, passed explicitly: services never see Hono's Context, so jobs, other
 * services and tests call them without fakes.
 */
import type { Context } from "hono";
import { currentMerchant } from "./auth";
import { now } from "./clock";
import type { AppEnv, IdempotencyContext, MerchantRef, Prefetched } from "./context";
import type { Sql } from "./d1/sql";
import type { Orm } from "./db";

export interface RequestScope {
  db: D1Database;
  orm: Orm;
  merchant: MerchantRef;
  /** The instant the operation happens at (from the clock module, so tests can move it). */
  at: number;
  /** The request's checked Idempotency-Key, for writes that store their reply in their own batch. */
  idempotency?: IdempotencyContext;
  /** Reads that rode along with authentication (see Prefetch in auth.ts). */
  prefetched?: Prefetched;
  /**
   * Set when the key was authenticated from the isolate's cache (a speculating route, see auth.ts): holds
   * when the key was revoked since. The write batch must start with a guard on it (GUARD.keyRevoked).
   */
  keyRevoked?: Sql;
  /**
   * The API key's hash, when authentication kept it (routes with prefetched reads or an Idempotency-Key): the
   * key of the isolate's configuration cache (earning/config-cache.ts), so a checkout read made after the
   * prefetched one keeps that cache current.
   */
  configKey?: string;
}

/** The scope of the current request; a new instant for each call (a retried attempt reads the clock again). */
export function scopeOf(c: Context<AppEnv>): RequestScope {
  return {
    db: c.get("db"),
    get orm() {
      return c.get("orm")();
    },
    merchant: currentMerchant(c),
    at: now(),
    ...(c.get("idempotency") ? { idempotency: c.get("idempotency") } : {}),
    ...(c.get("prefetched") ? { prefetched: c.get("prefetched") } : {}),
    ...(c.get("keyRevoked") ? { keyRevoked: c.get("keyRevoked") } : {}),
    ...(c.get("secretHash") ? { configKey: c.get("secretHash") } : {}),
  };
}

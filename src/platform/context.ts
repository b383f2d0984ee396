import type { Sql } from "./d1/sql";
import type { D1Stats, Orm } from "./db";

export type { KeyScope } from "../db/enums";

import type { KeyScope } from "../db/enums";

export interface MerchantRef {
  id: string;
  name: string;
  currency: string;
  timezone: string;
}

/** Who is calling: an API key of a merchant, a member token, or the platform operator. */
export type Principal =
  | { kind: "key"; keyId: string; scope: KeyScope; merchant: MerchantRef }
  | { kind: "member"; memberId: string; merchant: MerchantRef }
  | { kind: "platform" };

export interface IdempotencyRecord {
  requestHash: string;
  status: number | null;
  response: string | null;
}

/** The Idempotency-Key of the current request, once checked: services may store the response atomically. */
export interface IdempotencyContext {
  merchantId: string;
  key: string;
  requestHash: string;
  /** Set by a service that stored the response in its own write batch. */
  stored: boolean;
}

/** Results of a route's prefetched reads, by the names its Prefetch gave them (see auth.ts). */
export type Prefetched = Readonly<Record<string, D1Result>>;

/**
 * The app's bindings and request variables. Read a variable with `c.get(name)`: hono's `c.var` copies every
 * variable into a new object on each access, which on the checkout path costs more than the lookups it serves.
 */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Set by hono/request-id; sent as the Request-Id header and in problem bodies. */
    requestId: string;
    db: D1Database;
    /** The drizzle instance, made on first use: building one costs checkout-path CPU that raw-SQL routes never need. */
    orm: () => Orm;
    stats: D1Stats | undefined;
    /** The bearer secret, checked for shape by bearerSecret(); resolved by the route's guard. */
    secret: string;
    /** SHA-256 of the secret, set when prefetch statements were bound to it. */
    secretHash: string | undefined;
    principal: Principal;
    /** Results of the route's prefetch reads, by name (see Prefetch in auth.ts). */
    prefetched: Prefetched | undefined;
    /** Idempotency row fetched with the auth lookup (undefined: not looked up; null: none). */
    idempotencyRecord: IdempotencyRecord | null | undefined;
    idempotency: IdempotencyContext | undefined;
    /** Set when the key was authenticated from the isolate's cache: holds when the key was revoked since. */
    keyRevoked: Sql | undefined;
  };
}

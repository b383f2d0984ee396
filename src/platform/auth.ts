/**
 * Bearer authentication. API keys and member tokens are looked up by the SHA-256 of the secret (only the
 * hash is stored) and compared in constant time. The stored row of an Idempotency-Key and the reads a route
 * declares (Prefetch) ride in the same round trip.
 *
 * A route whose Prefetch can speculate (POST /v1/orders) may skip that round trip: the key's principal comes
 * from this isolate's cache of keys it has authenticated, and the route's write batch starts with
 * a guard on keyRevokedSql, so a revoked key still fails at once (401), in the batch instead of before it.
 */
import type { Context, MiddlewareHandler } from "hono";
import { now } from "./clock";
import type { AppEnv, IdempotencyRecord, KeyScope, MerchantRef, Prefetched, Principal } from "./context";
import { constantTimeEqual, sha256Hex } from "./crypto";
import { prepare, type Sql, sql } from "./d1/sql";
import { ApiError, KEY_REVOKED } from "./errors";
import { idempotencyRecordStatement, isIdempotencyKey } from "./idempotency";

export const API_KEY_PREFIX = "lk_";
export const MEMBER_TOKEN_PREFIX = "mt_";

const unauthorized = (detail: string) => new ApiError("unauthorized", detail);

interface KeyRow {
  id: string;
  scope: KeyScope;
  secret_hash: string;
  revoked_at: number | null;
  merchant_id: string;
  merchant_name: string;
  currency: string;
  timezone: string;
}

interface TokenRow {
  token_hash: string;
  member_id: string;
  expires_at: number;
  merchant_id: string;
  merchant_name: string;
  currency: string;
  timezone: string;
}

function merchantOf(row: { merchant_id: string; merchant_name: string; currency: string; timezone: string }): MerchantRef {
  return { id: row.merchant_id, name: row.merchant_name, currency: row.currency, timezone: row.timezone };
}

/**
 * Reads a route wants in the same D1 round trip as the key lookup. Statements scope every read with
 * merchantOfKey(hash), so they only ever see the caller's own merchant (and nothing
 * when the key is unknown or revoked). Prefetched reads are advisory: a handler re-reads when they are
 * absent (member tokens, platform token).
 */
export type Prefetch = ((c: Context<AppEnv>) => Promise<PrefetchReads> | PrefetchReads) & {
  /**
   * The prefetched results the route can plan from without reading, for the merchant of a key this isolate
   * has authenticated before; undefined when it must read. Only for routes whose write batch starts with a
   * guard on the request scope's keyRevoked and on everything the results stand for.
   */
  speculate?: (c: Context<AppEnv>, merchantId: string) => Promise<Prefetched | undefined>;
};

type KeyPrincipal = Extract<Principal, { kind: "key" }>;

/** Keys this isolate has authenticated, by hash: a key's scope and merchant never change, only revocation. */
const MAX_KEY_PRINCIPALS = 1000;
const keyPrincipals = new Map<string, KeyPrincipal>();

function rememberKey(hash: string, principal: KeyPrincipal): void {
  if (keyPrincipals.size >= MAX_KEY_PRINCIPALS && !keyPrincipals.has(hash)) keyPrincipals.clear();
  keyPrincipals.set(hash, principal);
}

/** Forgets a revoked key in this isolate at once (other isolates learn it in their next write batch). */
export function forgetKey(keyId: string): void {
  for (const [hash, principal] of keyPrincipals) if (principal.keyId === keyId) keyPrincipals.delete(hash);
}

/** Holds when the key was revoked: a write batch authenticated from the cache guards on it (GUARD.keyRevoked). */
export function keyRevokedSql(hash: string): Sql {
  return sql`NOT EXISTS (SELECT 1 FROM api_keys WHERE secret_hash = ${hash} AND revoked_at IS NULL)`;
}

/** The cached principal of the key when the route can plan without its read round trip (see Prefetch). */
async function speculatePrincipal(
  c: Context<AppEnv>,
  hash: string,
  prefetch: Prefetch | undefined,
  withKey: boolean,
): Promise<KeyPrincipal | undefined> {
  const speculate = prefetch?.speculate;
  const principal = speculate ? keyPrincipals.get(hash) : undefined;
  if (!speculate || !principal) return undefined;
  c.set("secretHash", hash);
  const results = await speculate(c, principal.merchant.id);
  if (!results) return undefined;
  // No stored row is assumed: the batch's insert of the key fails on a stored one and replays it (write.ts).
  if (withKey) c.set("idempotencyRecord", null);
  c.set("prefetched", results);
  c.set("keyRevoked", keyRevokedSql(hash));
  return principal;
}

/** Named reads of a route's prefetch; their results reach the service under the same names. */
export type PrefetchReads = Readonly<Record<string, D1PreparedStatement>>;

/** The merchant of an active key, by the key's hash: scopes every prefetched read to the caller's merchant. */
export const merchantOfKey = (hash: string): Sql =>
  sql`(SELECT merchant_id FROM api_keys WHERE secret_hash = ${hash} AND revoked_at IS NULL)`;

/** Checks the Authorization header of every /v1 route; the caller is resolved by the route's guard. */
export function bearerSecret(): MiddlewareHandler<AppEnv> {
  return async function bearerSecret(c, next) {
    const header = c.req.header("authorization");
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) throw unauthorized("Send `Authorization: Bearer <secret>`.");
    c.set("secret", match[1]);
    await next();
  };
}

async function authenticate(c: Context<AppEnv>, prefetch?: Prefetch): Promise<Principal> {
  const principal = await resolvePrincipal(c, c.get("secret"), prefetch);
  c.set("principal", principal);
  return principal;
}

async function resolvePrincipal(c: Context<AppEnv>, secret: string, prefetch?: Prefetch): Promise<Principal> {
  const platformToken = c.env.PLATFORM_TOKEN;
  // Unequal lengths are told apart at once (constantTimeEqual reveals no more than that either).
  if (platformToken && secret.length === platformToken.length && constantTimeEqual(secret, platformToken))
    return { kind: "platform" };

  const db = c.get("db");
  const hash = await sha256Hex(secret);
  const idempotencyKey = c.req.method === "POST" ? c.req.header("idempotency-key") : undefined;

  if (secret.startsWith(MEMBER_TOKEN_PREFIX)) {
    const row = await prepare(
      db,
      sql`SELECT t.token_hash, t.member_id, t.expires_at, m.id AS merchant_id, m.name AS merchant_name, m.currency, m.timezone
         FROM member_tokens t JOIN merchants m ON m.id = t.merchant_id WHERE t.token_hash = ${hash}`,
    ).first<TokenRow>();
    if (!row || !constantTimeEqual(row.token_hash, hash)) throw unauthorized("The member token is not valid.");
    if (row.expires_at <= now()) throw unauthorized("The member token has expired.");
    return { kind: "member", memberId: row.member_id, merchant: merchantOf(row) };
  }

  const withKey = isIdempotencyKey(idempotencyKey);
  const speculated = await speculatePrincipal(c, hash, prefetch, withKey);
  if (speculated) return speculated;
  const keyQuery = prepare(
    db,
    sql`SELECT k.id, k.scope, k.secret_hash, k.revoked_at, m.id AS merchant_id, m.name AS merchant_name, m.currency, m.timezone
       FROM api_keys k JOIN merchants m ON m.id = k.merchant_id WHERE k.secret_hash = ${hash}`,
  );
  if (withKey || prefetch) c.set("secretHash", hash);
  const reads = prefetch ? await prefetch(c) : {};
  const names = Object.keys(reads);
  const extra = names.map((name) => reads[name]!);
  let row: KeyRow | undefined;
  if (withKey || extra.length > 0) {
    const statements = [keyQuery];
    // The key's stored row rides along: the idempotency middleware then needs no read of its own.
    if (withKey) statements.push(idempotencyRecordStatement(db, merchantOfKey(hash), idempotencyKey));
    const [keys, ...rest] = await db.batch<unknown>([...statements, ...extra]);
    row = keys?.results[0] as KeyRow | undefined;
    if (withKey) c.set("idempotencyRecord", (rest.shift()?.results[0] as IdempotencyRecord | undefined) ?? null);
    if (extra.length > 0) c.set("prefetched", Object.fromEntries(names.map((name, i) => [name, rest[i] as D1Result])));
  } else {
    row = (await keyQuery.first<KeyRow>()) ?? undefined;
  }
  if (!row || !constantTimeEqual(row.secret_hash, hash)) throw unauthorized("The API key is not valid.");
  if (row.revoked_at !== null) throw unauthorized(KEY_REVOKED);
  const principal: KeyPrincipal = { kind: "key", keyId: row.id, scope: row.scope, merchant: merchantOf(row) };
  rememberKey(hash, principal);
  return principal;
}

/**
 * Route guard: which key scopes may call the route. Member tokens and the platform token are refused
 * (403) on merchant routes.
 *
 * @example createRoute({ ..., middleware: [allow("admin", "checkout")] })
 */
export function allow(...scopes: KeyScope[]): MiddlewareHandler<AppEnv> {
  return allowWith(undefined, ...scopes);
}

/** `allow` that also runs the route's prefetch reads in the authentication round trip. */
export function allowWith(prefetch: Prefetch | undefined, ...scopes: KeyScope[]): MiddlewareHandler<AppEnv> {
  return async function allowScopes(c, next) {
    const principal = await authenticate(c, prefetch);
    if (principal.kind !== "key") throw new ApiError("forbidden", "This route needs a merchant API key.");
    if (!scopes.includes(principal.scope))
      throw new ApiError(
        "forbidden",
        `This route needs a key with scope ${scopes.join(" or ")}; this key has scope ${principal.scope}.`,
      );
    await next();
    // A key authenticated from the isolate's cache is checked in its write batch; a request refused before
    // any batch (bad input, a business rule) is checked here, so a revoked key learns nothing of the merchant.
    const refused = c.res.status >= 400 && c.res.status !== 401;
    if (refused && c.get("keyRevoked") && (await revokedSince(c))) throw unauthorized(KEY_REVOKED);
  };
}

/** Whether the key of a request authenticated from the cache is revoked (or gone) by now: one read. */
async function revokedSince(c: Context<AppEnv>): Promise<boolean> {
  const hash = c.get("secretHash");
  if (hash === undefined) return false;
  const active = await prepare(
    c.get("db"),
    sql`SELECT 1 AS ok FROM api_keys WHERE secret_hash = ${hash} AND revoked_at IS NULL`,
  ).first();
  if (active) return false;
  keyPrincipals.delete(hash);
  return true;
}

/** Route guard for /v1/me routes: only member tokens. */
export function memberOnly(): MiddlewareHandler<AppEnv> {
  return async function memberOnly(c, next) {
    if ((await authenticate(c)).kind !== "member") throw new ApiError("forbidden", "This route needs a member token.");
    await next();
  };
}

/** The token's member: the /v1/me routes read and write nothing else. */
export function tokenMemberId(c: Context<AppEnv>): string {
  const p = c.get("principal");
  if (p.kind !== "member" || p.memberId === undefined) throw new ApiError("forbidden", "This route needs a member token.");
  return p.memberId;
}

/** Route guard for creating merchants: only the platform token. */
export function platformOnly(): MiddlewareHandler<AppEnv> {
  return async function platformOnly(c, next) {
    if ((await authenticate(c)).kind !== "platform") throw new ApiError("forbidden", "This route needs the platform token.");
    await next();
  };
}

/** The merchant of a key or member principal. */
export function currentMerchant(c: Context<AppEnv>): MerchantRef {
  const principal = c.get("principal");
  if (principal.kind === "platform") throw new ApiError("forbidden", "This route needs a merchant API key.");
  return principal.merchant;
}

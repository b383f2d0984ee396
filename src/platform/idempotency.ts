/**
 * Idempotency-Key handling for state-changing POSTs.
 *
 * - Same key, same request: the stored first response is returned byte for byte with
 *   `Idempotent-Replayed: true`, and nothing is written.
 * - Same key, another request (method, path or body): 409 idempotency_key_reused.
 * - Points-moving services store the key row and the response inside their own write batch (see
 *   `IdempotentWrite`), so a response lost after commit is replayed on retry and two concurrent requests
 *   with one key cannot both write: the second batch fails on a primary key and replays the first.
 * - Other POSTs store their 2xx response after the handler. Errors are not stored: they wrote nothing.
 */
import type { Context, MiddlewareHandler } from "hono";
import { now } from "./clock";
import type { AppEnv, IdempotencyContext, IdempotencyRecord } from "./context";
import { sha256Hex } from "./crypto";
import { prepare, type Sql, sql } from "./d1/sql";
import { ApiError } from "./errors";
import { jsonText } from "./router";

export const REPLAY_HEADER = "Idempotent-Replayed";

/** The idempotency scope of requests made with the platform token (merchant ids start with `mer_`). */
const PLATFORM_SCOPE = "platform";

/** Key-value pairs sorted, so a client re-serialising the same body in another key order still matches. */
function canonicalJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), (_key, value: unknown) =>
      value && typeof value === "object" && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : value,
    );
  } catch {
    return text;
  }
}

async function loadRecord(db: D1Database, merchantId: string, key: string): Promise<IdempotencyRecord | null> {
  return db
    .prepare(`SELECT request_hash AS requestHash, status, response FROM idempotency_keys WHERE merchant_id = ?1 AND key = ?2`)
    .bind(merchantId, key)
    .first<IdempotencyRecord>();
}

/** Replays a stored response, refuses a reused key, or says the first request is still running. */
export function answerFromRecord(record: IdempotencyRecord, requestHash: string): Response {
  if (record.requestHash !== requestHash)
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request. Use a new key for a new request.",
    );
  if (record.response === null || record.status === null)
    throw new ApiError("conflict", "A request with this Idempotency-Key is still being processed; retry shortly.");
  return jsonText(record.response, record.status, { [REPLAY_HEADER]: "true" });
}

/**
 * Secrets are shown once and stored only as hashes, so a stored response never keeps them: a replay of a
 * request that issued a secret returns the same body with the secret set to null.
 */
function withoutSecrets(text: string, paths: string[]): string {
  const body = JSON.parse(text) as Record<string, unknown>;
  for (const path of paths) {
    const keys = path.split(".");
    let node: unknown = body;
    for (const key of keys.slice(0, -1)) node = (node as Record<string, unknown> | undefined)?.[key];
    if (node && typeof node === "object") (node as Record<string, unknown>)[keys.at(-1)!] = null;
  }
  return JSON.stringify(body);
}

/**
 * Route middleware. `required` routes refuse requests without the header (400). `secretPaths` name the
 * fields of the response that carry a secret (see withoutSecrets).
 *
 * @example createRoute({ method: "post", path: "/v1/orders", middleware: [allow("admin", "checkout"), idempotent(true)] })
 */
export function idempotent(required: boolean, options: { secretPaths?: string[] } = {}): MiddlewareHandler<AppEnv> {
  return async function idempotent(c, next) {
    const key = c.req.header("idempotency-key");
    if (key === undefined) {
      if (required)
        throw new ApiError("invalid_request", "The Idempotency-Key header is required on this route.", [
          { path: "header.Idempotency-Key", message: "is required" },
        ]);
      return next();
    }
    if (key.length < 1 || key.length > 255)
      throw new ApiError("invalid_request", "The Idempotency-Key header must be 1-255 characters.", [
        { path: "header.Idempotency-Key", message: "must be 1-255 characters" },
      ]);
    const principal = c.var.principal;
    // Keys are scoped per merchant; the platform operator has a scope of its own.
    const merchantId = principal.kind === "platform" ? PLATFORM_SCOPE : principal.merchant.id;
    const body = await c.req.text();
    const requestHash = await sha256Hex(`${c.req.method} ${c.req.path}\n${canonicalJson(body)}`);
    const prefetched = c.var.idempotencyRecord;
    const record = prefetched === undefined ? await loadRecord(c.var.db, merchantId, key) : prefetched;
    if (record) return answerFromRecord(record, requestHash);

    const context: IdempotencyContext = { merchantId, key, requestHash, stored: false };
    c.set("idempotency", context);
    await next();
    if (!context.stored && c.res.status >= 200 && c.res.status < 300) {
      const text = await c.res.clone().text();
      const response = options.secretPaths ? withoutSecrets(text, options.secretPaths) : text;
      await c.var.db
        .prepare(
          `INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING`,
        )
        .bind(merchantId, key, requestHash, c.res.status, response, now())
        .run();
    }
  };
}

/**
 * The idempotency part of a points-moving write batch: `finish()` ends it with a statement that stores
 * the key with the response rendered by SQL, and returns that response.
 */
export class IdempotentWrite {
  constructor(
    private readonly db: D1Database,
    private readonly context: IdempotencyContext | undefined,
    private readonly at: number,
  ) {}

  /**
   * The last statement of a write batch: stores the response, rendered by SQL from the state the batch
   * just wrote, under the key, and returns it. `responseSql` is a scalar SELECT producing the JSON body;
   * its binds are numbered from ?1. The single result row has column `response`.
   *
   * A concurrent request with the same key fails on the key's primary key here (or earlier, on a unique
   * constraint of the resource), which rolls its whole batch back; see `recordAfterFailure`.
   */
  finish(status: number, responseSql: string, binds: unknown[]): D1PreparedStatement {
    if (!this.context) return this.db.prepare(`SELECT (${responseSql}) AS response`).bind(...binds);
    const n = binds.length;
    return this.db
      .prepare(
        `INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, created_at)
         VALUES (?${n + 1}, ?${n + 2}, ?${n + 3}, ?${n + 4}, (${responseSql}), ?${n + 5}) RETURNING response`,
      )
      .bind(...binds, this.context.merchantId, this.context.key, this.context.requestHash, status, this.at);
  }

  /** Same as `finish`, with the body as tagged SQL: a scalar SELECT producing the JSON body. */
  finishSql(status: number, body: Sql): D1PreparedStatement {
    if (!this.context) return prepare(this.db, sql`SELECT (${body}) AS response`);
    const { merchantId, key, requestHash } = this.context;
    return prepare(
      this.db,
      sql`INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, created_at)
         VALUES (${merchantId}, ${key}, ${requestHash}, ${status}, (${body}), ${this.at}) RETURNING response`,
    );
  }

  /**
   * After a failed batch: if a request with the same key committed meanwhile, its answer (a replay, or
   * 409 idempotency_key_reused for another body). Null when the key is still unused.
   */
  async recordAfterFailure(): Promise<Response | null> {
    if (!this.context) return null;
    const record = await loadRecord(this.db, this.context.merchantId, this.context.key);
    return record ? answerFromRecord(record, this.context.requestHash) : null;
  }

  markStored(): void {
    if (this.context) this.context.stored = true;
  }
}

/** The idempotency helper for the current request. */
export function idempotentWrite(c: Context<AppEnv>, at: number): IdempotentWrite {
  return new IdempotentWrite(c.var.db, c.var.idempotency, at);
}

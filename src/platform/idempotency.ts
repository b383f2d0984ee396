/**
 * Idempotency-Key handling for state-changing POSTs.
 *
 * - Same key, same request: the stored first response is returned byte for byte with
 *   `Idempotent-Replayed: true`, and nothing is written.
 * - Same key, another request (method, path or body): 409 idempotency_key_reused.
 * - Points-moving services store the key row and the response inside their own write batch (see
 *   `IdempotentWrite`), so a response lost after commit is replayed on retry and two concurrent requests
 *   with one key cannot both write: the second batch fails on a primary key and replays the first.
 * - Other POSTs claim the key (a row without a response) before their handler runs, so a concurrent copy
 *   finds the claim and waits for the first response instead of running again; the 2xx response is stored
 *   in the claim after the handler. A refused or failed request deletes its claim: it wrote nothing, so the
 *   key may be retried.
 */
import type { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { now } from "./clock";
import type { AppEnv, IdempotencyContext, IdempotencyRecord } from "./context";
import { sha256Hex } from "./crypto";
import { prepare, type Sql, sql } from "./d1/sql";
import type { BatchFailure } from "./db";
import { ApiError } from "./errors";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "./openapi";
import { IDEMPOTENCY_REQUIRED, jsonText, sqlReply, typedReply } from "./router";
import { commitWrite } from "./write";

export const REPLAY_HEADER = "Idempotent-Replayed";

/** The idempotency scope of requests made with the platform token (merchant ids start with `mer_`). */
const PLATFORM_SCOPE = "platform";

/** How long a concurrent copy waits for the first request's response before answering 409 (ms, doubling). */
const TWIN_WAIT_STEPS_MS = [20, 40, 80, 160, 320, 640];

/**
 * A claim older than this belongs to a request that died before storing or deleting it (a crashed
 * isolate): a new request with the key may take it over instead of being told to retry for 7 days.
 */
export const STALE_CLAIM_MS = 60_000;

const stillProcessing = () =>
  new ApiError("conflict", "A request with this Idempotency-Key is still being processed; retry shortly.");

/**
 * The body with every object's keys sorted (UTF-16 code unit order) and no whitespace, so a client
 * re-serialising the same body in another key order still matches. Text that is not JSON, or too deeply nested
 * to walk, stays as it is.
 * The output is part of stored request hashes: it must not change (test/unit/canonical-json.test.ts).
 */
export function canonicalJson(text: string): string {
  try {
    return canonical(JSON.parse(text));
  } catch {
    // Not JSON, or nested past the stack (such a body is refused by validation, whatever its hash).
    return text;
  }
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/** An array index key, which JavaScript objects list first, in numeric order, whatever their insertion order. */
const isIndex = (key: string) => ARRAY_INDEX.test(key) && Number(key) < 4_294_967_295;

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const record = value as Record<string, unknown>;
  // The order the first version produced (sorted entries rebuilt into an object): index keys in numeric
  // order, then the others sorted.
  const keys = Object.keys(record).sort();
  const indexes = keys.filter(isIndex).sort((a, b) => Number(a) - Number(b));
  const ordered = indexes.length === 0 ? keys : [...indexes, ...keys.filter((key) => !isIndex(key))];
  return `{${ordered.map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`).join(",")}}`;
}

/**
 * The stored row of an Idempotency-Key. `merchant` is the merchant id, or the key's merchant when the read
 * rides along with authentication (see auth.ts).
 */
export function idempotencyRecordStatement(db: D1Database, merchant: Sql, key: string): D1PreparedStatement {
  return prepare(
    db,
    sql`SELECT request_hash AS requestHash, status, response FROM idempotency_keys WHERE merchant_id = ${merchant} AND key = ${key}`,
  );
}

/** Whether a header value can be an Idempotency-Key at all (the route's header schema says why not). */
export function isIdempotencyKey(key: string | undefined): key is string {
  return key !== undefined && key.length >= 1 && key.length <= MAX_IDEMPOTENCY_KEY_LENGTH;
}

function loadRecord(db: D1Database, merchantId: string, key: string): Promise<IdempotencyRecord | null> {
  return idempotencyRecordStatement(db, sql`${merchantId}`, key).first<IdempotencyRecord>();
}

/** Replays a stored response, refuses a reused key, or says the first request is still running. */
export function answerFromRecord(record: IdempotencyRecord, requestHash: string): Response {
  if (record.requestHash !== requestHash)
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request. Use a new key for a new request.",
    );
  if (record.response === null || record.status === null) throw stillProcessing();
  return jsonText(record.response, record.status, { [REPLAY_HEADER]: "true" });
}

/**
 * The answer to a request whose key is already claimed: a replay once the first request has stored its
 * response (waiting briefly for it), 409 idempotency_key_reused for another body, or 409 conflict when the
 * first request is still running (or gave up, deleting its claim): retrying with the same key is safe.
 */
async function answerTwin(db: D1Database, context: IdempotencyContext, first: IdempotencyRecord | null): Promise<Response> {
  let record = first;
  for (const waitMs of TWIN_WAIT_STEPS_MS) {
    if (!record) break;
    if (record.requestHash !== context.requestHash || record.response !== null)
      return answerFromRecord(record, context.requestHash);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    record = await loadRecord(db, context.merchantId, context.key);
  }
  if (record) return answerFromRecord(record, context.requestHash);
  throw stillProcessing();
}

/** Claims the key for this request: true when no other request holds it (a stale claim is taken over). */
async function claim(db: D1Database, context: IdempotencyContext, at: number): Promise<boolean> {
  const { merchantId, key, requestHash } = context;
  const row = await prepare(
    db,
    sql`INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, created_at)
       VALUES (${merchantId}, ${key}, ${requestHash}, NULL, NULL, ${at})
       ON CONFLICT (merchant_id, key) DO UPDATE SET request_hash = excluded.request_hash, created_at = excluded.created_at
         WHERE idempotency_keys.response IS NULL AND idempotency_keys.created_at < ${at - STALE_CLAIM_MS}
       RETURNING 1 AS claimed`,
  ).first<{ claimed: number }>();
  return row !== null;
}

/** This request's own claim: the key's row with this request's hash and no response yet. */
const ownClaim = ({ merchantId, key, requestHash }: IdempotencyContext): Sql =>
  sql`merchant_id = ${merchantId} AND key = ${key} AND request_hash = ${requestHash} AND response IS NULL`;

/**
 * The member whose body a stored response carries (its `member`), or NULL: erasing that member scrubs the
 * personal fields of every response stored for it (members/service.ts, eraseMember).
 */
const memberOfResponse = (response: Sql): Sql =>
  sql`CASE WHEN json_valid(${response}) THEN json_extract(${response}, '$.member.id') END`;

/** Fills this request's claim with its response. */
function storeClaimed(db: D1Database, context: IdempotencyContext, status: number, response: string): Promise<unknown> {
  return prepare(
    db,
    sql`UPDATE idempotency_keys SET status = ${status}, response = ${response},
         member_id = ${memberOfResponse(sql`${response}`)} WHERE ${ownClaim(context)}`,
  ).run();
}

/** Deletes this request's claim: it wrote nothing, so the key may be used again. */
function release(db: D1Database, context: IdempotencyContext): Promise<unknown> {
  return prepare(db, sql`DELETE FROM idempotency_keys WHERE ${ownClaim(context)}`).run();
}

/** Stores a 2xx response that a points-moving service did not store in its batch (e.g. a replayed twin). */
function storeUnclaimed(db: D1Database, context: IdempotencyContext, status: number, response: string): Promise<unknown> {
  const { merchantId, key, requestHash } = context;
  return prepare(
    db,
    sql`INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, created_at, member_id)
       VALUES (${merchantId}, ${key}, ${requestHash}, ${status}, ${response}, ${now()}, ${memberOfResponse(sql`${response}`)})
       ON CONFLICT DO NOTHING`,
  ).run();
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

export interface IdempotencyOptions {
  /** Fields of the response that carry a secret (see withoutSecrets). */
  secretPaths?: string[];
  /**
   * The route's service stores the key in its own write batch (IdempotentWrite.finish), whose primary key
   * already stops a concurrent copy: no claim is made before the handler.
   */
  storedInBatch?: boolean;
}

/**
 * Route middleware. A missing key (on `required` routes) or a malformed one is left to the route's header
 * schema (RequiredIdempotencyHeader / IdempotencyHeader), so the 400 lists it with every other bad field.
 *
 * @example createRoute({ method: "post", path: "/v1/orders", middleware: [allow("admin", "checkout"), idempotent(true, { storedInBatch: true })] })
 */
export function idempotent(required: boolean, options: IdempotencyOptions = {}): MiddlewareHandler<AppEnv> {
  const middleware: MiddlewareHandler<AppEnv> = async function idempotent(c, next) {
    const key = c.req.header("idempotency-key");
    if (!isIdempotencyKey(key)) return next();
    const principal = c.get("principal");
    // Keys are scoped per merchant; the platform operator has a scope of its own.
    const merchantId = principal.kind === "platform" ? PLATFORM_SCOPE : principal.merchant.id;
    const body = await c.req.text();
    const requestHash = await sha256Hex(`${c.req.method} ${c.req.path}\n${canonicalJson(body)}`);
    const context: IdempotencyContext = { merchantId, key, requestHash, stored: false };
    const db = c.get("db");
    const prefetched = c.get("idempotencyRecord");
    const record = prefetched === undefined ? await loadRecord(db, merchantId, key) : prefetched;
    if (record?.response != null) return answerFromRecord(record, requestHash);
    // The key is unused, or claimed by a request still running (or one that died: a stale claim is taken over).
    const claimed = !options.storedInBatch && (await claim(db, context, now()));
    if (options.storedInBatch) {
      if (record) return answerTwin(db, context, record);
    } else if (!claimed) return answerTwin(db, context, await loadRecord(db, merchantId, key));

    c.set("idempotency", context);
    try {
      await next();
    } catch (error) {
      if (claimed) await release(db, context);
      throw error;
    }
    await settle(c, context, claimed, options.secretPaths);
  };
  return Object.assign(middleware, { [IDEMPOTENCY_REQUIRED]: required });
}

/** After the handler: keep a 2xx response under the key; free a claim whose request was refused. */
async function settle(c: Context<AppEnv>, context: IdempotencyContext, claimed: boolean, secretPaths?: string[]): Promise<void> {
  const db = c.get("db");
  if (c.res.status < 200 || c.res.status >= 300) {
    if (claimed) await release(db, context);
    return;
  }
  // Stored by the service's batch already, or a replay of a twin's stored response.
  if (context.stored || c.res.headers.has(REPLAY_HEADER)) return;
  const text = await c.res.clone().text();
  const response = secretPaths ? withoutSecrets(text, secretPaths) : text;
  await (claimed ? storeClaimed : storeUnclaimed)(db, context, c.res.status, response);
}

/**
 * The idempotency part of a points-moving write batch: `finishSql()` ends it with a statement that stores
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
   * just wrote (`body`, a scalar SELECT producing the JSON), under the key, and returns it as column
   * `response`. A concurrent request with the same key fails on the key's primary key here (or earlier, on
   * a unique constraint of the resource), which rolls its whole batch back; see `recordAfterFailure`.
   * `member`: the member whose body (`member`) the response carries, recorded with it so erasing that member
   * scrubs it; `also`: more columns (", <expr> AS name", ...) the batch's caller reads back, never stored.
   */
  finishSql(status: number, body: Sql, { member, also }: { member?: string; also?: Sql } = {}): D1PreparedStatement {
    const more = also ?? sql``;
    if (!this.context) return prepare(this.db, sql`SELECT (${body}) AS response${more}`);
    const { merchantId, key, requestHash } = this.context;
    return prepare(
      this.db,
      sql`INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, created_at, member_id)
         VALUES (${merchantId}, ${key}, ${requestHash}, ${status}, (${body}), ${this.at}, ${member ?? null}) RETURNING response${more}`,
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

/** The idempotency helper of a service's request scope (see RequestScope). */
export function scopedWrite(scope: { db: D1Database; idempotency?: IdempotencyContext; at: number }): IdempotentWrite {
  return new IdempotentWrite(scope.db, scope.idempotency, scope.at);
}

/**
 * A write a service planned without committing it: its batch ends with `write.finishSql(...)`. The route
 * commits it (commitWrite), so services never need Hono's Context.
 */
export interface PlannedWrite {
  write: IdempotentWrite;
  statements: D1PreparedStatement[];
  status: 200 | 201;
  onFailure?: (failure: BatchFailure) => void;
  onCommitted?: (results: D1Result[]) => void;
}

/** Commits a planned write; the response (rendered by SQL, or a twin's replay) keeps its status and headers. */
export function commitPlanned(c: Context<AppEnv>, plan: PlannedWrite): Promise<Response> {
  return commitWrite(c.get("db"), plan.write, plan.statements, plan.status, plan.onFailure, plan.onCommitted);
}

/**
 * A committed write's response typed as the route's schema: the body is the one SQL rendered (or the one
 * stored for a replay), so it is the schema's shape; status and headers (Idempotent-Replayed) are kept.
 */
export async function writeReply<S extends z.ZodType, Status extends number>(response: Response, status: Status) {
  // A replay carries the status stored by this same route, so it is `status` too: the response is sent as it is.
  if (response.status === status) return typedReply<S, Status>(response);
  return sqlReply<S, Status>(await response.text(), status, Object.fromEntries(response.headers));
}

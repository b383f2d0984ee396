/** Merchants and their API keys: creation (with the first admin key), issue, listing and revocation. */
import { and, desc, eq, lt } from "drizzle-orm";
import { apiKeys, merchants, programs } from "../db/schema";
import { API_KEY_PREFIX, forgetKey } from "../platform/auth";
import { toIso, toIsoOrNull } from "../platform/clock";
import type { KeyScope } from "../platform/context";
import { randomToken, sha256Hex } from "../platform/crypto";
import { prepare, sql } from "../platform/d1/sql";
import { ApiError, notFound } from "../platform/errors";
import { newId } from "../platform/ids";
import { decodeCursor, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { canonicalTimezone } from "../platform/validation";
import { DEFAULT_PROGRAM, programToRow } from "../program/settings";
import type { ApiKeyInput, MerchantInput } from "./schemas";

const ADMIN_SCOPE: KeyScope = "admin";

/** Creates a key; returns its secret, which is never stored or shown again. */
async function issueKey(merchantId: string, scope: KeyScope, name: string, at: number) {
  const secret = `${API_KEY_PREFIX}${scope}_${randomToken(32)}`;
  const row = {
    id: newId("key", at),
    merchantId,
    scope,
    name,
    secretHash: await sha256Hex(secret),
    hint: secret.slice(-4),
    createdAt: at,
  };
  return { row, secret };
}

/** A merchant with the default program and its first admin key (platform token: no merchant scope yet). */
export async function createMerchant(scope: Pick<RequestScope, "orm" | "at">, input: MerchantInput) {
  const { orm, at } = scope;
  // Stored canonical, so reports and comparisons see one spelling per zone (validated by the schema).
  const timezone = canonicalTimezone(input.timezone) ?? input.timezone;
  const merchant = { id: newId("mer", at), name: input.name, currency: input.currency, timezone };
  const { row, secret } = await issueKey(merchant.id, ADMIN_SCOPE, ADMIN_SCOPE, at);
  await orm.batch([
    orm.insert(merchants).values({ ...merchant, createdAt: at }),
    orm.insert(programs).values(programToRow(merchant.id, DEFAULT_PROGRAM, at)),
    orm.insert(apiKeys).values(row),
  ]);
  return { merchant, apiKey: { id: row.id, scope: row.scope, name: row.name, secret, createdAt: toIso(at) } };
}

export async function createKey(scope: RequestScope, input: ApiKeyInput) {
  const { row, secret } = await issueKey(scope.merchant.id, input.scope, input.name, scope.at);
  await scope.orm.insert(apiKeys).values(row);
  return { id: row.id, scope: input.scope, name: input.name, secret, createdAt: toIso(scope.at) };
}

export async function listKeys(scope: RequestScope, limit: number, cursor?: string) {
  const before = cursor ? decodeCursor(cursor, isString) : undefined;
  const rows = await scope.orm
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.merchantId, scope.merchant.id), before ? lt(apiKeys.id, before) : undefined))
    .orderBy(desc(apiKeys.id))
    .limit(limit + 1);
  const result = page(rows, limit, (last) => last.id);
  return {
    data: result.data.map((k) => ({
      id: k.id,
      scope: k.scope,
      name: k.name,
      hint: k.hint,
      createdAt: toIso(k.createdAt),
      revokedAt: toIsoOrNull(k.revokedAt),
    })),
    nextCursor: result.nextCursor,
  };
}

/**
 * Revokes a key; 409 when it is the merchant's last active admin key. The count is checked inside the
 * UPDATE itself, so two concurrent revocations of the last two admin keys cannot both succeed.
 */
export async function revokeKey(scope: RequestScope, id: string): Promise<void> {
  const { db, merchant, at } = scope;
  const activeAdmins = sql`SELECT COUNT(*) FROM api_keys WHERE merchant_id = ${merchant.id} AND scope = ${ADMIN_SCOPE}
    AND revoked_at IS NULL`;
  const [update, read] = await db.batch<{ revokedAt: number | null }>([
    prepare(
      db,
      sql`UPDATE api_keys SET revoked_at = ${at} WHERE merchant_id = ${merchant.id} AND id = ${id} AND revoked_at IS NULL
        AND (scope <> ${ADMIN_SCOPE} OR (${activeAdmins}) > 1)`,
    ),
    prepare(db, sql`SELECT revoked_at AS revokedAt FROM api_keys WHERE merchant_id = ${merchant.id} AND id = ${id}`),
  ]);
  const key = read?.results[0];
  if (!key) throw notFound(`API key ${id}`);
  if (key.revokedAt !== null) forgetKey(id);
  // Not changed and still active: it was the last admin key. Revoked earlier: nothing to do.
  if (!update?.meta.changes && key.revokedAt === null)
    throw new ApiError(
      "conflict",
      `API key ${id} is the merchant's last active admin key; create another admin key before revoking it.`,
    );
}

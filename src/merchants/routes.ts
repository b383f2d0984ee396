import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import { apiKeys, merchants, programs } from "../db/schema";
import { API_KEY_PREFIX, allow, currentMerchant, platformOnly } from "../platform/auth";
import { now, toIso, toIsoOrNull } from "../platform/clock";
import type { KeyScope } from "../platform/context";
import { randomToken, sha256Hex } from "../platform/crypto";
import { ApiError, notFound } from "../platform/errors";
import { idempotent } from "../platform/idempotency";
import { newId } from "../platform/ids";
import { bearer, commonErrors, conflictError, IdempotencyHeader, jsonBody, jsonResponse } from "../platform/openapi";
import { decodeCursor, isString, listSchema, PageQuery, page } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { Currency, canonicalTimezone, Timezone } from "../platform/validation";
import { DEFAULT_PROGRAM, programToRow } from "../program/settings";

const Scope = z.enum(["admin", "checkout", "read"]);
const ADMIN_SCOPE: KeyScope = "admin";

const MerchantSchema = z
  .object({ id: z.string(), name: z.string(), currency: z.string(), timezone: z.string() })
  .openapi("Merchant");

const NewKeySchema = z
  .object({
    id: z.string(),
    scope: Scope,
    name: z.string(),
    secret: z.string().nullable().openapi({ description: "Shown once; null when the response is an idempotent replay." }),
    createdAt: z.string(),
  })
  .openapi("NewApiKey");

const KeySchema = z
  .object({
    id: z.string(),
    scope: Scope,
    name: z.string(),
    hint: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi("ApiKey");

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

export const merchantsRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/merchants",
      tags: ["Merchants and keys"],
      summary: "Create a merchant (platform token)",
      description: "Returns the merchant and its first admin key. The secret is shown once and stored only as a hash.",
      security: bearer,
      middleware: [platformOnly(), idempotent(false, { secretPaths: ["apiKey.secret"] })] as const,
      request: {
        headers: IdempotencyHeader,
        body: jsonBody(
          z.strictObject({ name: z.string().min(1).max(200), currency: Currency, timezone: Timezone }).openapi("MerchantInput"),
        ),
      },
      responses: {
        201: jsonResponse(z.object({ merchant: MerchantSchema, apiKey: NewKeySchema }), "The merchant and its admin key"),
        ...commonErrors,
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const at = now();
      // Stored canonical, so reports and comparisons see one spelling per zone (validated above).
      const timezone = canonicalTimezone(input.timezone) ?? input.timezone;
      const merchant = { id: newId("mer", at), name: input.name, currency: input.currency, timezone };
      const { row, secret } = await issueKey(merchant.id, "admin", "admin", at);
      const orm = c.var.orm;
      await orm.batch([
        orm.insert(merchants).values({ ...merchant, createdAt: at }),
        orm.insert(programs).values(programToRow(merchant.id, DEFAULT_PROGRAM, at)),
        orm.insert(apiKeys).values(row),
      ]);
      return c.json({ merchant, apiKey: { id: row.id, scope: row.scope, name: row.name, secret, createdAt: toIso(at) } }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/api-keys",
      tags: ["Merchants and keys"],
      summary: "Create an API key",
      description:
        "Scopes: admin (everything of its merchant), checkout (members, orders, refunds, redemptions, member tokens), read (GET only).",
      security: bearer,
      middleware: [allow("admin"), idempotent(false, { secretPaths: ["secret"] })] as const,
      request: {
        headers: IdempotencyHeader,
        body: jsonBody(z.strictObject({ scope: Scope, name: z.string().min(1).max(200) }).openapi("ApiKeyInput")),
      },
      responses: { 201: jsonResponse(NewKeySchema, "The key with its secret, shown once"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { scope, name } = c.req.valid("json");
      const at = now();
      const { row, secret } = await issueKey(merchant.id, scope, name, at);
      await c.var.orm.insert(apiKeys).values(row);
      return c.json({ id: row.id, scope, name, secret, createdAt: toIso(at) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/api-keys",
      tags: ["Merchants and keys"],
      summary: "List API keys (never their secrets)",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(KeySchema), "Keys, newest first"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { limit, cursor } = c.req.valid("query");
      const before = cursor ? decodeCursor(cursor, isString) : undefined;
      const rows = await c.var.orm
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.merchantId, merchant.id), before ? lt(apiKeys.id, before) : undefined))
        .orderBy(desc(apiKeys.id))
        .limit(limit + 1);
      const result = page(rows, limit, (last) => last.id);
      return c.json(
        {
          data: result.data.map((k) => ({
            id: k.id,
            scope: k.scope,
            name: k.name,
            hint: k.hint,
            createdAt: toIso(k.createdAt),
            revokedAt: toIsoOrNull(k.revokedAt),
          })),
          nextCursor: result.nextCursor,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/api-keys/{id}",
      tags: ["Merchants and keys"],
      summary: "Revoke an API key (effective immediately)",
      description:
        "Revoking a key already revoked is a 204 again. The merchant's last active admin key cannot be revoked " +
        "(409 conflict): create another admin key first, so the merchant is never locked out.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: {
        params: z.object({
          id: z
            .string()
            .min(1)
            .max(64)
            .openapi({ param: { name: "id", in: "path" } }),
        }),
      },
      responses: { 204: { description: "Revoked" }, ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { id } = c.req.valid("param");
      if (!(await revokeKey(c.var.db, merchant.id, id, now())))
        throw new ApiError(
          "conflict",
          `API key ${id} is the merchant's last active admin key; create another admin key before revoking it.`,
        );
      return c.body(null, 204);
    },
  );

/**
 * Revokes a key; false when it is the merchant's last active admin key. The count is checked inside the
 * UPDATE itself, so two concurrent revocations of the last two admin keys cannot both succeed.
 */
async function revokeKey(db: D1Database, merchantId: string, id: string, at: number): Promise<boolean> {
  const [update, read] = await db.batch<{ revokedAt: number | null }>([
    db
      .prepare(
        `UPDATE api_keys SET revoked_at = ?1 WHERE merchant_id = ?2 AND id = ?3 AND revoked_at IS NULL
           AND (scope <> ?4 OR (SELECT COUNT(*) FROM api_keys WHERE merchant_id = ?2 AND scope = ?4 AND revoked_at IS NULL) > 1)`,
      )
      .bind(at, merchantId, id, ADMIN_SCOPE),
    db.prepare(`SELECT revoked_at AS revokedAt FROM api_keys WHERE merchant_id = ?1 AND id = ?2`).bind(merchantId, id),
  ]);
  const key = read?.results[0];
  if (!key) throw notFound(`API key ${id}`);
  // Not changed and still active: it was the last admin key. Revoked earlier: nothing to do.
  return Boolean(update?.meta.changes) || key.revokedAt !== null;
}

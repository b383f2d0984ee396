import { createRoute } from "@hono/zod-openapi";
import { allow, platformOnly } from "../platform/auth";
import { now } from "../platform/clock";
import { idempotent } from "../platform/idempotency";
import { bearer, commonErrors, conflictError, IdempotencyHeader, jsonBody, jsonResponse } from "../platform/openapi";
import { listSchema, PageQuery } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { ApiKeyInputSchema, KeyParams, KeySchema, MerchantInputSchema, NewKeySchema, NewMerchantSchema } from "./schemas";
import { createKey, createMerchant, listKeys, revokeKey } from "./service";

const tags = ["Merchants and keys"];

export const merchantsRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/merchants",
      operationId: "createMerchant",
      tags,
      summary: "Create a merchant (platform token)",
      description: "Returns the merchant and its first admin key. The secret is shown once and stored only as a hash.",
      security: bearer,
      middleware: [platformOnly(), idempotent(false, { secretPaths: ["apiKey.secret"] })] as const,
      request: { headers: IdempotencyHeader, body: jsonBody(MerchantInputSchema) },
      responses: {
        201: jsonResponse(NewMerchantSchema, "The merchant and its admin key"),
        ...commonErrors,
      },
    }),
    // The platform token has no merchant, so no request scope: only the database and the instant.
    async (c) => c.json(await createMerchant({ orm: c.get("orm")(), at: now() }, c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/api-keys",
      operationId: "createApiKey",
      tags,
      summary: "Create an API key",
      description:
        "Scopes: admin (everything of its merchant), checkout (members, orders, refunds, redemptions, member tokens), read (GET only).",
      security: bearer,
      middleware: [allow("admin"), idempotent(false, { secretPaths: ["secret"] })] as const,
      request: { headers: IdempotencyHeader, body: jsonBody(ApiKeyInputSchema) },
      responses: { 201: jsonResponse(NewKeySchema, "The key with its secret, shown once"), ...commonErrors },
    }),
    async (c) => c.json(await createKey(scopeOf(c), c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/api-keys",
      operationId: "listApiKeys",
      tags,
      summary: "List API keys (never their secrets)",
      description:
        "The merchant's keys, newest first, with their scope, name and the last characters of the secret. Secrets are never shown again.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(KeySchema), "Keys, newest first"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listKeys(scopeOf(c), limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/api-keys/{id}",
      operationId: "revokeApiKey",
      tags,
      summary: "Revoke an API key (effective immediately)",
      description:
        "Revoking a key already revoked is a 204 again. The merchant's last active admin key cannot be revoked " +
        "(409 conflict): create another admin key first, so the merchant is never locked out.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: KeyParams },
      responses: { 204: { description: "Revoked" }, ...commonErrors, ...conflictError },
    }),
    async (c) => {
      await revokeKey(scopeOf(c), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

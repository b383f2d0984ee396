import { createRoute, z } from "@hono/zod-openapi";
import { allow, allowWith, currentMerchant, memberOnly } from "../platform/auth";
import { ApiError } from "../platform/errors";
import { idempotent } from "../platform/idempotency";
import {
  bearer,
  commonErrors,
  conflictError,
  IdempotencyHeader,
  jsonBody,
  jsonResponse,
  RequiredIdempotencyHeader,
} from "../platform/openapi";
import { listSchema, PageQuery } from "../platform/pagination";
import { createRouter, jsonText, sqlReply } from "../platform/router";
import {
  AdjustmentInputSchema,
  ExpiringQuery,
  ExpiringSchema,
  LedgerEntrySchema,
  MemberInputSchema,
  MemberParams,
  MemberSchema,
  TokenInputSchema,
} from "./schemas";
import {
  adjustPoints,
  eraseMember,
  expiringPoints,
  exportMember,
  listLedger,
  mintMemberToken,
  prefetchMember,
  readMemberJson,
  upsertMember,
} from "./service";

const tags = ["Members"];

export const membersRouter = createRouter()
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/members/{memberId}",
      tags,
      summary: "Create or update a member",
      description:
        "Omitted fields keep their value; null clears a field. An erased member stays erased: setting any personal field " +
        "(email, name, birthday, attributes) is 409 conflict and writes nothing; a body without personal data answers 200.",
      security: bearer,
      middleware: [allow("admin", "checkout")] as const,
      request: { params: MemberParams, body: jsonBody(MemberInputSchema) },
      responses: {
        200: jsonResponse(MemberSchema, "Updated"),
        201: jsonResponse(MemberSchema, "Created"),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const { created, body } = await upsertMember(c, c.req.valid("param").memberId, c.req.valid("json"));
      return jsonText(body, created ? 201 : 200) as never;
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}",
      tags,
      summary: "Read a member: balance, pending, credit, lifetime totals, tier",
      description:
        "Settles what is due first, as the jobs would: pending points past their return window become spendable, points past " +
        "their date or the inactivity deadline expire, holds past 15 minutes are released. The balance shown can be spent.",
      security: bearer,
      middleware: [allowWith(prefetchMember, "admin", "checkout", "read")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MemberSchema, "The member"), ...commonErrors },
    }),
    async (c) =>
      sqlReply<typeof MemberSchema, 200>(
        await readMemberJson(c.var.db, currentMerchant(c), c.req.valid("param").memberId, c.var.prefetched),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/ledger",
      tags,
      summary: "A member's ledger, newest first",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: PageQuery },
      responses: { 200: jsonResponse(listSchema(LedgerEntrySchema), "Entries"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listLedger(c, currentMerchant(c).id, c.req.valid("param").memberId, limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/expiring",
      tags,
      summary: "Points expiring soon, by date",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: ExpiringQuery },
      responses: { 200: jsonResponse(ExpiringSchema, "Expiring points"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { withinDays } = c.req.valid("query");
      return c.json(await expiringPoints(c, merchant.id, merchant.timezone, c.req.valid("param").memberId, withinDays), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/members/{memberId}/adjustments",
      tags,
      summary: "Adjust a member's points with a reason (goodwill, corrections)",
      description:
        "A negative adjustment cannot take more than the spendable balance (409 insufficient_points). A positive one that would " +
        "take balance + pending past 2^53 - 1 is 422 unprocessable naming points.",
      security: bearer,
      middleware: [allow("admin"), idempotent(true, { storedInBatch: true })] as const,
      request: { params: MemberParams, headers: RequiredIdempotencyHeader, body: jsonBody(AdjustmentInputSchema) },
      responses: {
        201: jsonResponse(
          z.object({ id: z.string(), points: z.number().int(), reason: z.string(), member: MemberSchema }).openapi("Adjustment"),
          "The adjustment entry and the member after it",
        ),
        ...commonErrors,
        ...conflictError,
      },
    }),
    (c) => {
      const { points, reason } = c.req.valid("json");
      return adjustPoints(c, c.req.valid("param").memberId, points, reason) as never;
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/members/{memberId}/tokens",
      tags,
      summary: "Mint a short-lived member token for the /v1/me routes",
      description: "An erased member gets no new tokens: 409 conflict.",
      security: bearer,
      middleware: [allow("admin", "checkout"), idempotent(false, { secretPaths: ["token"] })] as const,
      request: {
        params: MemberParams,
        headers: IdempotencyHeader,
        body: { required: false, content: { "application/json": { schema: TokenInputSchema } } },
      },
      responses: {
        201: jsonResponse(
          z
            .object({
              token: z
                .string()
                .nullable()
                .openapi({ description: "Shown once; null when the response is an idempotent replay." }),
              expiresAt: z.string(),
            })
            .openapi("MemberToken"),
          "The token (shown once)",
        ),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const input = c.req.valid("json") as { ttlSeconds?: number } | undefined;
      return c.json(await mintMemberToken(c, c.req.valid("param").memberId, input?.ttlSeconds), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/export",
      tags,
      summary: "Export everything held about a member",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(z.record(z.string(), z.unknown()).openapi("MemberExport"), "The export"), ...commonErrors },
    }),
    async (c) => c.json(await exportMember(c, c.req.valid("param").memberId), 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/members/{memberId}",
      tags,
      summary: "Erase a member's personal data",
      description:
        "Email, name, birthday and attributes are removed and member tokens revoked, for good: later PUTs with personal data " +
        "and new tokens are 409 conflict. The points account stays (keyed by the merchant's member id, holding no personal data): " +
        "orders, refunds, redemptions and adjustments still post, so every total keeps adding up.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: MemberParams },
      responses: { 204: { description: "Erased" }, ...commonErrors },
    }),
    async (c) => {
      await eraseMember(c, c.req.valid("param").memberId);
      return c.body(null, 204);
    },
  );

/** The member API: the token's own member only. */
export const meRouter = createRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me",
      tags: ["Member API"],
      summary: "The token's member",
      security: bearer,
      middleware: [memberOnly()] as const,
      responses: { 200: jsonResponse(MemberSchema, "The member"), ...commonErrors },
    }),
    async (c) => {
      const p = c.var.principal;
      if (p.kind !== "member") throw new ApiError("forbidden", "This route needs a member token.");
      return jsonText(await readMemberJson(c.var.db, p.merchant, p.memberId), 200) as never;
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me/ledger",
      tags: ["Member API"],
      summary: "The token's member's ledger, newest first",
      security: bearer,
      middleware: [memberOnly()] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(LedgerEntrySchema), "Entries"), ...commonErrors },
    }),
    async (c) => {
      const p = c.var.principal;
      if (p.kind !== "member") throw new ApiError("forbidden", "This route needs a member token.");
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listLedger(c, p.merchant.id, p.memberId, limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me/expiring",
      tags: ["Member API"],
      summary: "The token's member's points expiring soon",
      security: bearer,
      middleware: [memberOnly()] as const,
      request: { query: ExpiringQuery },
      responses: { 200: jsonResponse(ExpiringSchema, "Expiring points"), ...commonErrors },
    }),
    async (c) => {
      const p = c.var.principal;
      if (p.kind !== "member") throw new ApiError("forbidden", "This route needs a member token.");
      return c.json(
        await expiringPoints(c, p.merchant.id, p.merchant.timezone, p.memberId, c.req.valid("query").withinDays),
        200,
      );
    },
  );

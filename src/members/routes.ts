import { createRoute } from "@hono/zod-openapi";
import { HOLD_TTL_TEXT } from "../ledger/holds";
import { allow, allowWith, memberOnly, merchantOfKey, type Prefetch, type PrefetchReads, tokenMemberId } from "../platform/auth";
import { now } from "../platform/clock";
import { commitPlanned, idempotent, writeReply } from "../platform/idempotency";
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
import { createRouter, sqlReply } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { retryOnRace } from "../platform/write";
import {
  AdjustmentInputSchema,
  AdjustmentSchema,
  EXPORT_MAX_ROWS,
  ExpiringQuery,
  ExpiringSchema,
  LedgerEntrySchema,
  MemberExportSchema,
  MemberInputSchema,
  MemberParams,
  MemberSchema,
  MemberTokenSchema,
  TokenInputSchema,
} from "./schemas";
import {
  eraseMember,
  expiringPoints,
  exportMember,
  listLedger,
  MEMBER_READ,
  mintMemberToken,
  planAdjustment,
  readMemberJson,
  upsertMember,
} from "./service";
import { memberReadStatement } from "./settled-read";

const tags = ["Members"];

/** Prefetch for GET /v1/members/{memberId}: the whole read rides along with authentication. */
const prefetchMember: Prefetch = (c): PrefetchReads => {
  const hash = c.get("secretHash");
  const memberId = c.req.param("memberId");
  if (!hash || !memberId) return {};
  return { [MEMBER_READ]: memberReadStatement(c.get("db"), merchantOfKey(hash), memberId, now()) };
};

export const membersRouter = createRouter()
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/members/{memberId}",
      operationId: "upsertMember",
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
      const { created, body } = await upsertMember(scopeOf(c), c.req.valid("param").memberId, c.req.valid("json"));
      return created ? sqlReply<typeof MemberSchema, 201>(body, 201) : sqlReply<typeof MemberSchema, 200>(body, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}",
      operationId: "getMember",
      tags,
      summary: "Read a member: balance, pending, credit, lifetime totals, tier",
      description:
        "Settles what is due first, as the jobs would: pending points past their return window become spendable, points past " +
        `their date or the inactivity deadline expire, holds past ${HOLD_TTL_TEXT} are released. The balance shown can be spent.`,
      security: bearer,
      middleware: [allowWith(prefetchMember, "admin", "checkout", "read")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MemberSchema, "The member"), ...commonErrors },
    }),
    async (c) => sqlReply<typeof MemberSchema, 200>(await readMemberJson(scopeOf(c), c.req.valid("param").memberId), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/ledger",
      operationId: "listMemberLedger",
      tags,
      summary: "A member's ledger, newest first",
      description:
        "Every change to the member's points, newest first: earn, redeem, refund_reversal, redemption_return, expire, adjust, hold, release. Entries are never changed or deleted.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: PageQuery },
      responses: { 200: jsonResponse(listSchema(LedgerEntrySchema), "Entries"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listLedger(scopeOf(c), c.req.valid("param").memberId, limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/expiring",
      operationId: "listMemberExpiring",
      tags,
      summary: "Points expiring soon, by date",
      description:
        "Spendable points that expire within `withinDays` days, summed by expiry date. Points already expired are never listed.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: ExpiringQuery },
      responses: { 200: jsonResponse(ExpiringSchema, "Expiring points"), ...commonErrors },
    }),
    async (c) => {
      const { withinDays } = c.req.valid("query");
      return c.json(await expiringPoints(scopeOf(c), c.req.valid("param").memberId, withinDays), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/members/{memberId}/adjustments",
      operationId: "adjustMemberPoints",
      tags,
      summary: "Adjust a member's points with a reason (goodwill, corrections)",
      description:
        "A negative adjustment cannot take more than the spendable balance (409 insufficient_points). A positive one that would " +
        "take balance + pending past 2^53 - 1 is 422 unprocessable naming points.",
      security: bearer,
      middleware: [allow("admin"), idempotent(true, { storedInBatch: true })] as const,
      request: { params: MemberParams, headers: RequiredIdempotencyHeader, body: jsonBody(AdjustmentInputSchema) },
      responses: {
        201: jsonResponse(AdjustmentSchema, "The adjustment entry and the member after it"),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const { points, reason } = c.req.valid("json");
      const memberId = c.req.valid("param").memberId;
      // A due hold this adjustment releases was captured or cancelled at the same moment: plan again.
      const response = await retryOnRace(async () =>
        commitPlanned(c, await planAdjustment(scopeOf(c), memberId, points, reason)),
      );
      return writeReply<typeof AdjustmentSchema, 201>(response, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/members/{memberId}/tokens",
      operationId: "createMemberToken",
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
        201: jsonResponse(MemberTokenSchema, "The token (shown once)"),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const input = c.req.valid("json") as { ttlSeconds?: number } | undefined;
      return c.json(await mintMemberToken(scopeOf(c), c.req.valid("param").memberId, input?.ttlSeconds), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/export",
      operationId: "exportMember",
      tags,
      summary: "Export everything held about a member",
      description:
        "Everything held about the member, for access requests: personal data and the account (settled first, as GET " +
        "/v1/members/{memberId} does), ledger, orders, refunds, redemptions, referrals, perk states, perk events and perk uses, " +
        "tier history, vouchers, stamp-card progress and rebate allocations. Each list is newest first and holds at most " +
        `${EXPORT_MAX_ROWS} rows; \`truncated\` says which lists were cut.`,
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MemberExportSchema, "The export"), ...commonErrors },
    }),
    async (c) => c.json(await exportMember(scopeOf(c), c.req.valid("param").memberId), 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/members/{memberId}",
      operationId: "eraseMember",
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
      await eraseMember(scopeOf(c), c.req.valid("param").memberId);
      return c.body(null, 204);
    },
  );

/** The member API: the token's own member only. */
export const meRouter = createRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me",
      operationId: "getMe",
      tags: ["Member API"],
      summary: "The token's member",
      description: "The member of the token, as GET /v1/members/{memberId} answers it.",
      security: bearer,
      middleware: [memberOnly()] as const,
      responses: { 200: jsonResponse(MemberSchema, "The member"), ...commonErrors },
    }),
    async (c) => sqlReply<typeof MemberSchema, 200>(await readMemberJson(scopeOf(c), tokenMemberId(c)), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me/ledger",
      operationId: "listMyLedger",
      tags: ["Member API"],
      summary: "The token's member's ledger, newest first",
      description: "The ledger of the token's member, newest first, as GET /v1/members/{memberId}/ledger answers it.",
      security: bearer,
      middleware: [memberOnly()] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(LedgerEntrySchema), "Entries"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listLedger(scopeOf(c), tokenMemberId(c), limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me/expiring",
      operationId: "listMyExpiring",
      tags: ["Member API"],
      summary: "The token's member's points expiring soon",
      description: "Points of the token's member expiring soon, as GET /v1/members/{memberId}/expiring answers it.",
      security: bearer,
      middleware: [memberOnly()] as const,
      request: { query: ExpiringQuery },
      responses: { 200: jsonResponse(ExpiringSchema, "Expiring points"), ...commonErrors },
    }),
    async (c) => c.json(await expiringPoints(scopeOf(c), tokenMemberId(c), c.req.valid("query").withinDays), 200),
  );

import { createRoute } from "@hono/zod-openapi";
import { MemberParams } from "../members/schemas";
import { allow, memberOnly, tokenMemberId } from "../platform/auth";
import { bearer, commonErrors, conflictError, jsonBody, jsonResponse, unprocessableError } from "../platform/openapi";
import { listSchema, PageQuery } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { previewLadder } from "./preview";
import {
  LadderChangeSchema,
  LadderInputSchema,
  LadderPreviewSchema,
  LadderSchema,
  ManualTierInputSchema,
  MemberTierSchema,
  TierChangeSchema,
} from "./schemas";
import { assignTier, loadLadder, memberTier, readLadder, replaceLadder, tierHistory } from "./service";

const tags = ["Tiers"];

export const tiersRouter = createRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tiers",
      operationId: "getTierLadder",
      tags,
      summary: "Read the tier ladder",
      description:
        "The ladder with its version: metric, window, tiers lowest first, downgrade rules. 404 until PUT /v1/tiers defines one.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      responses: { 200: jsonResponse(LadderSchema, "The ladder"), ...commonErrors },
    }),
    async (c) => c.json(await readLadder(scopeOf(c)), 200),
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/tiers",
      operationId: "replaceTierLadder",
      tags,
      summary: "Replace the tier ladder",
      description:
        "Tiers are listed lowest first; the lowest tier's threshold is 0, so every member holds it from enrolment. " +
        "A change of thresholds, metric or window makes a new version and re-places every member by it " +
        "(`ladder_change` in the tier history): the first members at once, the rest by the tier-review job in chunks. " +
        "A status that still holds keeps at least the tier its old threshold reaches under the new ones, until it lapses. " +
        "Names, multipliers and downgrade rules alone apply at once and move nobody.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { body: jsonBody(LadderInputSchema) },
      responses: { 200: jsonResponse(LadderChangeSchema, "The ladder, and how far re-placement got"), ...commonErrors },
    }),
    async (c) => c.json(await replaceLadder(scopeOf(c), c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tiers/preview",
      operationId: "previewTierLadder",
      tags,
      summary: "Preview a ladder: how many members each tier would hold, who moves",
      description: "Places every member by the draft ladder as PUT /v1/tiers would, and writes nothing.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { body: jsonBody(LadderInputSchema) },
      responses: { 200: jsonResponse(LadderPreviewSchema, "Preview"), ...commonErrors },
    }),
    async (c) => {
      const scope = scopeOf(c);
      return c.json(await previewLadder(scope, await loadLadder(scope), c.req.valid("json")), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/tier",
      operationId: "getMemberTier",
      tags,
      summary: "A member's tier, progress to the next, and what keeps the current one",
      description:
        "Current and next tier, progress of the metric over the current window, when the status lapses (qualifiedUntil) and what keeps it (retain). 404 when the merchant has no ladder.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MemberTierSchema, "Tier status"), ...commonErrors },
    }),
    async (c) => c.json(await memberTier(scopeOf(c), c.req.valid("param").memberId), 200),
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/members/{memberId}/tier",
      operationId: "assignMemberTier",
      tags,
      summary: "Assign a tier by hand",
      description:
        "Holds until `until` (or until changed); orders still move the member up when the metric reaches higher. " +
        "When it ends the member returns to what the metric earns: it is never a floor. 409 when a ladder change " +
        "removed the tier while it was being assigned.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: MemberParams, body: jsonBody(ManualTierInputSchema) },
      responses: {
        200: jsonResponse(MemberTierSchema, "Tier status"),
        ...commonErrors,
        ...unprocessableError,
        ...conflictError,
      },
    }),
    async (c) => c.json(await assignTier(scopeOf(c), c.req.valid("param").memberId, c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/tier/history",
      operationId: "listMemberTierHistory",
      tags,
      summary: "A member's tier changes with their reasons, newest first",
      description:
        "Every tier change with its reason (upgrade, review, manual, ladder_change), time and a detail naming the cause.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: PageQuery },
      responses: { 200: jsonResponse(listSchema(TierChangeSchema), "Changes"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await tierHistory(scopeOf(c), c.req.valid("param").memberId, limit, cursor), 200);
    },
  );

/** The member API's tier route: the token's member only. */
export const meTierRouter = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/me/tier",
    operationId: "getMyTier",
    tags: ["Member API"],
    summary: "The token's member's tier status",
    description: "The body of GET /v1/members/{memberId}/tier for the token's member.",
    security: bearer,
    middleware: [memberOnly()] as const,
    responses: { 200: jsonResponse(MemberTierSchema, "Tier status"), ...commonErrors },
  }),
  async (c) => c.json(await memberTier(scopeOf(c), tokenMemberId(c)), 200),
);

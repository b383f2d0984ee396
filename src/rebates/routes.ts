import { createRoute } from "@hono/zod-openapi";
import { MemberParams } from "../members/schemas";
import { allow, memberOnly } from "../platform/auth";
import { ApiError } from "../platform/errors";
import { idempotent } from "../platform/idempotency";
import {
  bearer,
  commonErrors,
  conflictError,
  jsonBody,
  jsonResponse,
  RequiredIdempotencyHeader,
  unprocessableError,
} from "../platform/openapi";
import { listSchema, PageQuery } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import {
  MemberRebateSchema,
  PeriodParams,
  PeriodReportSchema,
  PreviewSchema,
  ProfitInputSchema,
  RebateProgramInputSchema,
  RebateProgramParams,
  RebateProgramSchema,
} from "./schemas";
import {
  closePeriod,
  listPrograms,
  loadProgram,
  memberRebates,
  periodReport,
  previewPeriod,
  programBody,
  putProgram,
} from "./service";

const tags = ["Rebates"];

const CLOSE_DESCRIPTION =
  "Pays every eligible member pool * netSpend / totalNetSpend in whole units (largest remainder, ties by memberId), " +
  "pool = floor(netProfit * shareBps / 10000), as `rebate` ledger entries (points at the program's pointValue, rounded " +
  "down, or store credit). A period closes once: the eligible members and their net spend are frozen when the close " +
  "starts, so orders and refunds posted later for that period change nothing it pays. A retry with the same key resumes " +
  "an unfinished close; another key is 409. A period that has not ended in the merchant's timezone is 422 naming " +
  "periodKey. A large close answers 202 with status `running` and finishes on the queue; GET the period for progress.";

export const rebatesRouter = createRouter()
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/rebate-programs/{programId}",
      operationId: "putRebateProgram",
      tags,
      summary: "Create or replace a profit-sharing rebate program",
      description: "Unknown tiers are 422 naming tiers.N. Closes already started keep the terms they started with.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: RebateProgramParams, body: jsonBody(RebateProgramInputSchema) },
      responses: {
        200: jsonResponse(RebateProgramSchema, "Replaced"),
        201: jsonResponse(RebateProgramSchema, "Created"),
        ...commonErrors,
        ...unprocessableError,
      },
    }),
    async (c) => {
      const { created, body } = await putProgram(scopeOf(c), c.req.valid("param").programId, c.req.valid("json"));
      return created ? c.json(body, 201) : c.json(body, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rebate-programs",
      operationId: "listRebatePrograms",
      tags,
      summary: "List rebate programs",
      description: "The merchant's rebate programs, paginated.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(RebateProgramSchema), "Programs by id"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listPrograms(scopeOf(c), limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rebate-programs/{programId}",
      operationId: "getRebateProgram",
      tags,
      summary: "Read a rebate program",
      description: "One rebate program: period, share, payout and eligibility.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: RebateProgramParams },
      responses: { 200: jsonResponse(RebateProgramSchema, "The program"), ...commonErrors },
    }),
    async (c) => {
      const scope = scopeOf(c);
      return c.json(programBody(await loadProgram(scope.orm, scope.merchant.id, c.req.valid("param").programId)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/rebate-programs/{programId}/periods/{periodKey}/preview",
      operationId: "previewRebatePeriod",
      tags,
      summary: "Preview what closing a period would pay, writing nothing",
      description:
        "Allowed before the period ends (`periodEnded` says whether it can be closed). A key of another period kind than the " +
        "program's is 422 naming periodKey.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: PeriodParams, body: jsonBody(ProfitInputSchema) },
      responses: { 200: jsonResponse(PreviewSchema, "The preview"), ...commonErrors, ...unprocessableError },
    }),
    async (c) => {
      const { programId, periodKey } = c.req.valid("param");
      return c.json(await previewPeriod(scopeOf(c), programId, periodKey, c.req.valid("json").netProfit), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/rebate-programs/{programId}/periods/{periodKey}/close",
      operationId: "closeRebatePeriod",
      tags,
      summary: "Close a period: share the profit among eligible members",
      description: CLOSE_DESCRIPTION,
      security: bearer,
      middleware: [allow("admin"), idempotent(true)] as const,
      request: { params: PeriodParams, headers: RequiredIdempotencyHeader, body: jsonBody(ProfitInputSchema) },
      responses: {
        200: jsonResponse(PeriodReportSchema, "Closed: every allocation is paid"),
        202: jsonResponse(PeriodReportSchema, "Running: the rest is paid in chunks on the queue"),
        ...commonErrors,
        ...conflictError,
        ...unprocessableError,
      },
    }),
    async (c) => {
      const { programId, periodKey } = c.req.valid("param");
      const enqueue = (ref: unknown) => c.env.REBATE_CLOSES.send(ref);
      const { done, report } = await closePeriod(scopeOf(c), programId, periodKey, c.req.valid("json").netProfit, enqueue);
      return done ? c.json(report, 200) : c.json(report, 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rebate-programs/{programId}/periods/{periodKey}",
      operationId: "getRebatePeriod",
      tags,
      summary: "The period report: status, progress, pool, paid, distribution",
      description: "404 until a close of the period has started.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: PeriodParams },
      responses: { 200: jsonResponse(PeriodReportSchema, "The report"), ...commonErrors, ...unprocessableError },
    }),
    async (c) => {
      const { programId, periodKey } = c.req.valid("param");
      return c.json(await periodReport(scopeOf(c), programId, periodKey), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/rebates",
      operationId: "listMemberRebates",
      tags,
      summary: "A member's rebates, newest first",
      description: "Every rebate paid to the member, with its program, period, amount and payout, paginated.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: PageQuery },
      responses: { 200: jsonResponse(listSchema(MemberRebateSchema), "Rebates"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await memberRebates(scopeOf(c), c.req.valid("param").memberId, limit, cursor), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me/rebates",
      operationId: "listMyRebates",
      tags: ["Member API"],
      summary: "The token's member's rebates, newest first",
      description: "The body of GET /v1/members/{memberId}/rebates for the token's member.",
      security: bearer,
      middleware: [memberOnly()] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(MemberRebateSchema), "Rebates"), ...commonErrors },
    }),
    async (c) => {
      const principal = c.get("principal");
      if (principal.kind !== "member") throw new ApiError("forbidden", "This route needs a member token.");
      const { limit, cursor } = c.req.valid("query");
      return c.json(await memberRebates(scopeOf(c), principal.memberId, limit, cursor), 200);
    },
  );

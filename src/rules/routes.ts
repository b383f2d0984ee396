import { createRoute, z } from "@hono/zod-openapi";
import { MAX_ACTIVE_RULES } from "../earning/limits";
import { allow } from "../platform/auth";
import { idempotent } from "../platform/idempotency";
import {
  bearer,
  commonErrors,
  conflictError,
  IdempotencyHeader,
  jsonBody,
  jsonResponse,
  unprocessableError,
} from "../platform/openapi";
import { listSchema, PageQuery } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { MerchantChosenId } from "../platform/validation";
import {
  MAX_REPLAY_ORDERS,
  MAX_REPLAY_WORK,
  ReplayInputSchema,
  ReplayResultSchema,
  RuleCreateSchema,
  RuleReplaceSchema,
  RuleSavedSchema,
  RuleSchema,
  RuleVersionSchema,
  SimulateInputSchema,
  SimulateResultSchema,
} from "./schemas";
import { createRule, deleteRule, getRule, listRules, listVersions, replaceRule, replayRules, simulateOrder } from "./service";

const RuleParams = z.object({
  ruleId: MerchantChosenId.openapi({ param: { name: "ruleId", in: "path" }, example: "double-tea" }),
});
const tags = ["Earning rules"];
const ACTIVE_LIMIT =
  `Every checkout evaluates all active rules, so at most ${MAX_ACTIVE_RULES} may be active at once: ` +
  "one more is 422 naming `active`, also when two are activated at the same moment.";

export const rulesRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/rules",
      operationId: "createRule",
      tags,
      summary: "Create an earning rule",
      description: ACTIVE_LIMIT,
      security: bearer,
      middleware: [allow("admin"), idempotent(false)] as const,
      request: { headers: IdempotencyHeader, body: jsonBody(RuleCreateSchema) },
      responses: {
        201: jsonResponse(RuleSavedSchema, "The rule, with warnings"),
        ...commonErrors,
        ...conflictError,
        ...unprocessableError,
      },
    }),
    async (c) => c.json(await createRule(scopeOf(c), c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rules",
      operationId: "listRules",
      tags,
      summary: "List earning rules",
      description: "The merchant's earning rules, active or not.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(RuleSchema), "Rules by id"), ...commonErrors },
    }),
    async (c) => c.json(await listRules(scopeOf(c), c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rules/{ruleId}",
      operationId: "getRule",
      tags,
      summary: "Read an earning rule",
      description: "The current version of the rule.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { params: RuleParams },
      responses: { 200: jsonResponse(RuleSchema, "The rule"), ...commonErrors },
    }),
    async (c) => c.json(await getRule(scopeOf(c), c.req.valid("param").ruleId), 200),
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/rules/{ruleId}",
      operationId: "replaceRule",
      tags,
      summary: "Create or replace an earning rule",
      description: ACTIVE_LIMIT,
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: RuleParams, body: jsonBody(RuleReplaceSchema) },
      responses: {
        200: jsonResponse(RuleSavedSchema, "Replaced, with warnings"),
        201: jsonResponse(RuleSavedSchema, "Created, with warnings"),
        ...commonErrors,
        ...unprocessableError,
      },
    }),
    async (c) => {
      const { body, created } = await replaceRule(scopeOf(c), c.req.valid("param").ruleId, c.req.valid("json"));
      return created ? c.json(body, 201) : c.json(body, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rules/{ruleId}/versions",
      operationId: "listRuleVersions",
      tags,
      summary: "List a rule's versions",
      description:
        "Every create or replace makes a new version; ledger entries and order awards name the version that awarded. " +
        "Newest first; versions stay listed after the rule is deleted.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { params: RuleParams, query: PageQuery },
      responses: { 200: jsonResponse(listSchema(RuleVersionSchema), "Versions, newest first"), ...commonErrors },
    }),
    async (c) => c.json(await listVersions(scopeOf(c), c.req.valid("param").ruleId, c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/rules/{ruleId}",
      operationId: "deleteRule",
      tags,
      summary: "Delete an earning rule",
      description: "Past orders keep the awards they earned; the rule stops applying at once.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: RuleParams },
      responses: { 204: { description: "Deleted" }, ...commonErrors },
    }),
    async (c) => {
      await deleteRule(scopeOf(c), c.req.valid("param").ruleId);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/rules/simulate",
      operationId: "simulateRules",
      tags,
      summary: "Simulate an order against live and draft rules",
      description:
        "What each live rule, and each draft rule sent with the request, would award the order, as a quote would: with " +
        "what the rules' budgets and the member's per-member limits have used (a draft replacing a live rule inherits its " +
        "usage), on the part of the order not paid with points, at the member's tier (the lowest for a member not " +
        "enrolled yet, who is evaluated even without autoEnroll). Writes nothing.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { body: jsonBody(SimulateInputSchema) },
      responses: {
        200: jsonResponse(SimulateResultSchema, "What each rule would award"),
        ...commonErrors,
        ...unprocessableError,
      },
    }),
    async (c) => c.json(await simulateOrder(scopeOf(c), c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/rules/replay",
      operationId: "replayRules",
      tags,
      summary: "Replay draft rules over the stored orders of a date range",
      description:
        "What the orders that occurred in [from, to) earned, and what they would have earned under the drafts, in total and " +
        `per rule. Reads at most ${MAX_REPLAY_ORDERS} orders per call in chunks, and stops sooner when the evaluation ` +
        `work (rules, plus items per rule with an expression) passes ${MAX_REPLAY_WORK} per call; nextCursor continues, ` +
        "with budgets and per-member limits consumed across the calls as in one (they start unused at `from`, live " +
        "rules' too). A draft that would give one order more points than an order may earn is 422 naming `rules`. " +
        "Writes nothing.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { body: jsonBody(ReplayInputSchema) },
      responses: {
        200: jsonResponse(ReplayResultSchema, "Earned and would-earn totals"),
        ...commonErrors,
        ...unprocessableError,
      },
    }),
    async (c) => c.json(await replayRules(scopeOf(c), c.req.valid("json")), 200),
  );

import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { rules } from "../db/schema";
import { ruleBody } from "../earning/rule-row";
import { allow, currentMerchant } from "../platform/auth";
import { now } from "../platform/clock";
import { ApiError, notFound } from "../platform/errors";
import { idempotent } from "../platform/idempotency";
import { bearer, commonErrors, conflictError, IdempotencyHeader, jsonBody, jsonResponse } from "../platform/openapi";
import { decodeCursor, isString, listSchema, PageQuery, page } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { MerchantChosenId } from "../platform/validation";
import { RuleCreateSchema, RuleReplaceSchema, RuleSchema } from "./schemas";
import { simulateRoute, simulateRules } from "./simulate";

const RuleParams = z.object({ ruleId: MerchantChosenId.openapi({ param: { name: "ruleId", in: "path" } }) });
const tags = ["Earning rules"];

function toRow(merchantId: string, id: string, input: z.infer<typeof RuleReplaceSchema>, at: number) {
  return {
    merchantId,
    id,
    name: input.name,
    active: input.active,
    priority: input.priority,
    startsAt: input.startsAt ? Date.parse(input.startsAt) : null,
    endsAt: input.endsAt ? Date.parse(input.endsAt) : null,
    conditions: JSON.stringify(input.conditions),
    effect: JSON.stringify(input.effect),
    createdAt: at,
    updatedAt: at,
  };
}

export const rulesRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/rules",
      tags,
      summary: "Create an earning rule",
      security: bearer,
      middleware: [allow("admin"), idempotent(false)] as const,
      request: { headers: IdempotencyHeader, body: jsonBody(RuleCreateSchema) },
      responses: { 201: jsonResponse(RuleSchema, "The rule"), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const input = c.req.valid("json");
      const row = toRow(merchant.id, input.id, input, now());
      const inserted = await c.var.orm.insert(rules).values(row).onConflictDoNothing().returning();
      if (inserted.length === 0)
        throw new ApiError("conflict", `A rule with id ${input.id} already exists; use PUT to replace it.`);
      return c.json(ruleBody(inserted[0]!), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rules",
      tags,
      summary: "List earning rules",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(RuleSchema), "Rules by id"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { limit, cursor } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, isString) : undefined;
      const rows = await c.var.orm
        .select()
        .from(rules)
        .where(and(eq(rules.merchantId, merchant.id), after ? gt(rules.id, after) : undefined))
        .orderBy(asc(rules.id))
        .limit(limit + 1);
      const result = page(rows, limit, (last) => last.id);
      return c.json({ data: result.data.map(ruleBody), nextCursor: result.nextCursor }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/rules/{ruleId}",
      tags,
      summary: "Read an earning rule",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { params: RuleParams },
      responses: { 200: jsonResponse(RuleSchema, "The rule"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { ruleId } = c.req.valid("param");
      const row = await c.var.orm.query.rules.findFirst({ where: and(eq(rules.merchantId, merchant.id), eq(rules.id, ruleId)) });
      if (!row) throw notFound(`Rule ${ruleId}`);
      return c.json(ruleBody(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/rules/{ruleId}",
      tags,
      summary: "Create or replace an earning rule",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: RuleParams, body: jsonBody(RuleReplaceSchema) },
      responses: {
        200: jsonResponse(RuleSchema, "Replaced"),
        201: jsonResponse(RuleSchema, "Created"),
        ...commonErrors,
      },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { ruleId } = c.req.valid("param");
      const input = c.req.valid("json");
      if (input.id !== undefined && input.id !== ruleId)
        throw new ApiError("invalid_request", "The body id must match the path.", [
          { path: "id", message: "must equal the ruleId in the path" },
        ]);
      const row = toRow(merchant.id, ruleId, input, now());
      const existing = await c.var.orm.query.rules.findFirst({
        columns: { createdAt: true },
        where: and(eq(rules.merchantId, merchant.id), eq(rules.id, ruleId)),
      });
      const [saved] = await c.var.orm
        .insert(rules)
        .values(row)
        .onConflictDoUpdate({
          target: [rules.merchantId, rules.id],
          set: { ...row, createdAt: undefined },
        })
        .returning();
      return c.json(ruleBody(saved!), existing ? 200 : 201);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/rules/{ruleId}",
      tags,
      summary: "Delete an earning rule",
      description: "Past orders keep the awards they earned; the rule stops applying at once.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: RuleParams },
      responses: { 204: { description: "Deleted" }, ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { ruleId } = c.req.valid("param");
      const deleted = await c.var.orm
        .delete(rules)
        .where(and(eq(rules.merchantId, merchant.id), eq(rules.id, ruleId)))
        .returning({ id: rules.id });
      if (deleted.length === 0) throw notFound(`Rule ${ruleId}`);
      return c.body(null, 204);
    },
  )
  .openapi(simulateRoute, simulateRules);

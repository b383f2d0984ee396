/** Trying draft rules against an order before they go live. Writes nothing. */
import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { assertEarnable, checkOrder, loadCheckoutContext, NEW_MEMBER } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import { AwardSchema, OrderInputSchema } from "../earning/schemas";
import type { Rule } from "../earning/types";
import { allow, currentMerchant } from "../platform/auth";
import { now } from "../platform/clock";
import { bearer, commonErrors, jsonBody, jsonResponse, unprocessableError } from "../platform/openapi";
import { RuleCreateSchema } from "./schemas";

const SimulateInputSchema = z
  .strictObject({
    order: OrderInputSchema,
    rules: z.array(RuleCreateSchema).max(200).optional().openapi({
      description: "Draft rules. They are added to the live rules; a draft with a live rule's id replaces it.",
    }),
    onlyDrafts: z.boolean().optional().openapi({ description: "Evaluate the drafts alone, without the live rules." }),
  })
  .openapi("SimulateInput");

const SimulateResultSchema = z
  .object({
    pointsEarned: z.number().int(),
    awards: z.array(AwardSchema),
    rules: z.array(
      z.object({
        ruleId: z.string(),
        name: z.string(),
        matched: z.boolean(),
        points: z.number().int(),
        reason: z.string().optional(),
        draft: z.boolean(),
      }),
    ),
  })
  .openapi("SimulateResult");

export const simulateRoute = createRoute({
  method: "post",
  path: "/v1/rules/simulate",
  tags: ["Earning rules"],
  summary: "Simulate an order against live and draft rules",
  security: bearer,
  middleware: [allow("admin")] as const,
  request: { body: jsonBody(SimulateInputSchema) },
  responses: { 200: jsonResponse(SimulateResultSchema, "What each rule would award"), ...commonErrors, ...unprocessableError },
});

export const simulateRules: RouteHandler<typeof simulateRoute, import("../platform/context").AppEnv> = async (c) => {
  const merchant = currentMerchant(c);
  const { order, rules: drafts = [], onlyDrafts = false } = c.req.valid("json");
  const occurredAt = checkOrder(order, merchant.currency, now());
  const ctx = await loadCheckoutContext(c, merchant.id, order.memberId, order.orderId);
  const draftRules: Rule[] = drafts.map((d) => ({
    id: d.id,
    name: d.name,
    active: d.active,
    priority: d.priority,
    startsAt: d.startsAt ? Date.parse(d.startsAt) : null,
    endsAt: d.endsAt ? Date.parse(d.endsAt) : null,
    conditions: d.conditions,
    effect: d.effect,
  }));
  const draftIds = new Set(draftRules.map((r) => r.id));
  const rules = [...(onlyDrafts ? [] : ctx.rules.filter((r) => !draftIds.has(r.id))), ...draftRules];
  const result = evaluateRules(rules, { ...order, occurredAt }, ctx.member ?? NEW_MEMBER, merchant.timezone);
  assertEarnable(result.pointsEarned);
  return c.json(
    {
      pointsEarned: result.pointsEarned,
      awards: result.awards,
      rules: result.outcomes.map((o) => ({ ...o, draft: draftIds.has(o.ruleId) })),
    },
    200,
  );
};

import { createRoute } from "@hono/zod-openapi";
import { HOLD_TTL_TEXT } from "../ledger/holds";
import { MemberParams } from "../members/schemas";
import { MAX_TOTAL } from "../platform/assert";
import { allow, memberOnly, tokenMemberId } from "../platform/auth";
import { bearer, commonErrors, jsonResponse } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { SwitchingCostDistributionSchema, SwitchingCostSchema } from "./schemas";
import { memberSwitchingCost, switchingCostDistribution } from "./service";

const description =
  "What the member would give up by leaving today, in money: spendable and pending points at the program's pointValue " +
  "(pending points net of the debt they repay when released), store credit, uses left of unlocked perks at their value, " +
  "the tier's extra earning over the lowest tier on the last 12 months' spend, the current streak and what it unlocks " +
  "next, and the accrued share of an open rebate period. Like GET /v1/members/{memberId}, it settles what is due first: " +
  `pending points past their return window are released, points past their date or the inactivity deadline expire, holds past ${HOLD_TTL_TEXT} are released. ` +
  `Perks are bounded where they are defined (PUT /v1/perks/{perkId}), so their sum is exact; any value or total that would still pass ${MAX_TOTAL} ` +
  "(2^53 - 1, the largest integer JSON clients read exactly: a balance of that many points at a high pointValue) is shown as " +
  `${MAX_TOTAL}.`;

export const switchingCostRouter = createRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/switching-cost",
      operationId: "getSwitchingCostDistribution",
      tags: ["Perks"],
      summary: "How sticky the program is: the distribution of members' switching costs",
      description:
        "Min, median, p90 and max of the members' switching-cost totals in minor units, as the switching-cost job last " +
        "valued them (every member at most once a day, in chunks); `valued` says how many members are included.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      responses: { 200: jsonResponse(SwitchingCostDistributionSchema, "Distribution"), ...commonErrors },
    }),
    async (c) => c.json(await switchingCostDistribution(scopeOf(c)), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/switching-cost",
      operationId: "getMemberSwitchingCost",
      tags: ["Perks"],
      summary: "What a member would lose by leaving, by component",
      description,
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(SwitchingCostSchema, "Statement"), ...commonErrors },
    }),
    async (c) => c.json(await memberSwitchingCost(scopeOf(c), c.req.valid("param").memberId), 200),
  );

export const meSwitchingCostRouter = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/me/switching-cost",
    operationId: "getMySwitchingCost",
    tags: ["Member API"],
    summary: "What the token's member would lose by leaving",
    description,
    security: bearer,
    middleware: [memberOnly()] as const,
    responses: { 200: jsonResponse(SwitchingCostSchema, "Statement"), ...commonErrors },
  }),
  async (c) => c.json(await memberSwitchingCost(scopeOf(c), tokenMemberId(c)), 200),
);

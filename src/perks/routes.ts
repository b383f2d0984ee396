import { createRoute, z } from "@hono/zod-openapi";
import { MemberParams } from "../members/schemas";
import { allow, memberOnly, tokenMemberId } from "../platform/auth";
import { commitPlanned, idempotent, writeReply } from "../platform/idempotency";
import {
  bearer,
  commonErrors,
  conflictError,
  IdempotencyHeader,
  jsonBody,
  jsonResponse,
  RequiredIdempotencyHeader,
  unprocessableError,
} from "../platform/openapi";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { retryOnRace } from "../platform/write";
import { MAX_PERK_WORTH } from "./limits";
import {
  MemberPerkSchema,
  PerkInputSchema,
  PerkParams,
  PerkSchema,
  PerkUseParams,
  PerkUseReverseSchema,
  PerkUseSchema,
} from "./schemas";
import { listPerks, memberPerks, planPerkUse, putPerk, reversePerkUse } from "./service";

const tags = ["Perks"];
const MemberPerksSchema = z.object({ data: z.array(MemberPerkSchema) }).openapi("MemberPerks");

export const perksRouter = createRouter()
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/perks/{perkId}",
      operationId: "putPerk",
      tags,
      summary: "Create or replace a perk",
      description:
        "Unlock conditions all must hold: tenureDays, a tier or higher, lifetimeSpend, streakMonths. An optional quota " +
        "limits uses per local month or year; lapseAfterInactiveDays locks the perk again after that many days without an order. " +
        `A perk may be worth at most ${MAX_PERK_WORTH} minor units a period (value x quota.uses, or value without a quota): ` +
        "more is 422 naming value and quota.uses, so switching-cost statements, which add up every perk, stay exact integers.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: PerkParams, body: jsonBody(PerkInputSchema) },
      responses: {
        200: jsonResponse(PerkSchema, "Replaced"),
        201: jsonResponse(PerkSchema, "Created"),
        ...commonErrors,
        ...unprocessableError,
      },
    }),
    async (c) => {
      const { created, body } = await putPerk(scopeOf(c), c.req.valid("param").perkId, c.req.valid("json"));
      return created ? c.json(body, 201) : c.json(body, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/perks",
      operationId: "listPerks",
      tags,
      summary: "The merchant's perks",
      description: "Every perk of the merchant with its unlock conditions, quota and lapse.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      responses: { 200: jsonResponse(z.object({ data: z.array(PerkSchema) }), "Perks"), ...commonErrors },
    }),
    async (c) => c.json(await listPerks(scopeOf(c)), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/perks",
      operationId: "listMemberPerks",
      tags,
      summary: "Every perk for a member, unlocked or not, with progress and uses left",
      description: "Unlocks and lapses observed by this read are recorded with their time and reason.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MemberPerksSchema, "Perks"), ...commonErrors },
    }),
    async (c) => c.json(await memberPerks(scopeOf(c), c.req.valid("param").memberId), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/members/{memberId}/perks/{perkId}/uses",
      operationId: "usePerk",
      tags,
      summary: "Use a perk once",
      description: "409 when the perk is locked or no use is left this period; parallel uses never exceed the quota.",
      security: bearer,
      middleware: [allow("admin", "checkout"), idempotent(true, { storedInBatch: true })] as const,
      request: { params: MemberParams.merge(PerkParams), headers: RequiredIdempotencyHeader },
      responses: { 201: jsonResponse(PerkUseSchema, "Used"), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const { memberId, perkId } = c.req.valid("param");
      const response = await retryOnRace(async () => commitPlanned(c, await planPerkUse(scopeOf(c), memberId, perkId)));
      return writeReply<typeof PerkUseSchema, 201>(response, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/members/{memberId}/perks/{perkId}/uses/{useId}/reverse",
      operationId: "reversePerkUse",
      tags,
      summary: "Reverse a perk use (it no longer counts against the quota)",
      description: "The use stops counting against the quota; reversing it again changes nothing.",
      security: bearer,
      middleware: [allow("admin"), idempotent(false)] as const,
      request: { params: MemberParams.merge(PerkUseParams), headers: IdempotencyHeader, body: jsonBody(PerkUseReverseSchema) },
      responses: { 200: jsonResponse(PerkUseSchema, "Reversed"), ...commonErrors },
    }),
    async (c) => {
      const { memberId, perkId, useId } = c.req.valid("param");
      return c.json(await reversePerkUse(scopeOf(c), memberId, perkId, useId, c.req.valid("json").reason), 200);
    },
  );

export const mePerksRouter = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/me/perks",
    operationId: "listMyPerks",
    tags: ["Member API"],
    summary: "The token's member's perks",
    description: "The body of GET /v1/members/{memberId}/perks for the token's member.",
    security: bearer,
    middleware: [memberOnly()] as const,
    responses: { 200: jsonResponse(MemberPerksSchema, "Perks"), ...commonErrors },
  }),
  async (c) => c.json(await memberPerks(scopeOf(c), tokenMemberId(c)), 200),
);

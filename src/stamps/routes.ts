import { createRoute, z } from "@hono/zod-openapi";
import { MAX_ACTIVE_STAMP_CARDS } from "../earning/stamp-card-row";
import { allow, memberOnly, tokenMemberId } from "../platform/auth";
import { commitPlanned, idempotent, writeReply } from "../platform/idempotency";
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
import { MerchantChosenId } from "../platform/validation";
import { MemberStampCardsSchema, StampCardInputSchema, StampCardSavedSchema, StampCardSchema, VoucherSchema } from "./schemas";
import { listStampCards, memberStampCards, memberVouchers, planVoucherRedemption, putStampCard } from "./service";

const tags = ["Stamp cards and vouchers"];
const CardParams = z.object({ cardId: MerchantChosenId.openapi({ param: { name: "cardId", in: "path" } }) });
const MemberParams = z.object({ memberId: MerchantChosenId.openapi({ param: { name: "memberId", in: "path" } }) });
const CodeParams = z.object({
  code: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_]+$/, "must be a voucher code")
    .openapi({ param: { name: "code", in: "path" } }),
});

export const stampsRouter = createRouter()
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/stamp-cards/{cardId}",
      operationId: "putStampCard",
      tags,
      summary: "Create or replace a stamp card",
      description:
        `Orders collect stamps on active cards (at most ${MAX_ACTIVE_STAMP_CARDS}: one more is 422 naming \`active\`). ` +
        "The reply lists warnings: advice on the definition, never a refusal.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { params: CardParams, body: jsonBody(StampCardInputSchema) },
      responses: {
        200: jsonResponse(StampCardSavedSchema, "Replaced, with warnings"),
        201: jsonResponse(StampCardSavedSchema, "Created, with warnings"),
        ...commonErrors,
        ...unprocessableError,
      },
    }),
    async (c) => {
      const { body, created } = await putStampCard(scopeOf(c), c.req.valid("param").cardId, c.req.valid("json"));
      return created ? c.json(body, 201) : c.json(body, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/stamp-cards",
      operationId: "listStampCards",
      tags,
      summary: "List stamp cards",
      description: "Every stamp card of the merchant: what it counts, how many stamps, its reward.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(StampCardSchema), "Cards by id"), ...commonErrors },
    }),
    async (c) => c.json(await listStampCards(scopeOf(c), c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/stamp-cards",
      operationId: "listMemberStampCards",
      tags,
      summary: "A member's stamps on every active card",
      description: "Stamps collected toward each active card and whether the card was completed.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MemberStampCardsSchema, "Cards with the member's stamps"), ...commonErrors },
    }),
    async (c) => c.json(await memberStampCards(scopeOf(c), c.req.valid("param").memberId), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/vouchers",
      operationId: "listMemberVouchers",
      tags,
      summary: "A member's vouchers, newest first",
      description: "Vouchers issued by completed cards, with their codes and whether each was redeemed.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: PageQuery },
      responses: { 200: jsonResponse(listSchema(VoucherSchema), "Vouchers"), ...commonErrors },
    }),
    async (c) => c.json(await memberVouchers(scopeOf(c), c.req.valid("param").memberId, c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/vouchers/{code}/redeem",
      operationId: "redeemVoucher",
      tags,
      summary: "Redeem a voucher",
      description: "A voucher is redeemed once: a second redemption (under another key) is 409 conflict.",
      security: bearer,
      middleware: [allow("admin", "checkout"), idempotent(true, { storedInBatch: true })] as const,
      request: { params: CodeParams, headers: RequiredIdempotencyHeader },
      responses: { 200: jsonResponse(VoucherSchema, "Redeemed"), ...commonErrors, ...conflictError },
    }),
    async (c) =>
      writeReply<typeof VoucherSchema, 200>(
        await commitPlanned(c, planVoucherRedemption(scopeOf(c), c.req.valid("param").code)),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me/stamp-cards",
      operationId: "listMyStampCards",
      tags: ["Member API"],
      summary: "The token's member's stamps on every active card",
      description: "The body of GET /v1/members/{memberId}/stamp-cards for the token member.",
      security: bearer,
      middleware: [memberOnly()] as const,
      responses: { 200: jsonResponse(MemberStampCardsSchema, "Cards with the member's stamps"), ...commonErrors },
    }),
    async (c) => c.json(await memberStampCards(scopeOf(c), tokenMemberId(c)), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/me/vouchers",
      operationId: "listMyVouchers",
      tags: ["Member API"],
      summary: "The token's member's vouchers, newest first",
      description: "The body of GET /v1/members/{memberId}/vouchers for the token member.",
      security: bearer,
      middleware: [memberOnly()] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(VoucherSchema), "Vouchers"), ...commonErrors },
    }),
    async (c) => c.json(await memberVouchers(scopeOf(c), tokenMemberId(c), c.req.valid("query")), 200),
  );

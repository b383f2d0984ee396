import { createRoute } from "@hono/zod-openapi";
import { allow, memberOnly, tokenMemberId } from "../platform/auth";
import { bearer, commonErrors, jsonResponse, unprocessableError } from "../platform/openapi";
import { PageQuery } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { ReferralMemberParams as MemberParams, ReferralCodeSchema, ReferralListSchema } from "./schemas";
import { listReferrals, referralCode } from "./service";

const tags = ["Referrals"];

const CODE_DESCRIPTION =
  "The member's referral code, made on the first request and the same on every later one. Codes are unique across " +
  "every program; a new member of this program names one as `referredBy` in PUT /v1/members/{memberId}.";

export const referralsRouter = createRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/referral-code",
      operationId: "getMemberReferralCode",
      tags,
      summary: "A member's referral code",
      description: `${CODE_DESCRIPTION} Erasing a member retires its code: an erased member has none (422).`,
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(ReferralCodeSchema, "The code"), ...commonErrors, ...unprocessableError },
    }),
    async (c) => c.json(await referralCode(scopeOf(c), c.req.valid("param").memberId), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members/{memberId}/referrals",
      operationId: "listMemberReferrals",
      tags,
      summary: "The referrals a member made, newest first",
      description:
        "Every member created with this member's code, with the referral's status (waiting, pending, paid, void, clawed_back), " +
        "its first order, when it is due and what it pays.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: MemberParams, query: PageQuery },
      responses: { 200: jsonResponse(ReferralListSchema, "Referrals"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listReferrals(scopeOf(c), c.req.valid("param").memberId, limit, cursor), 200);
    },
  );

export const meReferralsRouter = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/me/referral-code",
    operationId: "getMyReferralCode",
    tags: ["Member API"],
    summary: "The token's member's referral code",
    description: `The body of GET /v1/members/{memberId}/referral-code for the token's member. ${CODE_DESCRIPTION}`,
    security: bearer,
    middleware: [memberOnly()] as const,
    responses: { 200: jsonResponse(ReferralCodeSchema, "The code"), ...commonErrors },
  }),
  async (c) => c.json(await referralCode(scopeOf(c), tokenMemberId(c)), 200),
);

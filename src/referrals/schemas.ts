import { z } from "@hono/zod-openapi";
import { REFERRAL_STATUSES } from "../db/enums";
import { listSchema } from "../platform/pagination";
import { MerchantChosenId, Timestamp } from "../platform/validation";
import { REFERRAL_CODE_LENGTH } from "./code";

/** The member in the path (as members/schemas.ts declares it; members imports this capability, not the reverse). */
export const ReferralMemberParams = z.object({
  memberId: MerchantChosenId.openapi({ param: { name: "memberId", in: "path" } }),
});

export const ReferralCodeSchema = z
  .object({
    code: z
      .string()
      .length(REFERRAL_CODE_LENGTH)
      .openapi({
        description:
          "The member's referral code: made on the first request and the same ever after; unique across every program. " +
          "A new member names it as referredBy in PUT /v1/members/{memberId}.",
        example: "K7QH3XMV9R",
      }),
  })
  .openapi("ReferralCode");

export const ReferralSchema = z
  .object({
    refereeId: z.string().openapi({ description: "The member who was referred.", example: "member-43" }),
    referrerId: z.string().openapi({ description: "The member whose code was used.", example: "member-42" }),
    status: z.enum(REFERRAL_STATUSES).openapi({
      description:
        "`waiting`: no order yet. `pending`: the first order is inside its return window. `paid`: both rewards were credited. " +
        "`void`: not paid (the first order was refunded below the minimum before payment, referrals were off, or the " +
        "ledger refused the payment: `total_limit`, a member's totals would pass the largest exact integer). " +
        "`clawed_back`: paid, then a refund took the first order below the minimum and the rewards were taken back.",
    }),
    createdAt: Timestamp,
    firstOrderId: z.string().nullable(),
    dueAt: Timestamp.nullable().openapi({
      description:
        "When the first order's return window ends and the referral may be paid; an hour later after each payment that " +
        "failed unexpectedly.",
    }),
    referrerPoints: z.number().int().nullable().openapi({ description: "Fixed when the first order was posted." }),
    refereePoints: z.number().int().nullable(),
    minOrderAmount: z.number().int().nullable(),
    paidAt: Timestamp.nullable(),
    reason: z.string().nullable().openapi({ description: "Why the referral was voided or clawed back." }),
    endedAt: Timestamp.nullable().openapi({ description: "When it was voided or clawed back." }),
  })
  .openapi("Referral");

export const ReferralListSchema = listSchema(ReferralSchema).openapi("ReferralList");

export type ReferralBody = z.infer<typeof ReferralSchema>;

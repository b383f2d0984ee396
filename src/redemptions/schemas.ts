import { z } from "@hono/zod-openapi";
import { REDEMPTION_STATUSES } from "../db/enums";
import { HOLD_TTL_TEXT } from "../ledger/holds";
import { MemberSchema } from "../members/schemas";
import { MerchantChosenId, Points, Timestamp } from "../platform/validation";

export const RedemptionInputSchema = z
  .strictObject({
    memberId: MerchantChosenId.openapi({ example: "member-42" }),
    points: Points.openapi({ example: 100 }),
    orderId: MerchantChosenId.optional().openapi({ example: "order-1001" }),
    hold: z
      .boolean()
      .optional()
      .openapi({ description: `Reserve the points until captured or cancelled (released by itself after ${HOLD_TTL_TEXT}).` }),
  })
  .openapi("RedemptionInput");

export const RedemptionSchema = z
  .object({
    id: z.string(),
    memberId: z.string(),
    status: z.enum(REDEMPTION_STATUSES),
    points: z.number().int(),
    value: z.number().int().openapi({ description: "Worth of the points in minor units, by the program's pointValue." }),
    orderId: z.string().nullable(),
    holdExpiresAt: Timestamp.nullable(),
    member: MemberSchema,
  })
  .openapi("Redemption");

export const RedemptionParams = z.object({
  id: z
    .string()
    .regex(/^rd_[0-9a-z]{26}$/, "must be a redemption id (rd_...)")
    .openapi({ param: { name: "id", in: "path" } }),
});

export type RedemptionInput = z.infer<typeof RedemptionInputSchema>;

import { z } from "@hono/zod-openapi";
import { ASSETS, REDEMPTION_STATUSES } from "../db/enums";
import { HOLD_TTL_TEXT } from "../ledger/holds";
import { MemberSchema } from "../members/schemas";
import { MerchantChosenId, Points, PositiveMinorUnits, Timestamp } from "../platform/validation";

export const RedemptionInputSchema = z
  .strictObject({
    memberId: MerchantChosenId.openapi({ example: "member-42" }),
    points: Points.optional().openapi({ description: "Points to redeem. Exactly one of `points` and `credit`.", example: 100 }),
    credit: PositiveMinorUnits.optional().openapi({
      description: "Store credit to redeem, in minor units (its value is the amount). Exactly one of `points` and `credit`.",
      example: 500,
    }),
    orderId: MerchantChosenId.optional().openapi({
      description:
        "The order these points pay for, not yet posted: it then earns only on the part money paid (unless the program says earnOnPointsPaid).",
      example: "order-1001",
    }),
    hold: z
      .boolean()
      .optional()
      .openapi({ description: `Reserve the points until captured or cancelled (released by itself after ${HOLD_TTL_TEXT}).` }),
  })
  .superRefine((input, ctx) => {
    if ((input.points === undefined) === (input.credit === undefined))
      for (const path of ["points", "credit"])
        ctx.addIssue({ code: "custom", path: [path], message: "give exactly one of points and credit" });
  })
  .openapi("RedemptionInput");

export const RedemptionSchema = z
  .object({
    id: z.string(),
    memberId: z.string(),
    status: z.enum(REDEMPTION_STATUSES),
    asset: z.enum(ASSETS).openapi({ description: "What is redeemed: points, or store credit." }),
    points: z.number().int().openapi({ description: "Points redeemed (0 for a credit redemption)." }),
    credit: z.number().int().openapi({ description: "Store credit redeemed, minor units (0 for a points redemption)." }),
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

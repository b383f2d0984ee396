import { z } from "@hono/zod-openapi";
import { AwardSchema, Label, SkippedSchema } from "../earning/schemas";
import { MemberSchema } from "../members/schemas";
import { MerchantChosenId, MinorUnits } from "../platform/validation";

export const OrderResultSchema = z
  .object({
    orderId: z.string(),
    memberId: z.string(),
    pointsEarned: z.number().int(),
    awards: z.array(AwardSchema),
    skipped: z.array(SkippedSchema),
    member: MemberSchema,
  })
  .openapi("OrderResult");

export const QuoteSchema = z
  .object({ pointsEarned: z.number().int(), awards: z.array(AwardSchema), skipped: z.array(SkippedSchema) })
  .openapi("Quote");

export const RefundInputSchema = z
  .strictObject({
    refundId: MerchantChosenId,
    amount: MinorUnits.optional().openapi({
      description:
        "Refund by amount, at least 1; 0 only for an order of amount 0. Omit both amount and items to refund everything left. " +
        "An order of amount 0 (points from fixed rules) is refunded once, in full (no amount, amount 0, or all its items), " +
        "and that refund reverses all its points.",
    }),
    items: z
      .array(z.strictObject({ sku: Label, quantity: z.number().int().min(1).max(1_000_000) }))
      .min(1)
      .max(500)
      .optional()
      .openapi({
        description:
          "Refund by items: each unit refunds what it was paid, its share of the order amount by list price (whole minor units; " +
          "all units together are exactly the order amount, so a discount is shared by every item). A sku on several lines " +
          "returns its lowest-paid units first.",
      }),
  })
  .refine((r) => r.amount === undefined || r.items === undefined, { message: "give amount or items, not both", path: ["items"] })
  .openapi("RefundInput");

export const RefundResultSchema = z
  .object({
    refundId: z.string(),
    orderId: z.string(),
    amount: z.number().int(),
    pointsReversed: z.number().int().openapi({ description: "Points taken back from the member." }),
    pointsAlreadyExpired: z
      .number()
      .int()
      .openapi({ description: "Points of the refunded part that had already expired, so are not taken again." }),
    member: MemberSchema,
  })
  .openapi("RefundResult");

export type RefundInput = z.infer<typeof RefundInputSchema>;

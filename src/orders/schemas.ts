import { z } from "@hono/zod-openapi";
import { REDEMPTION_STATUSES } from "../db/enums";
import { AwardSchema, Label, OrderItemSchema, SkippedSchema } from "../earning/schemas";
import { MemberSchema } from "../members/schemas";
import { MerchantChosenId, MinorUnits, Timestamp } from "../platform/validation";

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
    refundId: MerchantChosenId.openapi({ example: "refund-1001-a" }),
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

const StampsTakenBackSchema = z.object({
  cardId: z.string().openapi({ example: "coffee10" }),
  stamps: z.number().int().openapi({ example: 1 }),
});

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
    stampsTakenBack: z.array(StampsTakenBackSchema).openapi({
      description:
        "Stamps this refund took back, per card: those the order no longer earns. Stamps a card no longer holds " +
        "(it already paid out) become stamp debt, which the member's next stamps on that card pay first.",
    }),
    member: MemberSchema,
  })
  .openapi("RefundResult");

export type RefundInput = z.infer<typeof RefundInputSchema>;

export const OrderDetailSchema = z
  .object({
    orderId: z.string().openapi({ example: "order-1001" }),
    memberId: z.string().openapi({ example: "member-42" }),
    amount: z.number().int().openapi({ example: 12800 }),
    currency: z.string().openapi({ example: "CNY" }),
    occurredAt: Timestamp,
    channel: z.string().nullable(),
    items: z.array(OrderItemSchema).nullable(),
    createdAt: Timestamp,
    refundedAmount: z.number().int().openapi({ description: "Sum of the order's refunds, in minor units." }),
    points: z.object({
      earned: z.number().int().openapi({ description: "Points the order earned.", example: 128 }),
      awards: z.array(AwardSchema),
      reversed: z.number().int().openapi({ description: "Points its refunds took back." }),
      alreadyExpired: z
        .number()
        .int()
        .openapi({ description: "Points of refunded parts not taken back because they had already expired." }),
    }),
    stamps: z
      .array(
        z.object({
          cardId: z.string().openapi({ example: "coffee10" }),
          given: z.number().int().openapi({ description: "Stamps the order gave the card.", example: 2 }),
          takenBack: z.number().int().openapi({ description: "Of those, stamps its refunds took back.", example: 0 }),
        }),
      )
      .openapi({ description: "Stamps the order gave each stamp card, and what its refunds took back." }),
    refunds: z.array(
      z.object({
        refundId: z.string().openapi({ example: "refund-1001-a" }),
        amount: z.number().int(),
        items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })).nullable(),
        pointsReversed: z.number().int(),
        createdAt: Timestamp,
      }),
    ),
    redemptions: z
      .array(
        z.object({
          id: z.string(),
          status: z.enum(REDEMPTION_STATUSES),
          points: z.number().int(),
          value: z.number().int(),
          createdAt: Timestamp,
        }),
      )
      .openapi({ description: "Redemptions posted with this orderId, oldest first." }),
  })
  .openapi("OrderDetail");

export type OrderDetail = z.infer<typeof OrderDetailSchema>;

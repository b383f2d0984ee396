import { z } from "@hono/zod-openapi";
import { MemberSchema } from "../members/schemas";
import { Currency, IsoTimestamp, MAX_UNITS, MerchantChosenId, MinorUnits } from "../platform/validation";

const Label = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters");

/**
 * Earliest order time accepted. Earlier times are client bugs (a zero or unset date, a seconds/ms mix-up),
 * and before 1970 they would render as negative epoch values. Times after now (plus a little clock skew)
 * are refused by checkOrder with 422.
 */
export const EARLIEST_OCCURRED_AT = "2000-01-01T00:00:00Z";
const EARLIEST_OCCURRED_AT_MS = Date.parse(EARLIEST_OCCURRED_AT);

const OccurredAt = IsoTimestamp.refine(
  (v) => !(Date.parse(v) < EARLIEST_OCCURRED_AT_MS),
  `must not be before ${EARLIEST_OCCURRED_AT}`,
);

export const OrderItemSchema = z
  .strictObject({
    sku: Label,
    category: Label.optional(),
    quantity: z.number().int("must be an integer").min(1, "must be at least 1").max(1_000_000),
    unitPrice: MinorUnits,
  })
  .refine(
    // Checked only when both parts are valid: a broken quantity is reported on quantity alone.
    (item) =>
      !(Number.isSafeInteger(item.quantity) && item.quantity <= 1_000_000 && Number.isSafeInteger(item.unitPrice)) ||
      item.quantity * item.unitPrice <= MAX_UNITS,
    { message: `quantity x unitPrice must be at most ${MAX_UNITS}`, path: ["unitPrice"] },
  )
  .openapi("OrderItem");

export const OrderInputSchema = z
  .strictObject({
    orderId: MerchantChosenId,
    memberId: MerchantChosenId,
    amount: MinorUnits.openapi({ description: "Order total in minor units (cents, fen).", example: 12800 }),
    currency: Currency,
    occurredAt: OccurredAt.optional().openapi({
      description: `When the order happened; defaults to now. Rules and periods use it. From ${EARLIEST_OCCURRED_AT} to now (a few minutes of clock skew are tolerated).`,
    }),
    channel: Label.optional(),
    items: z.array(OrderItemSchema).max(500, "at most 500 items").optional(),
  })
  .openapi("OrderInput");

export const AwardSchema = z.object({ ruleId: z.string(), points: z.number().int() }).openapi("Award");

export const OrderResultSchema = z
  .object({
    orderId: z.string(),
    memberId: z.string(),
    pointsEarned: z.number().int(),
    awards: z.array(AwardSchema),
    member: MemberSchema,
  })
  .openapi("OrderResult");

export const QuoteSchema = z.object({ pointsEarned: z.number().int(), awards: z.array(AwardSchema) }).openapi("Quote");

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

export type OrderInput = z.infer<typeof OrderInputSchema>;
export type RefundInput = z.infer<typeof RefundInputSchema>;

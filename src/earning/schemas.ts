/** The order as the rules see it: shared by posting and quoting orders and by rule simulation. */
import { z } from "@hono/zod-openapi";
import { Currency, IsoTimestamp, MAX_UNITS, MerchantChosenId, MinorUnits } from "../platform/validation";
import { SKIP_REASONS } from "./types";

export const Label = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters");

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
    sku: Label.openapi({ example: "longjing-50g" }),
    category: Label.optional().openapi({
      description: "Every line of one sku gives the same category (or none).",
      example: "tea",
    }),
    quantity: z.number().int("must be an integer").min(1, "must be at least 1").max(1_000_000).openapi({ example: 1 }),
    unitPrice: MinorUnits.openapi({ example: 12800 }),
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
    orderId: MerchantChosenId.openapi({ example: "order-1001" }),
    memberId: MerchantChosenId.openapi({ example: "member-42" }),
    amount: MinorUnits.openapi({ description: "Order total in minor units (cents, fen).", example: 12800 }),
    currency: Currency,
    occurredAt: OccurredAt.optional().openapi({
      example: "2026-11-22T10:00:00.000Z",
      description: `When the order happened; defaults to now. Rules and periods use it. From ${EARLIEST_OCCURRED_AT} to now (a few minutes of clock skew are tolerated).`,
    }),
    channel: Label.optional().openapi({ example: "web" }),
    items: z.array(OrderItemSchema).max(500, "at most 500 items").superRefine(oneCategoryPerSku).optional(),
  })
  .openapi("OrderInput");

/**
 * A sku names one product, so every line of it has the same category (or none). Lines that disagree would
 * make a returned unit match a card or rule on one line and not on another: which one came back is unknown.
 */
function oneCategoryPerSku(items: readonly { sku?: unknown; category?: unknown }[], ctx: z.RefinementCtx): void {
  const first = new Map<unknown, number>();
  items.forEach((item, i) => {
    const j = first.get(item.sku);
    if (j === undefined) first.set(item.sku, i);
    else if (items[j]?.category !== item.category)
      ctx.addIssue({
        code: "custom",
        path: [i, "category"],
        message: `must be the category items.${j} gives sku ${String(item.sku)} (one category per sku)`,
      });
  });
}

export const AwardSchema = z
  .object({
    ruleId: z.string(),
    points: z.number().int(),
    ruleVersion: z
      .number()
      .int()
      .optional()
      .openapi({ description: "The rule version that awarded (absent for drafts).", example: 3 }),
  })
  .openapi("Award");

export const SkippedSchema = z
  .object({
    ruleId: z.string(),
    reason: z.enum(SKIP_REASONS).openapi({
      description:
        "Why a rule that matched gave nothing or less: stopped by a higher exclusive rule, or cut by its per-order limit, " +
        "its per-member limit or its spent budget.",
      example: "budget_spent",
    }),
  })
  .openapi("SkippedRule");

export type OrderInput = z.infer<typeof OrderInputSchema>;

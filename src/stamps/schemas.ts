import { z } from "@hono/zod-openapi";
import { Label } from "../earning/schemas";
import { MAX_COMPLETIONS_PER_ORDER, STAMP_COUNTS } from "../earning/stamps";
import { MinorUnits, Timestamp } from "../platform/validation";

export const StampCardInputSchema = z
  .strictObject({
    name: z.string().min(1).max(200).openapi({ description: "Shown to members.", example: "Tenth tea free" }),
    active: z.boolean().default(true).openapi({ description: "Only active cards collect stamps.", example: true }),
    counts: z.enum(STAMP_COUNTS).openapi({
      description: "`orders`: one stamp per matching order; `quantity`: one per matching unit.",
      example: "orders",
    }),
    match: z
      .strictObject({
        skus: z.array(Label).max(500).optional(),
        categories: z.array(Label).max(100).optional(),
        minAmount: MinorUnits.optional(),
      })
      .optional()
      .openapi({ description: "Which orders (and, with skus or categories, which items) collect stamps; all when absent." }),
    stamps: z.number().int().min(1).max(1000).openapi({ description: "Stamps that complete the card.", example: 10 }),
    reward: z
      .discriminatedUnion("kind", [
        z.strictObject({ kind: z.literal("points"), points: z.number().int().min(1).max(1_000_000_000) }),
        z.strictObject({ kind: z.literal("voucher"), name: z.string().min(1).max(200), value: MinorUnits }),
      ])
      .openapi({
        description:
          "What a completed card pays, in the completing order's own transaction: points (a `bonus` ledger entry) or a " +
          `voucher. One order completes at most ${MAX_COMPLETIONS_PER_ORDER} cards of one kind; extra stamps stay.`,
      }),
  })
  .openapi("StampCardInput");

export const StampCardSchema = StampCardInputSchema.extend({
  id: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).openapi("StampCard");

export const StampCardSavedSchema = StampCardSchema.extend({
  warnings: z
    .array(
      z.object({
        code: z
          .literal("visit_kept_on_partial_refund")
          .openapi({ description: "What the warning is about.", example: "visit_kept_on_partial_refund" }),
        message: z.string().openapi({ description: "Why, and what to change." }),
      }),
    )
    .openapi({
      description:
        "Advice, never a refusal: a card that counts orders without match.minAmount keeps a visit's stamp through any " +
        "partial refund (only a full refund takes it back), so it is flagged.",
    }),
}).openapi("StampCardSaved");

export const MemberStampCardsSchema = z
  .object({
    data: z.array(
      z.object({
        cardId: z.string(),
        name: z.string(),
        stamps: z.number().int().openapi({ description: "Stamps on the card now.", example: 3 }),
        stampsRequired: z.number().int().openapi({ description: "Stamps that complete it.", example: 10 }),
        stampDebt: z
          .number()
          .int()
          .openapi({
            description:
              "Stamps refunds took back after the card had paid out for them: the member's next stamps on this card pay " +
              "this first, so a refunded reward order is never a silent loss nor a negative card.",
            example: 0,
          }),
        completed: z.number().int().openapi({ description: "Cards the member has completed.", example: 1 }),
      }),
    ),
  })
  .openapi("MemberStampCards");

export const VoucherSchema = z
  .object({
    code: z.string().openapi({ description: "Opaque code, redeemed once.", example: "vch_0ksb3q1x2m8f4n6p9r2t5v7w" }),
    memberId: z.string(),
    cardId: z.string(),
    name: z.string(),
    value: z.number().int().openapi({ description: "Worth in minor units.", example: 1500 }),
    orderId: z.string().openapi({ description: "The order that completed the card." }),
    status: z.enum(["issued", "redeemed"]),
    createdAt: Timestamp,
    redeemedAt: Timestamp.nullable(),
  })
  .openapi("Voucher");

export type StampCardInput = z.infer<typeof StampCardInputSchema>;

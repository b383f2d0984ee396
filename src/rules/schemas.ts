import { z } from "@hono/zod-openapi";
import { AwardSchema, OrderInputSchema } from "../earning/schemas";
import { IsoTimestamp, MAX_UNITS, MerchantChosenId, MinorUnits, Timestamp } from "../platform/validation";

const Label = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters");

export const RuleConditionsSchema = z
  .strictObject({
    minAmount: MinorUnits.optional(),
    categories: z.array(Label).max(100).optional(),
    skus: z.array(Label).max(500).optional(),
    channels: z.array(Label).max(50).optional(),
    daysOfWeek: z
      .array(z.number().int().min(1, "1 = Monday").max(7, "7 = Sunday"))
      .max(7)
      .optional()
      .openapi({ description: "ISO weekdays in the merchant's time zone: 1 = Monday ... 7 = Sunday." }),
    tiers: z.array(MerchantChosenId).max(50).optional(),
    firstOrder: z.boolean().optional().openapi({ description: "true: only a first order; false: only repeat orders." }),
  })
  .openapi("RuleConditions");

export const RuleEffectSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("per_amount"),
      points: z.number().int().min(1).max(1_000_000),
      per: z.number().int().min(1).max(MAX_UNITS),
    }),
    z.strictObject({ kind: z.literal("fixed"), points: z.number().int().min(1).max(1_000_000_000) }),
    z.strictObject({
      kind: z.literal("multiplier"),
      factor: z
        .number()
        .min(1, "must be at least 1")
        .max(100, "must be at most 100")
        .refine((f) => Math.abs(f * 10_000 - Math.round(f * 10_000)) < 1e-6, "must have at most 4 decimals"),
    }),
  ])
  .openapi("RuleEffect");

const RuleFields = {
  name: z.string().min(1).max(200).openapi({ example: "Double points on tea" }),
  active: z.boolean().default(true),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0).openapi({ example: 10 }),
  startsAt: IsoTimestamp.nullish().openapi({ example: "2026-12-01T00:00:00.000Z" }),
  endsAt: IsoTimestamp.nullish().openapi({ example: "2027-01-01T00:00:00.000Z" }),
  conditions: RuleConditionsSchema.default({}),
  effect: RuleEffectSchema,
};

function endsAfterStart(rule: { startsAt?: string | null; endsAt?: string | null }): boolean {
  const start = rule.startsAt ? Date.parse(rule.startsAt) : NaN;
  const end = rule.endsAt ? Date.parse(rule.endsAt) : NaN;
  // An unparseable bound is reported by its own field, not again here.
  return Number.isNaN(start) || Number.isNaN(end) || end > start;
}
const endsAfterStartIssue = { message: "must be after startsAt", path: ["endsAt"] };

export const RuleCreateSchema = z
  .strictObject({ id: MerchantChosenId.openapi({ example: "double-tea" }), ...RuleFields })
  .refine(endsAfterStart, endsAfterStartIssue)
  .openapi("RuleCreate");

export const RuleReplaceSchema = z
  .strictObject({ id: MerchantChosenId.optional().openapi({ example: "double-tea" }), ...RuleFields })
  .refine(endsAfterStart, endsAfterStartIssue)
  .openapi("RuleReplace");

export const RuleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    active: z.boolean(),
    priority: z.number().int(),
    startsAt: Timestamp.nullable(),
    endsAt: Timestamp.nullable(),
    conditions: RuleConditionsSchema,
    effect: RuleEffectSchema,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Rule");

export const SimulateInputSchema = z
  .strictObject({
    order: OrderInputSchema,
    rules: z.array(RuleCreateSchema).max(200).optional().openapi({
      description: "Draft rules. They are added to the live rules; a draft with a live rule's id replaces it.",
    }),
    onlyDrafts: z.boolean().optional().openapi({ description: "Evaluate the drafts alone, without the live rules." }),
  })
  .openapi("SimulateInput");

export const SimulateResultSchema = z
  .object({
    pointsEarned: z.number().int(),
    awards: z.array(AwardSchema),
    rules: z.array(
      z.object({
        ruleId: z.string(),
        name: z.string(),
        matched: z.boolean(),
        points: z.number().int(),
        reason: z.string().optional(),
        draft: z.boolean(),
      }),
    ),
  })
  .openapi("SimulateResult");

export type RuleCreate = z.infer<typeof RuleCreateSchema>;
export type RuleReplace = z.infer<typeof RuleReplaceSchema>;
export type SimulateInput = z.infer<typeof SimulateInputSchema>;

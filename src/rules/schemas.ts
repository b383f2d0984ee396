import { z } from "@hono/zod-openapi";
import { compileExpression, MAX_AST_NODES, MAX_EXPRESSION_LENGTH } from "../earning/expression";
import { AwardSchema, OrderInputSchema, SkippedSchema } from "../earning/schemas";
import { LIMIT_PERIODS, SKIP_REASONS } from "../earning/types";
import { MAX_BODY_BYTES } from "../platform/body";
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
    birthdayMonth: z.boolean().optional().openapi({
      description:
        "true: only in the member's birthday month (by the order's occurredAt, merchant timezone); false: only outside it.",
      example: true,
    }),
    enrolmentAnniversary: z
      .boolean()
      .optional()
      .openapi({
        description:
          "true: only on the member's enrolment anniversary (same local day, a year or more later; 29 February enrolments " +
          "celebrate on 28 February in other years); false: only on other days.",
        example: true,
      }),
    expression: z
      .string()
      .superRefine((source, ctx) => {
        const compiled = compileExpression(source);
        if (!compiled.ok) ctx.addIssue({ code: "custom", message: compiled.message });
      })
      .optional()
      .openapi({
        description:
          "A CEL expression that must be true: over `order` (amount, currency, channel, items[] with sku, category, quantity, " +
          "unitPrice) and `member` (attributes, tier, orderCount). Must be boolean; at most " +
          `${MAX_EXPRESSION_LENGTH} characters and ${MAX_AST_NODES} nodes; list macros (all, exists, exists_one, map, filter) ` +
          "may not nest and matches() is refused, so evaluation stays cheap. A missing attribute makes it false.",
        example: 'order.items.exists(i, i.category == "tea" && i.quantity >= 2) && member.attributes.vip == true',
      }),
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

const LimitPoints = z.number().int("must be an integer").min(1, "must be at least 1").max(MAX_UNITS);

export const RuleLimitsSchema = z
  .strictObject({
    perOrder: LimitPoints.optional().openapi({ description: "Most points the rule gives one order.", example: 500 }),
    perMember: z
      .strictObject({
        points: LimitPoints.openapi({ description: "Most points per member per period.", example: 1000 }),
        per: z
          .enum(LIMIT_PERIODS)
          .openapi({ description: "Local day, month or year of the merchant's timezone.", example: "month" }),
      })
      .optional()
      .openapi({ description: "Most points the rule gives one member per local period (by the order's occurredAt)." }),
    budget: LimitPoints.optional().openapi({
      description:
        "Total points the rule may ever award, all members together. Never exceeded, even under concurrent orders; " +
        "refunds give back what they reverse. A spent budget stops the rule (skipped `budget_spent`).",
      example: 100000,
    }),
  })
  .openapi("RuleLimits");

/** Year 10000 and later would render as `+010000-...`, which is no ISO 8601 timestamp a client can parse. */
const LAST_RENDERABLE_MS = Date.UTC(10_000, 0, 1) - 1;
// An unparseable value is reported by the ISO check alone.
const RuleInstant = IsoTimestamp.refine((v) => !(Date.parse(v) > LAST_RENDERABLE_MS), "must be before the year 10000 (UTC)");

const RuleFields = {
  name: z.string().min(1).max(200).openapi({ example: "Double points on tea" }),
  active: z.boolean().default(true),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0).openapi({ example: 10 }),
  startsAt: RuleInstant.nullish().openapi({ example: "2026-12-01T00:00:00.000Z" }),
  endsAt: RuleInstant.nullish().openapi({ example: "2027-01-01T00:00:00.000Z" }),
  conditions: RuleConditionsSchema.default({}),
  effect: RuleEffectSchema,
  exclusive: z.boolean().default(false).openapi({
    description: "A matching exclusive rule stops the rules of lower priority (reported as skipped `exclusive`).",
    example: false,
  }),
  limits: RuleLimitsSchema.nullish(),
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
    exclusive: z.boolean(),
    limits: RuleLimitsSchema.nullable(),
    version: z.number().int().openapi({ description: "Bumped by every create or replace.", example: 1 }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Rule");

export const RuleSavedSchema = RuleSchema.extend({
  warnings: z
    .array(
      z.object({
        code: z
          .literal("newcomer_outearns_regulars")
          .openapi({ description: "What the warning is about.", example: "newcomer_outearns_regulars" }),
        message: z.string().openapi({
          description: "Why, with the figures.",
          example:
            "This first-order rule pays 5.00 points per 100 minor units spent, more than the best a regular member can earn (1.00).",
        }),
      }),
    )
    .openapi({
      description:
        "Advice, never a refusal: a first-order rule that pays more per unit spent than the best a regular member can earn " +
        "(all repeat-order per_amount rules stacked, at the top tier, with every multiplier) is flagged, as loyal members " +
        "should gain more than new ones.",
    }),
}).openapi("RuleSaved");

export const RuleVersionSchema = z
  .object({
    version: z.number().int().openapi({ description: "1 for the first; every create or replace adds one.", example: 2 }),
    rule: RuleSchema,
    createdAt: Timestamp.openapi({ description: "When this version was made." }),
  })
  .openapi("RuleVersion");

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
    skipped: z.array(SkippedSchema),
    rules: z.array(
      z.object({
        ruleId: z.string(),
        name: z.string(),
        matched: z.boolean(),
        points: z.number().int(),
        reason: z.string().optional(),
        skipped: z.enum(SKIP_REASONS).optional(),
        draft: z.boolean(),
      }),
    ),
  })
  .openapi("SimulateResult");

export type RuleCreate = z.infer<typeof RuleCreateSchema>;
export type RuleReplace = z.infer<typeof RuleReplaceSchema>;
export type SimulateInput = z.infer<typeof SimulateInputSchema>;
export type RuleBody = z.infer<typeof RuleSchema>;

/** Orders one replay call evaluates at most (in chunks of REPLAY_CHUNK); the reply's cursor continues. */
export const MAX_REPLAY_ORDERS = 2000;
export const REPLAY_CHUNK = 500;
/**
 * Work one replay call does at most, in rule-item units (rules/replay.ts, replayCost): 200 drafts with list
 * macros over orders of 500 items cost about 0.3 s of CPU per order, so 2000 of them would take minutes,
 * far past the Workers CPU limit. A call stops before the order that would pass it; nextCursor continues.
 */
export const MAX_REPLAY_WORK = 1_000_000;

export const ReplayInputSchema = z
  .strictObject({
    rules: z.array(RuleCreateSchema).min(1).max(200).openapi({
      description: "Draft rules. They are added to the live rules; a draft with a live rule's id replaces it.",
    }),
    onlyDrafts: z
      .boolean()
      .optional()
      .openapi({ description: "Evaluate the drafts alone, without the live rules.", example: false }),
    from: IsoTimestamp.openapi({
      description: "Orders that occurred at or after this instant.",
      example: "2026-10-01T00:00:00Z",
    }),
    to: IsoTimestamp.openapi({ description: "Orders that occurred before this instant.", example: "2026-11-01T00:00:00Z" }),
    // Bounded by the body alone: it carries the budgets of the replay's budgeted rules.
    cursor: z
      .string()
      .max(MAX_BODY_BYTES)
      .optional()
      .openapi({
        description:
          "nextCursor of the previous reply, to continue the range, sent with the same rules, from, to and onlyDrafts. " +
          "A cursor of another replay, or one made before the live rules changed, is 400 naming `cursor`.",
      }),
  })
  .refine((r) => endsAfterStart({ startsAt: r.from, endsAt: r.to }), { message: "must be after from", path: ["to"] })
  .openapi("ReplayInput");

const RulePoints = z.object({ ruleId: z.string(), points: z.number().int() });

export const ReplayResultSchema = z
  .object({
    orders: z.number().int().openapi({ description: "Orders replayed by this call.", example: 1200 }),
    earned: z
      .object({ points: z.number().int(), rules: z.array(RulePoints) })
      .openapi({ description: "What those orders earned when posted, in all and per rule." }),
    wouldEarn: z.object({ points: z.number().int(), rules: z.array(RulePoints.extend({ orders: z.number().int() })) }).openapi({
      description:
        "What they would have earned under the drafts (with live rules unless onlyDrafts), per rule with the orders it paid; " +
        "budgets and per-member limits are consumed in the order the orders happened, across the calls of one range (the " +
        "cursor carries them). They start unused at `from`, live rules' too: what a rule awarded before the range is not " +
        "counted, and its recorded usage cannot be split at `from` (it also holds the range's own orders, less refunds). " +
        "Members are taken as they are now (tier, attributes, birthday); the order count before each order is counted from " +
        "the stored orders.",
    }),
    nextCursor: z
      .string()
      .nullable()
      .openapi({
        description:
          `Set when the range holds more orders than one call replays (${MAX_REPLAY_ORDERS}, fewer when the rules have ` +
          "expressions and the orders many items): send it back to replay the next ones.",
      }),
  })
  .openapi("ReplayResult");

export type ReplayInput = z.infer<typeof ReplayInputSchema>;

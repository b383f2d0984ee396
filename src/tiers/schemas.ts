import { z } from "@hono/zod-openapi";
import { TIER_CHANGE_REASONS, TIER_METRICS } from "../db/enums";
import { IsoTimestamp, MAX_UNITS, MerchantChosenId, Timestamp } from "../platform/validation";
import { MAX_TIERS, MAX_WINDOW_DAYS } from "./limits";

const Days = (max: number) => z.number().int().min(0).max(max, `must be at most ${max} days`);

const TierSchema = z
  .strictObject({
    id: MerchantChosenId.openapi({ example: "gold" }),
    name: z.string().min(1).max(200).openapi({ example: "Gold" }),
    threshold: z
      .number()
      .int()
      .min(0)
      .max(MAX_UNITS)
      .openapi({ description: "Metric value from which the tier is reached; the lowest tier's is 0.", example: 100000 }),
    earnMultiplier: z
      .number()
      .min(1, "must be at least 1")
      .max(100, "must be at most 100")
      .refine((f) => Math.abs(f * 100 - Math.round(f * 100)) < 1e-9, "must have at most 2 decimals")
      .default(1)
      .openapi({ description: "Multiplies the points of per_amount rules (up to two decimals).", example: 1.5 }),
  })
  .openapi("Tier");

/** Listed lowest first, the first at threshold 0, thresholds strictly rising, ids unique. */
function checkTiers(tiers: { id: string; threshold: number }[], ctx: z.RefinementCtx): void {
  if (tiers[0] && tiers[0].threshold !== 0)
    ctx.addIssue({ code: "custom", path: ["tiers", 0, "threshold"], message: "the lowest tier's threshold must be 0" });
  const ids = new Set<string>();
  tiers.forEach((tier, i) => {
    if (ids.has(tier.id)) ctx.addIssue({ code: "custom", path: ["tiers", i, "id"], message: "is listed twice" });
    ids.add(tier.id);
    const below = tiers[i - 1];
    if (below && tier.threshold <= below.threshold)
      ctx.addIssue({
        code: "custom",
        path: ["tiers", i, "threshold"],
        message: `must be greater than tiers.${i - 1}.threshold (list tiers lowest first)`,
      });
  });
}

export const LadderInputSchema = z
  .strictObject({
    metric: z.enum(TIER_METRICS).openapi({
      description: "spend: order amounts net of refunds; points: points earned in the window (never the balance); orders.",
    }),
    window: z
      .discriminatedUnion("kind", [
        z.strictObject({ kind: z.literal("calendar_year") }),
        z.strictObject({ kind: z.literal("rolling_days"), days: Days(MAX_WINDOW_DAYS).min(1, "must be at least 1 day") }),
      ])
      .openapi({
        description:
          "In the merchant's timezone. calendar_year: status reached in a year holds until the end of the next year. " +
          "rolling_days N: the last N local days, today included; status reached on day D holds through day D+N. " +
          "Reaching the threshold again extends it; a review after it lapses (plus graceDays) moves the member down.",
      }),
    tiers: z.array(TierSchema).min(1).max(MAX_TIERS),
    downgrade: z
      .strictObject({
        graceDays: Days(MAX_WINDOW_DAYS).default(0),
        steps: z.number().int().min(1).max(MAX_TIERS).default(1),
      })
      .default({ graceDays: 0, steps: 1 }),
    upgradeAppliesToQualifyingOrder: z.boolean().default(false),
  })
  .superRefine((ladder, ctx) => checkTiers(ladder.tiers, ctx))
  .openapi("LadderInput");

export type LadderInput = z.output<typeof LadderInputSchema>;

export const LadderSchema = z
  .object({
    metric: z.enum(TIER_METRICS),
    window: z.union([
      z.object({ kind: z.literal("calendar_year") }),
      z.object({ kind: z.literal("rolling_days"), days: z.number().int() }),
    ]),
    tiers: z.array(z.object({ id: z.string(), name: z.string(), threshold: z.number().int(), earnMultiplier: z.number() })),
    downgrade: z.object({ graceDays: z.number().int(), steps: z.number().int() }),
    upgradeAppliesToQualifyingOrder: z.boolean(),
    version: z.number().int(),
  })
  .openapi("Ladder");

export const LadderChangeSchema = LadderSchema.extend({
  placement: z.object({
    placed: z.number().int().openapi({ description: "Members re-placed by this request." }),
    remaining: z.number().int().openapi({ description: "Members still to re-place; the tier-review job places them in chunks." }),
  }),
}).openapi("LadderChange");

const TierRef = z.object({ id: z.string(), name: z.string(), threshold: z.number().int() });

export const MemberTierSchema = z
  .object({
    memberId: z.string(),
    current: TierRef,
    next: TierRef.nullable(),
    progress: z.object({
      metric: z.enum(TIER_METRICS),
      value: z.number().int().openapi({ description: "The metric over the current window." }),
      threshold: z.number().int().openapi({ description: "The next tier's threshold (the current one's at the top)." }),
      remaining: z.number().int().openapi({ description: "What is still needed to reach the next tier; 0 at the top." }),
    }),
    window: z.object({ from: z.string().openapi({ description: "First local day of the window (YYYY-MM-DD)." }) }),
    qualifiedUntil: Timestamp.nullable().openapi({ description: "When the current status lapses (null: lowest tier)." }),
    retain: z
      .object({
        threshold: z.number().int(),
        remaining: z.number().int(),
        by: Timestamp.openapi({ description: "The metric must reach the threshold before this instant." }),
      })
      .nullable()
      .openapi({ description: "What keeps the current tier; null for the lowest tier and open-ended manual ones." }),
    manual: z
      .object({ until: Timestamp.nullable() })
      .nullable()
      .openapi({ description: "Set while the tier was assigned by hand." }),
  })
  .openapi("MemberTier");

export const TierChangeSchema = z
  .object({
    from: z.string().nullable(),
    to: z.string(),
    reason: z.enum(TIER_CHANGE_REASONS),
    at: Timestamp,
    detail: z.string(),
  })
  .openapi("TierChange");

export const ManualTierInputSchema = z
  .strictObject({
    tierId: MerchantChosenId,
    reason: z.string().min(1, "must not be empty").max(500),
    until: IsoTimestamp.nullish().openapi({
      description: "When the assignment ends and the member returns to what the metric earns; omitted: until changed.",
    }),
  })
  .openapi("ManualTierInput");

export const LadderPreviewSchema = z
  .object({
    members: z.number().int(),
    tiers: z.array(z.object({ id: z.string(), name: z.string(), members: z.number().int() })),
    movesUp: z.number().int(),
    movesDown: z.number().int(),
    sample: z
      .array(z.object({ memberId: z.string(), from: z.string(), to: z.string() }))
      .openapi({ description: "Some of the members who would move (at most 100)." }),
  })
  .openapi("LadderPreview");

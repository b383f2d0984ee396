/** Rebate programs, period previews and closes, period reports and member rebate statements. */
import { z } from "@hono/zod-openapi";
import { REBATE_CLOSE_STATUSES, REBATE_PAYOUTS, REBATE_PERIODS } from "../db/enums";
import { MAX_TOTAL } from "../platform/assert";
import { MerchantChosenId, MinorUnits, Timestamp } from "../platform/validation";
import { BPS_DENOMINATOR } from "./allocation";
import { PERIOD_KEY_PATTERN } from "./periods";

/** Most tiers a program may name (a ladder is far shorter). */
export const MAX_PROGRAM_TIERS = 50;
/** Allocations listed by a preview, largest first. */
export const PREVIEW_TOP = 10;

export const RebateProgramParams = z.object({
  programId: MerchantChosenId.openapi({ param: { name: "programId", in: "path" } }),
});

export const PeriodParams = RebateProgramParams.extend({
  periodKey: z
    .string()
    .regex(PERIOD_KEY_PATTERN, "must be a year (2026), a quarter (2026-Q3) or a month (2026-07)")
    .openapi({ param: { name: "periodKey", in: "path" }, example: "2026-Q3" }),
});

export const RebateProgramInputSchema = z
  .strictObject({
    name: z.string().min(1, "is required").max(200),
    period: z.enum(REBATE_PERIODS).openapi({ description: "Local month, quarter or year of the merchant's timezone." }),
    shareBps: z
      .number({ error: "must be an integer number of basis points" })
      .int("must be an integer number of basis points")
      .min(1, "must be at least 1 (0.01%)")
      .max(BPS_DENOMINATOR, `must be at most ${BPS_DENOMINATOR} (100%)`)
      .openapi({ description: "Share of the period's net profit, in basis points (1000 = 10.00%)." }),
    payout: z.enum(REBATE_PAYOUTS).openapi({
      description: "`points` (converted at the program's pointValue, rounded down) or `credit` (store credit, minor units).",
    }),
    minSpend: MinorUnits.optional().openapi({ description: "Least net spend in the period to share in it (minor units)." }),
    tiers: z
      .array(MerchantChosenId)
      .min(1, "must name at least one tier (omit it for every tier)")
      .max(MAX_PROGRAM_TIERS)
      .optional()
      .openapi({ description: "Only members whose current tier is one of these share (no current tier: the lowest one)." }),
  })
  .openapi("RebateProgramInput");

export const RebateProgramSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    period: z.enum(REBATE_PERIODS),
    shareBps: z.number().int(),
    payout: z.enum(REBATE_PAYOUTS),
    minSpend: z.number().int(),
    tiers: z.array(z.string()).nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("RebateProgram");

export const ProfitInputSchema = z
  .strictObject({
    netProfit: z
      .number({ error: "must be an integer number of minor units" })
      .int("must be an integer (minor units, no decimals)")
      .min(-MAX_TOTAL, `must be at least -${MAX_TOTAL}`)
      .max(MAX_TOTAL, `must be at most ${MAX_TOTAL}`)
      .openapi({ description: "The period's net profit in minor units; zero or negative pays nothing." }),
  })
  .openapi("RebateProfitInput");

const DistributionSchema = z
  .object({ min: z.number().int(), median: z.number().int(), max: z.number().int() })
  .nullable()
  .openapi({ description: "Of the members' allocations (lower median); null when nobody shares." });

export const PreviewSchema = z
  .object({
    programId: z.string(),
    periodKey: z.string(),
    payout: z.enum(REBATE_PAYOUTS),
    pool: z.number().int(),
    totalNetSpend: z.number().int(),
    members: z.number().int().openapi({ description: "Eligible members." }),
    allocated: z.number().int().openapi({ description: "Money the close would pay: the pool, or 0 when nobody shares." }),
    periodEnded: z.boolean().openapi({ description: "Whether the period can be closed now." }),
    top: z
      .array(z.object({ memberId: z.string(), netSpend: z.number().int(), amount: z.number().int() }))
      .openapi({ description: `The ${PREVIEW_TOP} largest allocations (money, minor units).` }),
    distribution: DistributionSchema,
    note: z.string().nullable(),
  })
  .openapi("RebatePreview");

export const PeriodReportSchema = z
  .object({
    programId: z.string(),
    periodKey: z.string(),
    status: z.enum(REBATE_CLOSE_STATUSES),
    payout: z.enum(REBATE_PAYOUTS),
    netProfit: z.number().int(),
    pool: z.number().int(),
    totalNetSpend: z.number().int(),
    members: z.number().int(),
    allocated: z.number().int(),
    processed: z.number().int().openapi({ description: "Members paid so far." }),
    total: z.number().int().openapi({ description: "Members to pay." }),
    paid: z.number().int().openapi({ description: "Money paid so far (minor units)." }),
    pointsPaid: z.number().int().openapi({ description: "Points credited (points payout)." }),
    unconverted: z.number().int().openapi({
      description:
        "Points payout: money allocated minus the worth of the points paid (each member's points valued at pointValue, rounded down).",
    }),
    distribution: DistributionSchema,
    note: z.string().nullable(),
    startedAt: Timestamp,
    finishedAt: Timestamp.nullable(),
  })
  .openapi("RebatePeriodReport");

export const MemberRebateSchema = z
  .object({
    programId: z.string(),
    periodKey: z.string(),
    amount: z.number().int().openapi({ description: "Money allocated (minor units)." }),
    payout: z.enum(REBATE_PAYOUTS),
    units: z.number().int().openapi({ description: "Points or credit written to the ledger." }),
    createdAt: Timestamp,
  })
  .openapi("MemberRebate");

export type RebateProgramInput = z.infer<typeof RebateProgramInputSchema>;
export type PeriodReport = z.infer<typeof PeriodReportSchema>;
export type Preview = z.infer<typeof PreviewSchema>;

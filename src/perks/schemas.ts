import { z } from "@hono/zod-openapi";
import { MAX_UNITS, MerchantChosenId, MinorUnits, Timestamp } from "../platform/validation";
import { MAX_LAPSE_DAYS, MAX_QUOTA_USES, MAX_STREAK_MONTHS, MAX_TENURE_DAYS } from "./limits";

export const PerkParams = z.object({
  perkId: MerchantChosenId.openapi({ param: { name: "perkId", in: "path" }, example: "free-delivery" }),
});

export const PerkInputSchema = z
  .strictObject({
    name: z.string().min(1).max(200).openapi({ example: "Free delivery" }),
    value: MinorUnits.openapi({ description: "What one use is worth to the member, minor units.", example: 800 }),
    unlock: z
      .strictObject({
        tenureDays: z.number().int().min(0).max(MAX_TENURE_DAYS).optional().openapi({
          description: "Whole local days since enrolment (the enrolment day is day 0).",
        }),
        tier: MerchantChosenId.optional().openapi({ description: "This tier or a higher one.", example: "gold" }),
        lifetimeSpend: z.number().int().min(0).max(MAX_UNITS).optional().openapi({
          description: "Order amounts net of refunds since enrolment, minor units.",
        }),
        streakMonths: z.number().int().min(1).max(MAX_STREAK_MONTHS).optional().openapi({
          description: "Consecutive local calendar months with at least one order, ending this month or last month.",
        }),
      })
      .default({}),
    quota: z
      .strictObject({ uses: z.number().int().min(1).max(MAX_QUOTA_USES), per: z.enum(["month", "year"]) })
      .nullish()
      .openapi({ description: "Uses per local calendar month or year; omitted: unlimited." }),
    lapseAfterInactiveDays: z
      .number()
      .int()
      .min(1)
      .max(MAX_LAPSE_DAYS)
      .nullish()
      .openapi({
        description:
          "The perk locks again after this many local days without an order (one refunded whole does not count), and its " +
          "streak starts over; a lapse the member has since ordered after still starts the streak over.",
      }),
  })
  .openapi("PerkInput");

export type PerkInput = z.output<typeof PerkInputSchema>;

export const PerkSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    value: z.number().int(),
    unlock: z.object({
      tenureDays: z.number().int().optional(),
      tier: z.string().optional(),
      lifetimeSpend: z.number().int().optional(),
      streakMonths: z.number().int().optional(),
    }),
    quota: z.object({ uses: z.number().int(), per: z.enum(["month", "year"]) }).nullable(),
    lapseAfterInactiveDays: z.number().int().nullable(),
  })
  .openapi("Perk");

export const MemberPerkSchema = z
  .object({
    perkId: z.string(),
    name: z.string(),
    value: z.number().int(),
    unlocked: z.boolean(),
    lapsed: z.boolean().openapi({ description: "Locked again for lack of orders (lapseAfterInactiveDays)." }),
    lapsesAt: Timestamp.nullable().openapi({ description: "When the perk lapses unless the member orders before." }),
    progress: z.array(
      z.object({
        condition: z.enum(["tenureDays", "tier", "lifetimeSpend", "streakMonths"]),
        required: z.union([z.number().int(), z.string()]),
        current: z.union([z.number().int(), z.string()]).nullable(),
        met: z.boolean(),
      }),
    ),
    usesLeft: z.number().int().nullable().openapi({ description: "Uses left this quota period; null: unlimited." }),
  })
  .openapi("MemberPerk");

export const PerkUseSchema = z
  .object({
    id: z.string(),
    perkId: z.string(),
    memberId: z.string(),
    period: z.string().nullable(),
    usesLeft: z.number().int().nullable(),
    createdAt: Timestamp,
    reversedAt: Timestamp.nullable(),
  })
  .openapi("PerkUse");

export const PerkUseParams = PerkParams.extend({
  useId: z
    .string()
    .max(64)
    .openapi({ param: { name: "useId", in: "path" } }),
});

export const PerkUseReverseSchema = z.strictObject({ reason: z.string().min(1).max(500) }).openapi("PerkUseReverse");

import { z } from "@hono/zod-openapi";
import { MerchantChosenId } from "../platform/validation";

export const MemberSchema = z
  .object({
    id: z.string(),
    balance: z.number().int().openapi({ description: "Spendable points. Negative only after refund reversals of spent points." }),
    pending: z.number().int().openapi({ description: "Earned, not yet spendable (return window)." }),
    held: z.number().int().openapi({ description: "Reserved by open holds." }),
    credit: z.number().int().openapi({ description: "Store credit in minor units." }),
    lifetimeEarned: z.number().int(),
    lifetimeRedeemed: z.number().int(),
    tier: z.object({ id: z.string(), name: z.string() }).nullable(),
    enrolledAt: z.string(),
    lastOrderAt: z.string().nullable(),
    email: z.string().nullable(),
    name: z.string().nullable(),
    birthday: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()).nullable(),
    erased: z.boolean(),
  })
  .openapi("Member");

/** YYYY-MM-DD or MM-DD naming a day that exists (29 February without a year is allowed). */
export function isCalendarDate(value: string): boolean {
  const match = /^(?:(\d{4})-)?(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const year = match[1] ? Number(match[1]) : 2000; // a leap year, so MM-DD accepts 02-29
  const month = Number(match[2]);
  const day = Number(match[3]);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && year >= 1900;
}

/**
 * zod drops a `__proto__` key of a record without an error (assigning it would replace the prototype), so
 * the member would be stored without an attribute the client sent: refuse it, naming the key.
 */
function refuseProtoKey(value: unknown, ctx: z.RefinementCtx): unknown {
  if (value !== null && typeof value === "object" && Object.hasOwn(value, "__proto__"))
    ctx.addIssue({ code: "custom", message: "is a reserved name", path: ["__proto__"] });
  return value;
}

const AttributeValue = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

export const MemberInputSchema = z
  .strictObject({
    email: z.email("must be an email address").max(254).nullish(),
    name: z.string().min(1).max(200).nullish(),
    birthday: z.string().refine(isCalendarDate, "must be a real date as YYYY-MM-DD or MM-DD").nullish(),
    attributes: z
      .preprocess(
        refuseProtoKey,
        z.record(z.string().min(1).max(64), AttributeValue).refine((a) => Object.keys(a).length <= 50, "at most 50 attributes"),
      )
      .nullish(),
  })
  .openapi("MemberInput");

export const MemberParams = z.object({
  memberId: MerchantChosenId.openapi({ param: { name: "memberId", in: "path" } }),
});

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    type: z.enum(["earn", "redeem", "refund_reversal", "redemption_return", "expire", "adjust", "rebate", "bonus", "hold", "release"]),
    points: z.number().int(),
    balanceAfter: z.number().int(),
    createdAt: z.string(),
    orderId: z.string().optional(),
    ruleId: z.string().optional(),
    redemptionId: z.string().optional(),
    refundId: z.string().optional(),
    availableAt: z.string().optional(),
    expiresAt: z.string().optional(),
    reason: z.string().optional(),
  })
  .openapi("LedgerEntry");

export const AdjustmentInputSchema = z
  .strictObject({
    points: z
      .number()
      .int("must be an integer")
      .min(-1_000_000_000_000)
      .max(1_000_000_000_000)
      .refine((p) => p !== 0, "must not be zero"),
    reason: z.string().min(1, "is required").max(500),
  })
  .openapi("AdjustmentInput");

export const TokenInputSchema = z
  .strictObject({ ttlSeconds: z.number().int().min(60).max(86_400).optional() })
  .openapi("TokenInput");

export type MemberInput = z.infer<typeof MemberInputSchema>;

export const ExpiringQuery = z.object({
  withinDays: z.coerce.number().int().min(1).max(3650).default(30).openapi({ param: { name: "withinDays", in: "query" } }),
});

export const ExpiringSchema = z
  .object({
    memberId: z.string(),
    withinDays: z.number().int(),
    policy: z.enum(["none", "after_earn", "inactivity"]),
    total: z.number().int(),
    expiring: z.array(z.object({ points: z.number().int(), expiresAt: z.string() })),
  })
  .openapi("ExpiringPoints");

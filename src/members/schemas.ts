import { z } from "@hono/zod-openapi";
import { ASSETS, EXPIRY_POLICIES, PERK_EVENT_KINDS, TIER_CHANGE_REASONS } from "../db/enums";
import { ENTRY_TYPES } from "../ledger/statements";
import { DAY_MS, MINUTE_MS, now, SECOND_MS } from "../platform/clock";
import { MerchantChosenId, queryInteger, Timestamp } from "../platform/validation";
import { MAX_REFERRAL_CODE_INPUT } from "../referrals/code";
import { ReferralSchema } from "../referrals/schemas";
import { VoucherSchema } from "../stamps/schemas";

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
    enrolledAt: Timestamp,
    lastOrderAt: Timestamp.nullable(),
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

/** The furthest-ahead time zone (UTC+14): a date that has begun there is not in the future. */
const FURTHEST_ZONE_AHEAD_MS = 14 * 60 * MINUTE_MS;

/** False for a YYYY-MM-DD date that has not begun anywhere yet (MM-DD and malformed values pass). */
export function isNotFutureDate(value: string): boolean {
  const start = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  return !(start - FURTHEST_ZONE_AHEAD_MS > now());
}

/** The longest address SMTP carries (RFC 5321). */
const MAX_EMAIL_LENGTH = 254;
const MAX_NAME_LENGTH = 200;
const MAX_ATTRIBUTES = 50;
const MAX_ATTRIBUTE_KEY_LENGTH = 64;
const MAX_ATTRIBUTE_STRING_LENGTH = 1000;

/** Why an attribute value is refused, or null. Numbers beyond 2^53 would not read back as they were sent. */
function attributeValueProblem(value: unknown): string | null {
  switch (typeof value) {
    case "string":
      return value.length <= MAX_ATTRIBUTE_STRING_LENGTH ? null : `must be at most ${MAX_ATTRIBUTE_STRING_LENGTH} characters`;
    case "number":
      return Math.abs(value) <= Number.MAX_SAFE_INTEGER
        ? null
        : `must be between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}: larger numbers are not stored exactly`;
    case "boolean":
      return null;
    default:
      return value === null ? null : "must be a string, number, boolean or null";
  }
}

/**
 * Free-form attributes, stored exactly as sent. Checked by hand rather than with z.record, which skips a
 * `__proto__` key (neither checks nor keeps it). The parsed object passes through unchanged: JSON.parse
 * made every key, `__proto__` included, an own property, and JSON.stringify writes each one back.
 */
const Attributes = z
  .unknown()
  .superRefine((value, ctx) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: "custom", message: "must be an object of string, number, boolean or null values" });
      return;
    }
    const keys = Object.keys(value);
    if (keys.length > MAX_ATTRIBUTES) ctx.addIssue({ code: "custom", message: `at most ${MAX_ATTRIBUTES} attributes` });
    for (const key of keys) {
      if (key.length < 1 || key.length > MAX_ATTRIBUTE_KEY_LENGTH)
        ctx.addIssue({
          code: "custom",
          message: `keys must be 1-${MAX_ATTRIBUTE_KEY_LENGTH} characters (${JSON.stringify(key.slice(0, 20))})`,
        });
      const problem = attributeValueProblem((value as Record<string, unknown>)[key]);
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: [key] });
    }
  })
  .openapi({
    type: "object",
    maxProperties: MAX_ATTRIBUTES,
    additionalProperties: { type: ["string", "number", "boolean", "null"] },
    description:
      `Up to ${MAX_ATTRIBUTES} keys of 1-${MAX_ATTRIBUTE_KEY_LENGTH} characters, stored exactly as sent (any key, \`__proto__\` included). ` +
      `Values: strings up to ${MAX_ATTRIBUTE_STRING_LENGTH} characters, numbers within ±(2^53-1), booleans or null.`,
  });

export const MemberInputSchema = z
  .strictObject({
    email: z.email("must be an email address").max(MAX_EMAIL_LENGTH).nullish().openapi({ example: "lin.mei@example.com" }),
    name: z.string().min(1).max(MAX_NAME_LENGTH).nullish().openapi({ example: "Lin Mei" }),
    birthday: z
      .string()
      .refine(isCalendarDate, "must be a real date as YYYY-MM-DD or MM-DD")
      .refine(isNotFutureDate, "must not be in the future")
      .nullish()
      .openapi({ description: "YYYY-MM-DD (from 1900, not in the future) or MM-DD.", example: "1990-05-01" }),
    attributes: Attributes.nullish().openapi({ example: { vip: true, store: "shanghai-01" } }),
    referredBy: z
      .string()
      .min(1)
      .max(MAX_REFERRAL_CODE_INPUT)
      .optional()
      .openapi({
        description:
          "The referral code of the member who referred this one (GET /v1/members/{memberId}/referral-code); case-insensitive. " +
          "Only when the member is created (a retry naming the same referrer is accepted). A refusal is 422 unprocessable with " +
          "`reason` self_referral, existing_member, referral_loop, other_merchant_code, unknown_code or referrals_off, and writes nothing.",
        example: "K7QH3XMV9R",
      }),
  })
  .openapi("MemberInput", {
    description:
      "Omitted fields keep their value; null clears a field. An erased member takes no personal data: any non-null field is 409 conflict. " +
      "referredBy links a new member to its referrer.",
  });

export const MemberParams = z.object({
  memberId: MerchantChosenId.openapi({ param: { name: "memberId", in: "path" } }),
});

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    type: z.enum(ENTRY_TYPES),
    asset: z
      .enum(ASSETS)
      .openapi({ description: "What `points` and `balanceAfter` count: points, or store credit in minor units." }),
    points: z.number().int(),
    balanceAfter: z.number().int(),
    createdAt: Timestamp,
    orderId: z.string().optional(),
    ruleId: z.string().optional(),
    ruleVersion: z
      .number()
      .int()
      .optional()
      .openapi({ description: "The version of ruleId that awarded the points (orders list every rule's award).", example: 2 }),
    redemptionId: z.string().optional(),
    refundId: z.string().optional(),
    availableAt: Timestamp.optional(),
    expiresAt: Timestamp.optional(),
    reason: z.string().optional(),
  })
  .openapi("LedgerEntry");

/** Largest adjustment either way: far above any goodwill or correction, far below MAX_TOTAL. */
export const MAX_ADJUSTMENT_POINTS = 1_000_000_000_000;
const MAX_REASON_LENGTH = 500;

export const AdjustmentInputSchema = z
  .strictObject({
    points: z
      .number()
      .int("must be an integer")
      .min(-MAX_ADJUSTMENT_POINTS)
      .max(MAX_ADJUSTMENT_POINTS)
      .refine((p) => p !== 0, "must not be zero"),
    reason: z.string().min(1, "is required").max(MAX_REASON_LENGTH).openapi({ example: "goodwill" }),
  })
  .openapi("AdjustmentInput");

export const AdjustmentSchema = z
  .object({ id: z.string(), points: z.number().int(), reason: z.string(), member: MemberSchema })
  .openapi("Adjustment");

export const MIN_TOKEN_TTL_SECONDS = 60;
export const MAX_TOKEN_TTL_SECONDS = DAY_MS / SECOND_MS;
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export const TokenInputSchema = z
  .strictObject({
    ttlSeconds: z
      .number()
      .int()
      .min(MIN_TOKEN_TTL_SECONDS)
      .max(MAX_TOKEN_TTL_SECONDS)
      .optional()
      .openapi({
        description: `${MIN_TOKEN_TTL_SECONDS}-${MAX_TOKEN_TTL_SECONDS} seconds (default ${DEFAULT_TOKEN_TTL_SECONDS}).`,
      }),
  })
  .openapi("TokenInput");

export const MemberTokenSchema = z
  .object({
    token: z.string().nullable().openapi({ description: "Shown once; null when the response is an idempotent replay." }),
    expiresAt: Timestamp,
  })
  .openapi("MemberToken");

/** The member body as the API returns it (rendered by SQL in ledger/member-json.ts). */
export type MemberBody = z.infer<typeof MemberSchema>;
export type MemberInput = z.infer<typeof MemberInputSchema>;
export type MemberExport = z.infer<typeof MemberExportSchema>;

const MAX_WITHIN_DAYS = 3650;
const DEFAULT_WITHIN_DAYS = 30;

export const ExpiringQuery = z.object({
  withinDays: queryInteger(1, MAX_WITHIN_DAYS, DEFAULT_WITHIN_DAYS).openapi({
    param: { name: "withinDays", in: "query" },
    description: `Window in days, 1-${MAX_WITHIN_DAYS} in decimal digits (default ${DEFAULT_WITHIN_DAYS}).`,
  }),
});

export const ExpiringSchema = z
  .object({
    memberId: z.string(),
    withinDays: z.number().int(),
    policy: z.enum(EXPIRY_POLICIES),
    total: z.number().int(),
    expiring: z.array(z.object({ points: z.number().int(), expiresAt: Timestamp })),
  })
  .openapi("ExpiringPoints");

/** Rows per list in a member export: bounds the read and the reply; a longer history says it was cut. */
export const EXPORT_MAX_ROWS = 10_000;

const ExportOrderSchema = z.object({
  orderId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  occurredAt: Timestamp,
  channel: z.string().nullable(),
  items: z.unknown(),
  pointsEarned: z.number().int(),
  refundedAmount: z.number().int(),
  pointsReversed: z.number().int(),
});

const ExportRefundSchema = z.object({
  refundId: z.string(),
  orderId: z.string(),
  amount: z.number().int(),
  pointsReversed: z.number().int(),
  createdAt: Timestamp,
});

const ExportRedemptionSchema = z.object({
  id: z.string(),
  status: z.string(),
  points: z.number().int(),
  value: z.number().int(),
  orderId: z.string().nullable(),
  createdAt: Timestamp,
});

const ExportPerkStateSchema = z.object({
  perkId: z.string(),
  unlocked: z.boolean().openapi({ description: "Whether the perk was last seen unlocked." }),
  lapsedAt: Timestamp.nullable().openapi({ description: "Its latest lapse for lack of orders." }),
  changedAt: Timestamp,
});

const ExportPerkEventSchema = z.object({
  id: z.string(),
  perkId: z.string(),
  kind: z.enum(PERK_EVENT_KINDS),
  reason: z.string(),
  at: Timestamp,
});

const ExportPerkUseSchema = z.object({
  id: z.string(),
  perkId: z.string(),
  period: z.string().nullable().openapi({ description: "The quota period (`m2026-11`, `y2026`); null without a quota." }),
  createdAt: Timestamp,
  reversedAt: Timestamp.nullable(),
  reverseReason: z.string().nullable(),
});

/** A tier change as GET /v1/members/{memberId}/tier/history shows it (tiers/ imports this file, so not shared). */
const ExportTierChangeSchema = z.object({
  from: z.string().nullable(),
  to: z.string(),
  reason: z.enum(TIER_CHANGE_REASONS),
  at: Timestamp,
  detail: z.string(),
});

const ExportStampCardSchema = z.object({
  cardId: z.string(),
  stamps: z.number().int().openapi({ description: "Stamps on the card now." }),
  stampDebt: z.number().int().openapi({ description: "Stamps refunds took back after the card had paid out for them." }),
  completed: z.number().int().openapi({ description: "Cards completed." }),
  updatedAt: Timestamp,
});

const ExportRebateAllocationSchema = z.object({
  programId: z.string(),
  periodKey: z.string(),
  spend: z.number().int().openapi({ description: "The member's net spend in the period, frozen when its close started." }),
  amount: z.number().int().nullable().openapi({ description: "Money allocated, minor units; null until paid." }),
  units: z.number().int().nullable().openapi({ description: "Points or credit written to the ledger; null until paid." }),
  paid: z.boolean(),
  paidAt: Timestamp.nullable(),
});

const truncatedFlag = z.boolean().openapi({
  description: `True when the list holds more than ${EXPORT_MAX_ROWS} rows: the newest ${EXPORT_MAX_ROWS} are included.`,
});

export const MemberExportSchema = z
  .object({
    exportedAt: Timestamp,
    member: MemberSchema,
    ledger: z.array(LedgerEntrySchema).openapi({ description: "Newest first." }),
    orders: z.array(ExportOrderSchema),
    refunds: z.array(ExportRefundSchema),
    redemptions: z.array(ExportRedemptionSchema),
    referral: z
      .object({
        code: z.string().nullable().openapi({ description: "The member's referral code (null: never asked for)." }),
        referredBy: ReferralSchema.nullable().openapi({ description: "The referral that brought the member in, if any." }),
        made: z.array(ReferralSchema).openapi({ description: "Referrals the member made, newest first." }),
      })
      .openapi({ description: "The member's referral code and referrals, both ways." }),
    perkStates: z.array(ExportPerkStateSchema).openapi({ description: "Each perk's recorded state, last changed first." }),
    perkEvents: z.array(ExportPerkEventSchema).openapi({ description: "Unlocks, lapses and locks of perks, newest first." }),
    perkUses: z.array(ExportPerkUseSchema).openapi({ description: "Uses of perks, reversed ones included, newest first." }),
    tierHistory: z.array(ExportTierChangeSchema).openapi({ description: "Tier changes, newest first." }),
    vouchers: z.array(VoucherSchema).openapi({ description: "Vouchers issued to the member, newest first." }),
    stampCards: z.array(ExportStampCardSchema).openapi({ description: "Progress on each stamp card, last changed first." }),
    rebateAllocations: z.array(ExportRebateAllocationSchema).openapi({
      description: "The member's share of each rebate close: unpaid ones (a close under way) first, then newest paid.",
    }),
    truncated: z
      .object({
        ledger: truncatedFlag,
        orders: truncatedFlag,
        refunds: truncatedFlag,
        redemptions: truncatedFlag,
        referrals: truncatedFlag,
        perkStates: truncatedFlag,
        perkEvents: truncatedFlag,
        perkUses: truncatedFlag,
        tierHistory: truncatedFlag,
        vouchers: truncatedFlag,
        stampCards: truncatedFlag,
        rebateAllocations: truncatedFlag,
      })
      .openapi({ description: `Which lists were cut at ${EXPORT_MAX_ROWS} rows.` }),
  })
  .openapi("MemberExport");

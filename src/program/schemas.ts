import { z } from "@hono/zod-openapi";
import { MAX_UNITS } from "../platform/validation";
import { DEFAULT_REFERRAL_MIN_ORDER_AMOUNT } from "./settings";

/** Longest expiry window: ten years. */
export const MAX_EXPIRY_DAYS = 3650;
/** Longest return window: a year. */
export const MAX_PENDING_DAYS = 365;
/** Bound on either side of the point value ratio, so points x amount stays far inside exact integers. */
export const MAX_POINT_VALUE_TERM = 1_000_000;

/** Most browser origins one program may list: enough for a shop, an app and their staging sites. */
export const MAX_ALLOWED_ORIGINS = 20;

/** https origins, and plain http for localhost (development). */
const LOCAL_HTTP = /^http:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/;

/** Whether `value` is exactly an origin (scheme, host, optional port; no path, no trailing slash). */
export function isAllowedOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.origin !== value) return false;
  return url.protocol === "https:" || LOCAL_HTTP.test(value);
}

const Origin = z
  .string()
  .max(255)
  .refine(
    isAllowedOrigin,
    "must be an origin such as https://shop.example (https, or http://localhost for development), without a path",
  )
  .openapi({ example: "https://shop.example" });

const Days = z.number().int().min(1, "must be at least 1 day").max(MAX_EXPIRY_DAYS, `must be at most ${MAX_EXPIRY_DAYS} days`);

/** Most points one side of a referral may be paid: as much as a fixed rule may award. */
export const MAX_REFERRAL_POINTS = 1_000_000_000;

const ReferralPoints = z.number().int().min(0).max(MAX_REFERRAL_POINTS);

const Referral = z
  .strictObject({
    referrerPoints: ReferralPoints.openapi({ description: "Bonus points for the member whose code was used.", example: 500 }),
    refereePoints: ReferralPoints.openapi({ description: "Bonus points for the new member (0: none).", example: 200 }),
    minOrderAmount: z
      .number()
      .int()
      .min(1)
      .max(MAX_UNITS)
      .default(DEFAULT_REFERRAL_MIN_ORDER_AMOUNT)
      .openapi({
        description:
          "Least amount (minor units) the referee's first order must keep, net of refunds, for the referral to pay; " +
          `default ${DEFAULT_REFERRAL_MIN_ORDER_AMOUNT}.`,
        example: 5000,
      }),
  })
  .openapi({
    description:
      "Referral rewards, paid as `bonus` points once the referee's first order has passed the return window (pendingDays) " +
      "and still holds minOrderAmount after refunds; a later refund below it takes them back. Null or omitted: referrals are off " +
      "(a member created with referredBy is refused, reason referrals_off). Rewards and minimum are fixed when the first order is posted.",
  });

const PointValueTerm = z.number().int().min(1).max(MAX_POINT_VALUE_TERM);

export const ProgramSchema = z
  .strictObject({
    pointValue: z
      .strictObject({ points: PointValueTerm, amount: PointValueTerm })
      .openapi({ description: "`points` points are worth `amount` minor units." }),
    pendingDays: z
      .number()
      .int()
      .min(0)
      .max(MAX_PENDING_DAYS)
      .openapi({ description: "Return window: earned points become spendable after this many days." }),
    expiry: z
      .discriminatedUnion("policy", [
        z.strictObject({ policy: z.literal("none") }),
        z.strictObject({ policy: z.literal("after_earn"), days: Days }),
        z.strictObject({ policy: z.literal("inactivity"), days: Days }),
      ])
      .openapi({
        description:
          "When points expire: never, `days` after each was earned, or all of them `days` after the member's last activity " +
          "(the end of that local day; counted from this change instead when the inactivity policy is switched on or its days " +
          "shortened, so no member loses points at once). `days` must be more than pendingDays: points become spendable " +
          "before they can expire.",
      }),
    autoEnroll: z.boolean(),
    allowedOrigins: z
      .array(Origin)
      .max(MAX_ALLOWED_ORIGINS, `at most ${MAX_ALLOWED_ORIGINS} origins`)
      .default([])
      .openapi({
        description:
          "Browser origins allowed to call /v1/me* with a member token (CORS). https origins, or http://localhost for development. " +
          "Omitted: none.",
        example: ["https://shop.example"],
      }),
    earnOnPointsPaid: z
      .boolean()
      .default(false)
      .openapi({
        description:
          "false (default): an order earns per_amount points only on the part paid with money, its amount minus the value " +
          "of captured redemptions linked to it by orderId; true: on the whole amount.",
        example: false,
      }),
    referral: Referral.nullable().default(null),
  })
  .superRefine((program, ctx) => {
    // Points must become spendable before they can expire: else an expiry that came first would be applied
    // after the release, and the points would repay debt (or be spent) on their way out.
    if (program.expiry.policy !== "none" && program.expiry.days <= program.pendingDays)
      ctx.addIssue({
        code: "custom",
        path: ["expiry", "days"],
        message: `must be more than pendingDays (${program.pendingDays}): points would expire before they become spendable`,
      });
  })
  .openapi("Program");

export type ProgramInput = z.infer<typeof ProgramSchema>;
export type ProgramReply = z.output<typeof ProgramSchema>;

import { z } from "@hono/zod-openapi";

/** Longest expiry window: ten years. */
export const MAX_EXPIRY_DAYS = 3650;
/** Longest return window: a year. */
export const MAX_PENDING_DAYS = 365;
/** Bound on either side of the point value ratio, so points x amount stays far inside exact integers. */
export const MAX_POINT_VALUE_TERM = 1_000_000;

const Days = z.number().int().min(1, "must be at least 1 day").max(MAX_EXPIRY_DAYS, `must be at most ${MAX_EXPIRY_DAYS} days`);

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
    expiry: z.discriminatedUnion("policy", [
      z.strictObject({ policy: z.literal("none") }),
      z.strictObject({ policy: z.literal("after_earn"), days: Days }),
      z.strictObject({ policy: z.literal("inactivity"), days: Days }),
    ]),
    autoEnroll: z.boolean(),
    earnOnPointsPaid: z
      .boolean()
      .default(false)
      .openapi({
        description:
          "false (default): an order earns per_amount points only on the part paid with money, its amount minus the value " +
          "of captured redemptions linked to it by orderId; true: on the whole amount.",
        example: false,
      }),
  })
  .openapi("Program");

export type ProgramInput = z.infer<typeof ProgramSchema>;

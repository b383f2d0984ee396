import { z } from "@hono/zod-openapi";
import { MAX_TOTAL } from "../platform/assert";
import { Timestamp } from "../platform/validation";
import { COMPONENT_KINDS } from "./components";

export const SwitchingCostSchema = z
  .object({
    currency: z.string().openapi({ example: "CNY" }),
    total: z
      .number()
      .int()
      .openapi({ description: `The sum of the components, minor units; at most ${MAX_TOTAL}.`, example: 12850 }),
    components: z.array(
      z.object({
        kind: z.enum(COMPONENT_KINDS),
        value: z
          .number()
          .int()
          .openapi({ description: `Minor units; at most ${MAX_TOTAL}.` }),
        detail: z.string().openapi({ description: "What the value stands for, in plain language." }),
      }),
    ),
  })
  .openapi("SwitchingCost");

export const SwitchingCostDistributionSchema = z
  .object({
    currency: z.string().openapi({ example: "CNY" }),
    members: z.number().int().openapi({ description: "Members of the merchant." }),
    valued: z.number().int().openapi({ description: "Members the switching-cost job has valued (the rest are not yet)." }),
    min: z.number().int(),
    median: z.number().int(),
    p90: z.number().int().openapi({ description: "90% of valued members would give up at most this much (nearest rank)." }),
    max: z.number().int(),
    valuedFrom: Timestamp.nullable().openapi({ description: "The oldest valuation included." }),
    valuedTo: Timestamp.nullable().openapi({ description: "The newest valuation included." }),
  })
  .openapi("SwitchingCostDistribution");

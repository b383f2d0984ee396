import { z } from "@hono/zod-openapi";
import { COMPONENT_KINDS } from "./components";

export const SwitchingCostSchema = z
  .object({
    currency: z.string().openapi({ example: "CNY" }),
    total: z.number().int().openapi({ description: "The sum of the components, minor units.", example: 12850 }),
    components: z.array(
      z.object({
        kind: z.enum(COMPONENT_KINDS),
        value: z.number().int().openapi({ description: "Minor units." }),
        detail: z.string().openapi({ description: "What the value stands for, in plain language." }),
      }),
    ),
  })
  .openapi("SwitchingCost");

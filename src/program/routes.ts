import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { programs } from "../db/schema";
import { allow, currentMerchant } from "../platform/auth";
import { now } from "../platform/clock";
import { bearer, commonErrors, jsonBody, jsonResponse } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { programFromRow, programToRow } from "./settings";

const Days = z.number().int().min(1, "must be at least 1 day").max(3650, "must be at most 3650 days");

export const ProgramSchema = z
  .strictObject({
    pointValue: z
      .strictObject({ points: z.number().int().min(1).max(1_000_000), amount: z.number().int().min(1).max(1_000_000) })
      .openapi({ description: "`points` points are worth `amount` minor units." }),
    pendingDays: z
      .number()
      .int()
      .min(0)
      .max(365)
      .openapi({ description: "Return window: earned points become spendable after this many days." }),
    expiry: z.discriminatedUnion("policy", [
      z.strictObject({ policy: z.literal("none") }),
      z.strictObject({ policy: z.literal("after_earn"), days: Days }),
      z.strictObject({ policy: z.literal("inactivity"), days: Days }),
    ]),
    autoEnroll: z.boolean(),
  })
  .openapi("Program");

const tags = ["Program"];

export const programRouter = createRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/program",
      tags,
      summary: "Read program settings",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      responses: { 200: jsonResponse(ProgramSchema, "Settings"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const row = await c.var.orm.query.programs.findFirst({ where: eq(programs.merchantId, merchant.id) });
      return c.json(programFromRow(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/program",
      tags,
      summary: "Replace program settings",
      description:
        "Period boundaries (days, months, years) are in the merchant's time zone. Changes apply to points earned afterwards.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { body: jsonBody(ProgramSchema) },
      responses: { 200: jsonResponse(ProgramSchema, "Settings"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const settings = c.req.valid("json");
      const row = programToRow(merchant.id, settings, now());
      await c.var.orm.insert(programs).values(row).onConflictDoUpdate({ target: programs.merchantId, set: row });
      return c.json(settings, 200);
    },
  );

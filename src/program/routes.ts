import { createRoute } from "@hono/zod-openapi";
import { allow } from "../platform/auth";
import { bearer, commonErrors, jsonBody, jsonResponse } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { ProgramSchema } from "./schemas";
import { readProgram, replaceProgram } from "./service";

const tags = ["Program"];

export const programRouter = createRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/program",
      operationId: "getProgram",
      tags,
      summary: "Read program settings",
      description:
        "Point value, return window (pendingDays), expiry policy, auto-enrolment and the browser origins allowed on /v1/me. Defaults apply until the first PUT.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      responses: { 200: jsonResponse(ProgramSchema, "Settings"), ...commonErrors },
    }),
    async (c) => c.json(await readProgram(scopeOf(c)), 200),
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/program",
      operationId: "replaceProgram",
      tags,
      summary: "Replace program settings",
      description:
        "Period boundaries (days, months, years) are in the merchant's time zone. Changes apply to points earned afterwards; " +
        "the inactivity policy concerns a member's whole balance, and its clock starts at this change when it is switched on " +
        "or shortened, so no member loses points at once.",
      security: bearer,
      middleware: [allow("admin")] as const,
      request: { body: jsonBody(ProgramSchema) },
      responses: { 200: jsonResponse(ProgramSchema, "Settings"), ...commonErrors },
    }),
    async (c) => c.json(await replaceProgram(scopeOf(c), c.req.valid("json")), 200),
  );

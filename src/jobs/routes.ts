import { createRoute } from "@hono/zod-openapi";
import { allow } from "../platform/auth";
import { idempotent } from "../platform/idempotency";
import { bearer, commonErrors, IdempotencyHeader, jsonResponse } from "../platform/openapi";
import { listSchema, PageQuery } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { JOB_NAMES } from "./registry";
import { JobParams, JobRunSchema } from "./schemas";
import { listRuns, runJobNow } from "./service";

const tags = ["Operations"];

export const jobsRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/jobs/{job}/runs",
      operationId: "runJob",
      tags,
      summary: "Run a scheduled job now, for this merchant only",
      description: `Jobs: ${JOB_NAMES.join(", ")}. The same work the cron does every minute; safe to repeat.`,
      security: bearer,
      middleware: [allow("admin"), idempotent(false)] as const,
      request: { params: JobParams, headers: IdempotencyHeader },
      responses: { 200: jsonResponse(JobRunSchema, "The finished run"), ...commonErrors },
    }),
    async (c) => c.json(await runJobNow(scopeOf(c), c.req.valid("param").job), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/jobs/runs",
      operationId: "listJobRuns",
      tags,
      summary: "Runs of jobs triggered for this merchant, newest first",
      description:
        "Runs of scheduled jobs for this merchant, newest first: the ones run through POST /v1/jobs/{job}/runs and the cron's runs.",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(JobRunSchema), "Runs"), ...commonErrors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return c.json(await listRuns(scopeOf(c), limit, cursor), 200);
    },
  );

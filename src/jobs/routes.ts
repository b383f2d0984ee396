import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import { jobRuns } from "../db/schema";
import { allow, currentMerchant } from "../platform/auth";
import { toIso, toIsoOrNull } from "../platform/clock";
import { notFound } from "../platform/errors";
import { idempotent } from "../platform/idempotency";
import { bearer, commonErrors, IdempotencyHeader, jsonResponse } from "../platform/openapi";
import { decodeCursor, isString, listSchema, PageQuery, page } from "../platform/pagination";
import { createRouter } from "../platform/router";
import { findJob, JOB_NAMES } from "./registry";
import { runJob } from "./runner";

const JobRunSchema = z
  .object({
    id: z.string(),
    job: z.string(),
    trigger: z.enum(["cron", "manual"]),
    status: z.enum(["running", "succeeded", "failed"]),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    processed: z.number().int(),
    chunks: z.number().int(),
    more: z.boolean(),
    errors: z.array(z.string()),
  })
  .openapi("JobRun");

const tags = ["Operations"];

export const jobsRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/jobs/{job}/runs",
      tags,
      summary: "Run a scheduled job now, for this merchant only",
      description: `Jobs: ${JOB_NAMES.join(", ")}. The same work the cron does every minute; safe to repeat.`,
      security: bearer,
      middleware: [allow("admin"), idempotent(false)] as const,
      request: {
        params: z.object({
          job: z
            .string()
            .max(64)
            .openapi({ param: { name: "job", in: "path" }, example: "expiry" }),
        }),
        headers: IdempotencyHeader,
      },
      responses: { 200: jsonResponse(JobRunSchema, "The finished run"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const name = c.req.valid("param").job;
      const job = findJob(name);
      if (!job) throw notFound(`Job ${name}`);
      const run = await runJob(c.var.db, job, { trigger: "manual", scope: { merchantId: merchant.id } });
      return c.json({ ...run, startedAt: toIso(run.startedAt), finishedAt: toIso(run.finishedAt) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/jobs/runs",
      tags,
      summary: "Runs of jobs triggered for this merchant, newest first",
      security: bearer,
      middleware: [allow("admin", "read")] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listSchema(JobRunSchema), "Runs"), ...commonErrors },
    }),
    async (c) => {
      const merchant = currentMerchant(c);
      const { limit, cursor } = c.req.valid("query");
      const before = cursor ? decodeCursor(cursor, isString) : undefined;
      const rows = await c.var.orm
        .select()
        .from(jobRuns)
        .where(and(eq(jobRuns.merchantId, merchant.id), before ? lt(jobRuns.id, before) : undefined))
        .orderBy(desc(jobRuns.id))
        .limit(limit + 1);
      const result = page(rows, limit, (last) => last.id);
      return c.json(
        {
          data: result.data.map((r) => ({
            id: r.id,
            job: r.job,
            trigger: r.trigger,
            status: r.status,
            startedAt: toIso(r.startedAt),
            finishedAt: toIsoOrNull(r.finishedAt),
            processed: r.processed,
            chunks: r.chunks,
            more: r.more,
            errors: r.errors ? (JSON.parse(r.errors) as string[]) : [],
          })),
          nextCursor: result.nextCursor,
        },
        200,
      );
    },
  );

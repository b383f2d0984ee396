import { z } from "@hono/zod-openapi";

/** Longer than any job name, short enough to refuse junk before the lookup. */
const MAX_JOB_NAME_LENGTH = 64;

export const JobRunSchema = z
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

export const JobParams = z.object({
  job: z
    .string()
    .max(MAX_JOB_NAME_LENGTH)
    .openapi({ param: { name: "job", in: "path" }, example: "expiry" }),
});

import { z } from "@hono/zod-openapi";
import { JOB_RUN_STATUSES, JOB_TRIGGERS } from "../db/enums";
import { Timestamp } from "../platform/validation";

/** Longer than any job name, short enough to refuse junk before the lookup. */
const MAX_JOB_NAME_LENGTH = 64;

export const JobRunSchema = z
  .object({
    id: z.string(),
    job: z.string(),
    trigger: z.enum(JOB_TRIGGERS),
    scope: z.enum(["merchant", "all_merchants"]).openapi({
      description:
        "`merchant`: a run for this merchant (POST /v1/jobs/{job}/runs). `all_merchants`: a cron run over every merchant; its counts and errors are not shown.",
    }),
    status: z.enum(JOB_RUN_STATUSES),
    startedAt: Timestamp,
    finishedAt: Timestamp.nullable(),
    processed: z.number().int(),
    changed: z.number().int().openapi({ description: "Items the run changed (a review also confirms members)." }),
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

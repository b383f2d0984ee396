/** Jobs run on demand for one merchant, and the record of runs. */
import { and, desc, eq, lt } from "drizzle-orm";
import { jobRuns } from "../db/schema";
import { toIso, toIsoOrNull } from "../platform/clock";
import { notFound } from "../platform/errors";
import { decodeCursor, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { findJob } from "./registry";
import { runJob } from "./runner";

/** Runs a job now for the scope's merchant only; 404 for an unknown job. */
export async function runJobNow(scope: RequestScope, name: string) {
  const job = findJob(name);
  if (!job) throw notFound(`Job ${name}`);
  const run = await runJob(scope.db, job, { trigger: "manual", scope: { merchantId: scope.merchant.id } });
  return { ...run, startedAt: toIso(run.startedAt), finishedAt: toIso(run.finishedAt) };
}

/** Runs triggered for the scope's merchant, newest first. */
export async function listRuns(scope: RequestScope, limit: number, cursor?: string) {
  const before = cursor ? decodeCursor(cursor, isString) : undefined;
  const rows = await scope.orm
    .select()
    .from(jobRuns)
    .where(and(eq(jobRuns.merchantId, scope.merchant.id), before ? lt(jobRuns.id, before) : undefined))
    .orderBy(desc(jobRuns.id))
    .limit(limit + 1);
  const result = page(rows, limit, (last) => last.id);
  return {
    data: result.data.map((r) => ({
      id: r.id,
      job: r.job,
      trigger: r.trigger,
      status: r.status,
      startedAt: toIso(r.startedAt),
      finishedAt: toIsoOrNull(r.finishedAt),
      processed: r.processed,
      changed: r.changed,
      chunks: r.chunks,
      more: r.more,
      errors: r.errors ? (JSON.parse(r.errors) as string[]) : [],
    })),
    nextCursor: result.nextCursor,
  };
}

/** Jobs run on demand for one merchant, and the record of runs. */
import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
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
  return { ...run, scope: "merchant" as const, startedAt: toIso(run.startedAt), finishedAt: toIso(run.finishedAt) };
}

/**
 * Runs for the scope's merchant and the cron's runs over every merchant, newest first. A cron run's counts
 * and errors cover other merchants too, so they are left out (`scope: "all_merchants"`): a merchant sees that
 * and when the cron ran, never how much work other merchants had.
 */
export async function listRuns(scope: RequestScope, limit: number, cursor?: string) {
  const before = cursor ? decodeCursor(cursor, isString) : undefined;
  const rows = await scope.orm
    .select()
    .from(jobRuns)
    .where(
      and(or(eq(jobRuns.merchantId, scope.merchant.id), isNull(jobRuns.merchantId)), before ? lt(jobRuns.id, before) : undefined),
    )
    .orderBy(desc(jobRuns.id))
    .limit(limit + 1);
  const result = page(rows, limit, (last) => last.id);
  return {
    data: result.data.map((r) => {
      const own = r.merchantId !== null;
      return {
        id: r.id,
        job: r.job,
        trigger: r.trigger,
        scope: own ? ("merchant" as const) : ("all_merchants" as const),
        status: r.status,
        startedAt: toIso(r.startedAt),
        finishedAt: toIsoOrNull(r.finishedAt),
        processed: own ? r.processed : 0,
        changed: own ? r.changed : 0,
        chunks: own ? r.chunks : 0,
        more: r.more,
        errors: own && r.errors ? (JSON.parse(r.errors) as string[]) : [],
      };
    }),
    nextCursor: result.nextCursor,
  };
}

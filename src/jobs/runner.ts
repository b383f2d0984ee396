/**
 * Runs a job in chunks within a budget and records the run. Work is chosen by state ("due and not yet
 * done"), never by a stored cursor, so a run that crashed or stopped at its budget is resumed by simply
 * running again, and two overlapping runs cannot do the same item twice (each chunk is one transaction
 * that re-checks the state it changes).
 */
import { now } from "../platform/clock";
import { newId } from "../platform/ids";
import type { Job, JobScope } from "./types";

export interface RunOptions {
  trigger: "cron" | "manual";
  scope?: JobScope;
  chunkSize?: number;
  /** Chunks per run: keeps one invocation inside the Workers CPU and subrequest limits. */
  maxChunks?: number;
}

export interface JobRunRecord {
  id: string;
  job: string;
  trigger: "cron" | "manual";
  status: "succeeded" | "failed";
  startedAt: number;
  finishedAt: number;
  processed: number;
  chunks: number;
  more: boolean;
  errors: string[];
}

export async function runJob(db: D1Database, job: Job, options: RunOptions): Promise<JobRunRecord> {
  const scope = options.scope ?? {};
  const chunkSize = options.chunkSize ?? 200;
  const maxChunks = options.maxChunks ?? 25;
  const startedAt = now();
  const id = newId("run", startedAt);
  await db
    .prepare(`INSERT INTO job_runs (id, job, merchant_id, trigger, status, started_at) VALUES (?1, ?2, ?3, ?4, 'running', ?5)`)
    .bind(id, job.name, scope.merchantId ?? null, options.trigger, startedAt)
    .run();
  let processed = 0;
  let chunks = 0;
  let more = false;
  const errors: string[] = [];
  try {
    do {
      const chunk = await job.runChunk(db, now(), scope, chunkSize);
      processed += chunk.processed;
      chunks += 1;
      more = chunk.more;
    } while (more && chunks < maxChunks);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  const finishedAt = now();
  const status = errors.length ? "failed" : "succeeded";
  await db
    .prepare(
      `UPDATE job_runs SET status = ?2, finished_at = ?3, processed = ?4, chunks = ?5, more = ?6, errors = ?7 WHERE id = ?1`,
    )
    .bind(id, status, finishedAt, processed, chunks, more ? 1 : 0, errors.length ? JSON.stringify(errors) : null)
    .run();
  return { id, job: job.name, trigger: options.trigger, status, startedAt, finishedAt, processed, chunks, more, errors };
}

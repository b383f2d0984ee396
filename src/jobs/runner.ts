/**
 * Runs a job in chunks within a budget and records the run. Work is chosen by state ("due and not yet
 * done"), never by a stored cursor, so a run that crashed or stopped at its budget is resumed by simply
 * running again, and two overlapping runs cannot do the same item twice (each chunk is one transaction
 * that re-checks the state it changes).
 */
import { now } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
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
  changed: number;
  chunks: number;
  more: boolean;
  errors: string[];
}

/** Items per chunk: one chunk is one batch, well inside D1's statement and CPU limits. */
export const DEFAULT_CHUNK_SIZE = 200;
/** Chunks per run: keeps one invocation inside the Workers CPU and subrequest limits. */
export const DEFAULT_MAX_CHUNKS = 25;

export async function runJob(db: D1Database, job: Job, options: RunOptions): Promise<JobRunRecord> {
  const scope = options.scope ?? {};
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const maxChunks = options.maxChunks ?? DEFAULT_MAX_CHUNKS;
  const startedAt = now();
  const id = newId("run", startedAt);
  await prepare(
    db,
    sql`INSERT INTO job_runs (id, job, merchant_id, trigger, status, started_at)
      VALUES (${id}, ${job.name}, ${scope.merchantId ?? null}, ${options.trigger}, 'running', ${startedAt})`,
  ).run();
  let processed = 0;
  let changed = 0;
  let chunks = 0;
  let more = false;
  const errors: string[] = [];
  try {
    do {
      const chunk = await job.runChunk(db, now(), scope, chunkSize);
      processed += chunk.processed;
      changed += chunk.changed ?? chunk.processed;
      chunks += 1;
      more = chunk.more;
    } while (more && chunks < maxChunks);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  const finishedAt = now();
  const status = errors.length ? "failed" : "succeeded";
  const errorsJson = errors.length ? JSON.stringify(errors) : null;
  await prepare(
    db,
    sql`UPDATE job_runs SET status = ${status}, finished_at = ${finishedAt}, processed = ${processed}, changed = ${changed},
      chunks = ${chunks},
      more = ${more}, errors = ${errorsJson} WHERE id = ${id}`,
  ).run();
  return { id, job: job.name, trigger: options.trigger, status, startedAt, finishedAt, processed, changed, chunks, more, errors };
}

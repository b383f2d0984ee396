/** Cron entry: every job, each in bounded chunks, each run recorded in job_runs. */
import { JOBS } from "./registry";
import { type JobRunRecord, runJob } from "./runner";

export async function runScheduledJobs(env: Env): Promise<JobRunRecord[]> {
  const runs: JobRunRecord[] = [];
  // One job failing must not stop the others; its run records the error.
  for (const job of JOBS) runs.push(await runJob(env.DB, job, { trigger: "cron" }));
  return runs;
}

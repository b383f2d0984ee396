/** Cron entry: runs every due job in bounded chunks so one invocation stays within the Workers limits. */
import type { Env } from "../platform/env";
import { now } from "../platform/clock";
import { releaseExpiredHolds } from "./hold-release";

const MAX_CHUNKS_PER_RUN = 20;

export async function runScheduledJobs(env: Env): Promise<{ holdsReleased: number }> {
  let holdsReleased = 0;
  for (let i = 0; i < MAX_CHUNKS_PER_RUN; i++) {
    const chunk = await releaseExpiredHolds(env.DB, now());
    holdsReleased += chunk.processed;
    if (!chunk.more) break;
  }
  return { holdsReleased };
}

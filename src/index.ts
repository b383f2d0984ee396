/** Worker entry: the HTTP app, the cron-triggered jobs and the rebate-close queue consumer. */
import { createApp } from "./app";
import { runScheduledJobs } from "./jobs/scheduled";
import { consumeRebateCloses, resumeStalledCloses } from "./rebates/queue";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(env));
    ctx.waitUntil(resumeStalledCloses(env));
  },
  queue: consumeRebateCloses,
} satisfies ExportedHandler<Env>;

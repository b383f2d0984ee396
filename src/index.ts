/** Worker entry: the HTTP app and the cron-triggered jobs. */
import { createApp } from "./app";
import { runScheduledJobs } from "./jobs/scheduled";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(env));
  },
} satisfies ExportedHandler<Env>;

/** Bindings and variables of the Worker (wrangler.toml, .dev.vars, secrets). */
export interface Env {
  DB: D1Database;
  /** Secret that may create merchants. */
  PLATFORM_TOKEN?: string;
  /** "on" adds x-d1-rows-read / x-d1-rows-written / x-d1-queries headers to every response (benchmarks). */
  D1_STATS?: string;
}

import type { D1Migration } from "cloudflare:test";

// The Worker's own bindings come from worker-configuration.d.ts (`npm run types`); tests add the migrations.
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_SEEDS: import("./seeds").TestSeeds;
    }
  }
}

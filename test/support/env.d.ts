import type { D1Migration } from "cloudflare:test";
import type { Env } from "../../src/platform/env";

declare global {
  namespace Cloudflare {
    interface Env extends EnvBindings {
      TEST_MIGRATIONS: D1Migration[];
    }
    interface GlobalProps {
      mainModule: typeof import("../../src/index");
    }
  }
}
type EnvBindings = Env;

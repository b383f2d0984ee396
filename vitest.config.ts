import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { copyDocsAssets } from "./scripts/docs-assets.mjs";

// The Worker bundles the docs UI's files from dist/docs-ui (copied from swagger-ui-dist).
copyDocsAssets();

export default defineConfig({
  test: {
    projects: [
      {
        // Everything that goes through the Worker: workerd with real local D1.
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                PLATFORM_TOKEN: "test-platform-token",
                // The suites send thousands of requests with one key; test/rate-limits.test.ts turns the limits on.
                RATE_LIMITS: "off",
                TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
                // Tests run inside workerd, which does not see the shell's environment: seeds to replay (and how
                // many more seeds CI runs) reach the randomized suites as a binding (test/support/seeds.ts).
                TEST_SEEDS: {
                  RELIABILITY_SEED: process.env.RELIABILITY_SEED ?? null,
                  RACES_SEED: process.env.RACES_SEED ?? null,
                  PROPERTY_SEED: process.env.PROPERTY_SEED ?? null,
                  extraSeeds: Number(process.env.EXTRA_SEEDS ?? (process.env.CI ? 6 : 0)),
                },
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**"],
          setupFiles: ["./test/support/apply-migrations.ts"],
        },
      },
      {
        // Tests that need Node: the generated client is current, and the docs page in headless Chromium
        // against `wrangler dev`.
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
});

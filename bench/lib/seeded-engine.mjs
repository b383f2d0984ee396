// @ts-check
// A fresh local D1 seeded with SQL, and the engine serving it: for sections that measure scheduled work
// over more data than seeding through the HTTP API could build in time.
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./config.mjs";
import { freePort, runWrangler, startDev, tail, waitForHealth } from "./proc.mjs";

/**
 * Fresh local D1 with the migrations and `sqlText` applied, and the engine serving it with D1_STATS on.
 * @param {string} sqlText
 * @param {string} dir
 * @returns {Promise<string>} the engine's base URL
 */
export async function seededEngine(sqlText, dir) {
  const log = path.join(dir, "wrangler.log");
  const persist = path.join(dir, "state");
  const migrate = await runWrangler(ROOT, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    logFile: log,
  });
  if (migrate.code !== 0) throw new Error(`migrations failed:\n${tail(log)}`);
  const sqlFile = path.join(dir, "seed.sql");
  fs.writeFileSync(sqlFile, sqlText);
  const seeded = await runWrangler(ROOT, ["d1", "execute", "DB", "--local", "--persist-to", persist, "--file", sqlFile], {
    logFile: log,
    timeoutMs: 600_000,
  });
  if (seeded.code !== 0) throw new Error(`seeding failed:\n${tail(log)}`);
  const port = await freePort();
  const server = startDev(
    ROOT,
    [
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persist,
      "--var",
      "D1_STATS:on",
      "--var",
      "RATE_LIMITS:off",
      "--show-interactive-dev-session=false",
    ],
    { logFile: log },
  );
  const base = `http://127.0.0.1:${port}`;
  const health = await waitForHealth(`${base}/health`, { server });
  if (!health.ok) throw new Error(`engine did not start: ${health.reason}\n${tail(log)}`);
  return base;
}

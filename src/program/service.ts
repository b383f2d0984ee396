/** Program settings: one row per merchant, the defaults when none was stored. */
import { eq, sql } from "drizzle-orm";
import { merchants, programs } from "../db/schema";
import type { RequestScope } from "../platform/scope";
import { type ProgramSettings, programFromRow, programToRow } from "./settings";

export async function readProgram(scope: RequestScope): Promise<ProgramSettings> {
  const row = await scope.orm.query.programs.findFirst({ where: eq(programs.merchantId, scope.merchant.id) });
  return programFromRow(row);
}

export async function replaceProgram(scope: RequestScope, settings: ProgramSettings): Promise<ProgramSettings> {
  const row = programToRow(scope.merchant.id, settings, scope.at);
  // Checkouts cache the settings until the merchant's configuration version moves (earning/config-version.ts).
  await scope.orm.batch([
    scope.orm.insert(programs).values(row).onConflictDoUpdate({ target: programs.merchantId, set: row }),
    scope.orm
      .update(merchants)
      .set({ configVersion: sql`${merchants.configVersion} + 1` })
      .where(eq(merchants.id, scope.merchant.id)),
  ]);
  return settings;
}

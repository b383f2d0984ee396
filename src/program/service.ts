/** Program settings: one row per merchant, the defaults when none was stored. */
import { eq } from "drizzle-orm";
import { programs } from "../db/schema";
import type { RequestScope } from "../platform/scope";
import { type ProgramSettings, programFromRow, programToRow } from "./settings";

export async function readProgram(scope: RequestScope): Promise<ProgramSettings> {
  const row = await scope.orm.query.programs.findFirst({ where: eq(programs.merchantId, scope.merchant.id) });
  return programFromRow(row);
}

export async function replaceProgram(scope: RequestScope, settings: ProgramSettings): Promise<ProgramSettings> {
  const row = programToRow(scope.merchant.id, settings, scope.at);
  await scope.orm.insert(programs).values(row).onConflictDoUpdate({ target: programs.merchantId, set: row });
  return settings;
}

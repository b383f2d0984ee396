/** Program settings: one row per merchant, the defaults when none was stored. */
import { sql as drizzleSql, eq, type SQL } from "drizzle-orm";
import { merchants, programs } from "../db/schema";
import { prepare, sql } from "../platform/d1/sql";
import type { RequestScope } from "../platform/scope";
import type { ProgramReply } from "./schemas";
import { originsFromColumn, programFromRow, programToRow, publicExpiry } from "./settings";

export async function readProgram(scope: RequestScope): Promise<ProgramReply> {
  const row = await scope.orm.query.programs.findFirst({ where: eq(programs.merchantId, scope.merchant.id) });
  const settings = programFromRow(row);
  return { ...settings, expiry: publicExpiry(settings.expiry), allowedOrigins: originsFromColumn(row?.allowedOrigins) };
}

export async function replaceProgram(scope: RequestScope, input: ProgramReply): Promise<ProgramReply> {
  const { allowedOrigins, ...settings } = input;
  const origins = [...new Set(allowedOrigins)];
  const row = {
    ...programToRow(scope.merchant.id, settings, scope.at),
    allowedOrigins: originsToColumn(origins),
    expirySince: settings.expiry.policy === "inactivity" ? scope.at : null,
  };
  // Checkouts cache the settings until the merchant's configuration version moves (earning/config-version.ts).
  await scope.orm.batch([
    scope.orm
      .insert(programs)
      .values(row)
      .onConflictDoUpdate({ target: programs.merchantId, set: { ...row, expirySince: inactivitySince(row, scope.at) } }),
    scope.orm
      .update(merchants)
      .set({ configVersion: drizzleSql`${merchants.configVersion} + 1` })
      .where(eq(merchants.id, scope.merchant.id)),
  ]);
  return { ...settings, allowedOrigins: origins };
}

/**
 * When the inactivity policy takes effect, for a stored program being replaced: now when it is switched on or
 * its days are shortened (else members idle longer than the new days would lose their points at once), the
 * stored instant when it stays as it was or grows longer, none under other policies.
 */
function inactivitySince(row: { expiryPolicy: string; expiryDays?: number | null }, at: number): SQL | null {
  if (row.expiryPolicy !== "inactivity") return null;
  return drizzleSql`CASE WHEN ${programs.expiryPolicy} = 'inactivity' AND ${programs.expiryDays} <= ${row.expiryDays ?? 0}
    THEN ${programs.expirySince} ELSE ${at} END`;
}

/** The browser origins the merchant allows on /v1/me (CORS). */
export async function allowedOriginsOf(orm: RequestScope["orm"], merchantId: string): Promise<string[]> {
  const row = await orm
    .select({ allowedOrigins: programs.allowedOrigins })
    .from(programs)
    .where(eq(programs.merchantId, merchantId))
    .get();
  return originsFromColumn(row?.allowedOrigins);
}

function originsToColumn(origins: string[]): string | null {
  return origins.length > 0 ? JSON.stringify(origins) : null;
}

/**
 * Whether any merchant lists `origin`. A preflight carries no credentials, so its merchant is unknown; this
 * is what a preflight can be decided on. It scans the programs listing origins (one row per merchant).
 */
export async function isOriginListed(db: D1Database, origin: string): Promise<boolean> {
  const row = await prepare(
    db,
    sql`SELECT 1 AS listed FROM programs, json_each(programs.allowed_origins)
        WHERE programs.allowed_origins IS NOT NULL AND json_each.value = ${origin} LIMIT 1`,
  ).first<{ listed: number }>();
  return row !== null;
}

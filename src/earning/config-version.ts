/**
 * The merchant's configuration version: every change of what checkout reads besides the member (rules,
 * program settings, tier ladder) bumps `merchants.config_version` in the same batch as the change, so an
 * isolate that cached that configuration knows from one small value read with authentication whether its
 * copy is still current.
 */
import { type Sql, sql } from "../platform/d1/sql";

/** Bumps the version; `when` guards it on the batch's previous statement (e.g. sql`changes() > 0`). */
export function bumpConfigSql(merchantId: string, when: Sql = sql`1`): Sql {
  return sql`UPDATE merchants SET config_version = config_version + 1 WHERE id = ${merchantId} AND ${when}`;
}

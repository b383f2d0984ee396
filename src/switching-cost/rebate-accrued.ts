/**
 * The member's accrued share of open rebate periods, estimated: what the member's spend so far in the
 * period would earn at the program's last closed pool and total spend (pool x spend so far / last total,
 * rounded down). A program with no closed period yet has no basis for an estimate and shows nothing.
 */

import type { RebatePeriod } from "../db/enums";
import { type Sql, sql } from "../platform/d1/sql";
import { mulDiv } from "../platform/math";
import { localDate } from "../platform/timezone";
import { parsePeriodKey } from "../rebates/periods";
import { money } from "./components";

/**
 * The month a period key ends in, as year x 12 + month: `2026` -> Dec, `2026-Q1` -> Mar, `2026-04` -> Apr.
 * Keys of different kinds do not sort by time as text ('2026-Q1' > '2026-04'), and a program may change its
 * period kind between closes.
 */
const endMonthSql = (key: string) =>
  sql.raw(`CAST(substr(${key}, 1, 4) AS INTEGER) * 12 + CASE WHEN length(${key}) = 4 THEN 12
    WHEN substr(${key}, 6, 1) = 'Q' THEN CAST(substr(${key}, 7, 1) AS INTEGER) * 3
    ELSE CAST(substr(${key}, 6, 2) AS INTEGER) END`);

/** Rebate programs with their last closed period, the one ending latest (one row each). */
export function programsWithLastClose(merchantId: string): Sql {
  return sql`SELECT p.id, p.name, p.period, c.period_key AS lastKey, c.pool AS lastPool, c.total_net_spend AS lastTotal
    FROM rebate_programs p
    LEFT JOIN rebate_closes c ON c.merchant_id = p.merchant_id AND c.program_id = p.id AND c.period_key = (
      SELECT x.period_key FROM rebate_closes x WHERE x.merchant_id = p.merchant_id AND x.program_id = p.id
        AND x.status = 'closed' ORDER BY ${endMonthSql("x.period_key")} DESC, x.period_key DESC LIMIT 1)
    WHERE p.merchant_id = ${merchantId} ORDER BY p.id`;
}

export interface ProgramClose {
  id: string;
  name: string;
  period: RebatePeriod;
  lastKey: string | null;
  lastPool: number | null;
  lastTotal: number | null;
}

/** The key of the period an instant falls in (`2026`, `2026-Q2`, `2026-05`), locally. */
export function openPeriodKey(kind: RebatePeriod, at: number, timezone: string): string {
  const d = localDate(at, timezone);
  if (kind === "year") return String(d.year);
  if (kind === "quarter") return `${d.year}-Q${Math.ceil(d.month / 3)}`;
  return `${d.year}-${String(d.month).padStart(2, "0")}`;
}

/**
 * @param monthSpend the member's net spend by month key (`m2026-05`), covering the last 12 months
 * @returns the estimate in minor units with its detail, or null when no program gives a basis
 */
export function rebateAccrued(
  programs: readonly ProgramClose[],
  monthSpend: ReadonlyMap<string, number>,
  at: number,
  timezone: string,
  currency: string,
): { value: number; detail: string } | null {
  const parts = programs.flatMap((p) => {
    if (!p.lastKey || !p.lastPool || !p.lastTotal) return [];
    const key = openPeriodKey(p.period, at, timezone);
    const range = parsePeriodKey(key);
    if (!range || key === p.lastKey) return [];
    let spend = 0;
    for (const [month, amount] of monthSpend) if (month >= range.firstMonth && month <= range.lastMonth) spend += amount;
    if (spend <= 0) return [];
    const value = mulDiv(spend, p.lastPool, p.lastTotal);
    return [
      {
        value,
        text: `${p.name} ${key}: ${money(spend, currency)} spent so far at ${p.lastKey}'s pool of ${money(p.lastPool, currency)} over ${money(p.lastTotal, currency)} spent`,
      },
    ];
  });
  if (parts.length === 0) return null;
  return {
    value: parts.reduce((sum, x) => sum + x.value, 0),
    detail: `Estimated share of open rebate periods: ${parts.map((x) => x.text).join("; ")}.`,
  };
}

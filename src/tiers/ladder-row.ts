/** Reading a merchant's ladder: one row with its tiers as JSON, batchable with other reads. */
import type { TierMetric } from "../db/enums";
import { type Sql, sql } from "../platform/d1/sql";
import type { Ladder } from "./ladder";

/** The ladder of a merchant given as an SQL expression (an id, or the merchant of the calling key). */
export function ladderQuery(merchant: Sql): Sql {
  return sql`SELECT l.metric, l.window_kind AS windowKind, l.window_days AS windowDays, l.grace_days AS graceDays,
      l.downgrade_steps AS downgradeSteps, l.upgrade_applies AS upgradeApplies, l.version,
      (SELECT json_group_array(json_object('id', t.id, 'name', t.name, 'threshold', t.threshold,
          'earnMultiplierBps', t.earn_multiplier_bps))
        FROM tiers t WHERE t.merchant_id = l.merchant_id) AS tiers
    FROM tier_ladders l WHERE l.merchant_id = ${merchant}`;
}

export interface LadderRow {
  metric: TierMetric;
  windowKind: "calendar_year" | "rolling_days";
  windowDays: number | null;
  graceDays: number;
  downgradeSteps: number;
  upgradeApplies: number | boolean;
  version: number;
  tiers: string;
}

export function ladderFromRow(row: LadderRow | undefined | null): Ladder | null {
  if (!row) return null;
  const tiers = (JSON.parse(row.tiers) as Ladder["tiers"]).sort((a, b) => a.threshold - b.threshold);
  if (tiers.length === 0) return null;
  return {
    metric: row.metric,
    window: row.windowKind === "rolling_days" ? { kind: "rolling_days", days: row.windowDays ?? 365 } : { kind: "calendar_year" },
    tiers,
    graceDays: row.graceDays,
    downgradeSteps: row.downgradeSteps,
    upgradeAppliesToQualifyingOrder: Boolean(row.upgradeApplies),
    version: row.version,
  };
}

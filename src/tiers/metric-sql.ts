/**
 * SQL fragments over a member row: the tier metric kept on it, and ranks as CASE expressions built from
 * the ladder, so placement is decided inside the write transaction from the row's state at that moment.
 *
 * The cached metric obeys one invariant: members.tier_<metric> == sum of the member's member_periods day
 * rows from tier_window_start on. Moving the start to another day therefore adds or subtracts only the
 * day rows in between (rows that slid out of the window since the member's last order), never the history.
 */
import { DAY_KEYS_END } from "../activity/periods";
import type { TierMetric } from "../db/enums";
import { type Sql, sql } from "../platform/d1/sql";
import { type Ladder, METRIC_COLUMNS } from "./ladder";

/** Sum of one column of a member's day rows in [from, to). `m` is the alias of the members row. */
function daySum(m: string, column: string, from: Sql, to: Sql): Sql {
  return sql`(SELECT COALESCE(SUM(p.${sql.raw(column)}), 0) FROM member_periods p
    WHERE p.merchant_id = ${sql.raw(m)}.merchant_id AND p.member_id = ${sql.raw(m)}.id
      AND p.period >= ${from} AND p.period < ${to})`;
}

/** The member's metric over the window starting at `startKey`, from the cache and the rows in between. */
export function metricFromSql(m: string, metric: TierMetric, startKey: string): Sql {
  const { period, member } = METRIC_COLUMNS[metric];
  const ws = sql.raw(`${m}.tier_window_start`);
  const cache = sql.raw(`${m}.${member}`);
  return sql`(CASE WHEN ${ws} IS NULL THEN ${daySum(m, period, sql`${startKey}`, sql`${DAY_KEYS_END}`)}
    WHEN ${ws} <= ${startKey} THEN ${cache} - ${daySum(m, period, ws, sql`${startKey}`)}
    ELSE ${cache} + ${daySum(m, period, sql`${startKey}`, ws)} END)`;
}

/** SET list moving every cached metric of `members` to the window starting at `startKey`. */
export function slideSetSql(startKey: string): Sql {
  const sets = (Object.keys(METRIC_COLUMNS) as TierMetric[]).map(
    (metric) => sql`${sql.raw(METRIC_COLUMNS[metric].member)} = ${metricFromSql("members", metric, startKey)}`,
  );
  return sql`${sql.join(sets, sql`, `)}, tier_window_start = ${startKey}`;
}

/** Rank reached by a metric value: the highest tier whose threshold it meets. */
export function rankForValueSql(ladder: Ladder, value: Sql): Sql {
  const whens = ladder.tiers
    .map((tier, rank) => ({ tier, rank }))
    .filter(({ rank }) => rank > 0)
    .reverse()
    .map(({ tier, rank }) => sql` WHEN ${value} >= ${tier.threshold} THEN ${rank}`);
  // A one-tier ladder has no WHEN, and `CASE ELSE` is not SQL.
  return whens.length === 0 ? sql`0` : sql`(CASE${sql.join(whens, sql``)} ELSE 0 END)`;
}

/** Rank of a tier id column: unknown ids and null are the lowest tier (rank 0). */
export function rankOfTierSql(ladder: Ladder, column: Sql): Sql {
  const whens = ladder.tiers.map((tier, rank) => sql` WHEN ${tier.id} THEN ${rank}`);
  return sql`(CASE ${column}${sql.join(whens, sql``)} ELSE 0 END)`;
}

/** Tier id at a rank expression. */
export function tierIdAtSql(ladder: Ladder, rank: Sql): Sql {
  const whens = ladder.tiers.map((tier, i) => sql` WHEN ${i} THEN ${tier.id}`);
  return sql`(CASE ${rank}${sql.join(whens, sql``)} END)`;
}

/**
 * Tier work over many members, one chunk at a time: re-placing members under a changed ladder, and
 * reviewing lapsed statuses and ended manual tiers. Each chunk reads the members due (by state, never a
 * cursor), decides with the pure functions of placement.ts, and writes one batch in which every member's
 * change is conditional on the state it was decided from: a chunk that is repeated, overlaps another run,
 * or races an order changes nothing twice, and an interrupted run is resumed by running again.
 */
import { DAY_KEYS_END } from "../activity/periods";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { newId } from "../platform/ids";
import { type Ladder, reviewCutoff, windowEndingAt, windowStartInstant, windowStartKey } from "./ladder";
import { metricFromSql } from "./metric-sql";
import { ladderPlacement, type MemberTierRow, type Placement, reviewPlacement, type WindowValues } from "./placement";

export interface TierChunk {
  db: D1Database;
  merchantId: string;
  timezone: string;
  ladder: Ladder;
  at: number;
  limit: number;
}

export interface ChunkOutcome {
  processed: number;
  changed: number;
  more: boolean;
}

interface DueRow extends MemberTierRow {
  windowStart: string | null;
  cache: number;
  current: number;
}

const METRIC_CACHE = { spend: "tier_spend", points: "tier_points", orders: "tier_orders" } as const;

/**
 * Members matching `due`, with their stored state and the metric over today's window; with `held`, what their
 * status proves (re-placement and its preview; a review judges lapsed statuses only).
 */
async function readDue(chunk: TierChunk, due: Sql, order: Sql, held = false): Promise<DueRow[]> {
  const startKey = windowStartKey(chunk.ladder, chunk.at, chunk.timezone);
  const { results } = await prepare(
    chunk.db,
    sql`SELECT m.id, m.tier_id AS tierId, m.tier_qualified_until AS qualifiedUntil, m.tier_manual AS manual,
        m.tier_manual_until AS manualUntil, m.tier_version AS version, m.tier_window_start AS windowStart,
        m.${sql.raw(METRIC_CACHE[chunk.ladder.metric])} AS cache,
        ${metricFromSql("m", chunk.ladder.metric, startKey)} AS current,
        ${held ? heldThresholdSql(chunk.ladder) : sql`NULL`} AS heldThreshold
      FROM members m WHERE m.merchant_id = ${chunk.merchantId} AND ${due} ORDER BY ${order} LIMIT ${chunk.limit}`,
  ).all<Omit<DueRow, "manual"> & { manual: number }>();
  return results.map((r) => ({ ...r, manual: Boolean(r.manual) }));
}

/**
 * The threshold of the member's tier under the ladder version that placed it, when that version measured the
 * same metric (null otherwise): what a status that still holds proves the member reached.
 */
function heldThresholdSql(ladder: Ladder): Sql {
  return sql`(SELECT j.value FROM tier_ladder_versions v, json_each(v.thresholds) j
    WHERE v.merchant_id = m.merchant_id AND v.version = m.tier_version AND v.metric = ${ladder.metric} AND j.key = m.tier_id)`;
}

/** The metric of each member over its own earlier window [from, to). */
async function readEarlier(chunk: TierChunk, ranges: { id: string; from: string; to: string }[]): Promise<Map<string, number>> {
  if (ranges.length === 0) return new Map();
  const column = sql.raw(chunk.ladder.metric);
  const { results } = await prepare(
    chunk.db,
    sql`SELECT json_extract(j.value, '$.id') AS id, (SELECT COALESCE(SUM(p.${column}), 0) FROM member_periods p
        WHERE p.merchant_id = ${chunk.merchantId} AND p.member_id = json_extract(j.value, '$.id')
          AND p.period >= json_extract(j.value, '$.from') AND p.period < json_extract(j.value, '$.to')
          AND p.period < ${DAY_KEYS_END}) AS value
      FROM json_each(${JSON.stringify(ranges)}) j`,
  ).all<{ id: string; value: number }>();
  return new Map(results.map((r) => [r.id, r.value]));
}

/** One member's placement, written only if the member is still as it was read. */
function placementSql(chunk: TierChunk, row: DueRow, placement: Placement): { history: Sql | null; update: Sql } {
  const key = sql`merchant_id = ${chunk.merchantId} AND id = ${row.id}`;
  const unchanged = sql`${key} AND tier_id IS ${row.tierId} AND tier_qualified_until IS ${row.qualifiedUntil}
    AND tier_manual = ${row.manual} AND tier_manual_until IS ${row.manualUntil} AND tier_version = ${row.version}
    AND tier_window_start IS ${row.windowStart} AND ${sql.raw(METRIC_CACHE[chunk.ladder.metric])} = ${row.cache}`;
  const history = placement.change
    ? sql`INSERT INTO tier_history (id, merchant_id, member_id, from_tier, to_tier, reason, detail, at)
        SELECT ${newId("th", chunk.at)}, merchant_id, id, tier_id, ${placement.toTier}, ${placement.change.reason},
          ${placement.change.detail}, ${chunk.at}
        FROM members WHERE ${unchanged}`
    : null;
  const update = sql`UPDATE members SET tier_id = ${placement.toTier}, tier_qualified_until = ${placement.qualifiedUntil},
      tier_manual = ${placement.manual}, tier_manual_until = ${placement.manualUntil}, tier_version = ${chunk.ladder.version}
    WHERE ${unchanged}`;
  return { history, update };
}

/** Writes a chunk's placements in one batch; counts members written (processed) and moved (changed). */
async function writePlacements(
  chunk: TierChunk,
  decided: { row: DueRow; placement: Placement }[],
  more = decided.length === chunk.limit,
): Promise<ChunkOutcome> {
  if (decided.length === 0) return { processed: 0, changed: 0, more: false };
  const writes = decided.map(({ row, placement }) => placementSql(chunk, row, placement));
  const histories = writes.flatMap((w) => (w.history ? [w.history] : []));
  const statements = [...histories, ...writes.map((w) => w.update)];
  const results = await chunk.db.batch(statements.map((s) => prepare(chunk.db, s)));
  const changes = (from: number, to: number) => results.slice(from, to).reduce((sum, r) => sum + r.meta.changes, 0);
  return {
    changed: changes(0, histories.length),
    processed: changes(histories.length, results.length),
    more,
  };
}

/** Members (aliased `m`) placed under an older version of the ladder (index members_tier_version). */
export const unplaced = (ladder: Ladder): Sql => sql`m.tier_version < ${ladder.version}`;

/** Re-places members not yet placed under the ladder's current version. */
export async function placementChunk(chunk: TierChunk): Promise<ChunkOutcome> {
  const rows = await readDue(chunk, unplaced(chunk.ladder), sql.raw("m.tier_version"), true);
  const earlier = windowEndingAt(chunk.ladder, startOf(chunk), chunk.timezone);
  const values = await readEarlier(
    chunk,
    rows.map((r) => ({ id: r.id, ...earlier })),
  );
  const decided = rows.map((row) => ({
    row,
    placement: ladderPlacement(chunk.ladder, row, valuesOf(row, values), chunk.at, chunk.timezone),
  }));
  return writePlacements(chunk, decided);
}

/** Reviews members whose status lapsed (plus grace) and members whose manual tier ended. */
export async function reviewChunk(chunk: TierChunk): Promise<ChunkOutcome> {
  const cutoff = reviewCutoff(chunk.ladder, chunk.at, chunk.timezone);
  // Two reads, each along its own index in order, so a chunk reads the members it reviews and few others.
  const lapsed = await readDue(
    chunk,
    sql`m.tier_qualified_until IS NOT NULL AND m.tier_qualified_until <= ${cutoff} AND m.tier_manual = 0`,
    sql.raw("m.tier_qualified_until"),
  );
  const ended = await readDue(
    chunk,
    sql`m.tier_manual_until IS NOT NULL AND m.tier_manual_until <= ${chunk.at} AND m.tier_manual = 1`,
    sql.raw("m.tier_manual_until"),
  );
  const rows = [...lapsed, ...ended];
  // A lapsed status is judged on the window that ended when it lapsed; an ended manual tier on the last one.
  const ranges = rows.map((r) => ({
    id: r.id,
    ...windowEndingAt(chunk.ladder, r.manual || r.qualifiedUntil === null ? startOf(chunk) : r.qualifiedUntil, chunk.timezone),
  }));
  const values = await readEarlier(chunk, ranges);
  const decided = rows.map((row) => ({
    row,
    placement: reviewPlacement(chunk.ladder, row, valuesOf(row, values), chunk.at, chunk.timezone),
  }));
  return writePlacements(chunk, decided, lapsed.length === chunk.limit || ended.length === chunk.limit);
}

/** The instant today's window starts (the previous window ends there). */
function startOf(chunk: TierChunk): number {
  return windowStartInstant(chunk.ladder, chunk.at, chunk.timezone);
}

function valuesOf(row: DueRow, earlier: Map<string, number>): WindowValues {
  return { current: row.current, previous: earlier.get(row.id) ?? 0 };
}

/** A page of members (by id, after `afterId`) with where the ladder would place them, writing nothing. */
export async function previewPage(chunk: TierChunk, afterId: string): Promise<{ row: MemberTierRow; placement: Placement }[]> {
  const rows = await readDue(chunk, sql`m.id > ${afterId}`, sql.raw("m.id"), true);
  const earlier = windowEndingAt(chunk.ladder, startOf(chunk), chunk.timezone);
  const values = await readEarlier(
    chunk,
    rows.map((r) => ({ id: r.id, ...earlier })),
  );
  return rows.map((row) => ({
    row,
    placement: ladderPlacement(chunk.ladder, row, valuesOf(row, values), chunk.at, chunk.timezone),
  }));
}

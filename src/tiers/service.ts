/**
 * Tier ladders and member tier status: the ladder (read, replace, preview), a member's status and history,
 * and manual assignment. Placement over many members runs in chunks (chunks.ts), inline for the first few
 * after a ladder change and then by the tier-review job.
 */
import { bumpConfigSql } from "../earning/config-version";
import { toIso } from "../platform/clock";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { classifyBatchError } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { newId } from "../platform/ids";
import { forgetMemberState } from "../platform/member-state";
import { decodeCursor, isNumber, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { RaceError, retryOnRace } from "../platform/write";
import { placementChunk, unplaced } from "./chunks";
import { type Ladder, windowStartKey } from "./ladder";
import { type LadderRow, ladderFromRow, ladderQuery } from "./ladder-row";
import { ladderBody, ladderFromInput, samePlacementRules } from "./ladder-write";
import { memberTierBody } from "./member-tier";
import { metricFromSql } from "./metric-sql";
import type { LadderInput } from "./schemas";

/** Chunks of re-placement a ladder change runs before answering; the tier-review job does the rest. */
const INLINE_PLACEMENT_CHUNKS = 2;
const PLACEMENT_CHUNK = 200;

export async function loadLadder(scope: RequestScope): Promise<Ladder | null> {
  const row = await prepare(scope.db, ladderQuery(sql`${scope.merchant.id}`)).first<LadderRow>();
  return ladderFromRow(row);
}

async function requireLadder(scope: RequestScope): Promise<Ladder> {
  const ladder = await loadLadder(scope);
  if (!ladder) throw new ApiError("not_found", "The merchant has no tier ladder: PUT /v1/tiers defines one.");
  return ladder;
}

export async function readLadder(scope: RequestScope) {
  return ladderBody(await requireLadder(scope));
}

/**
 * Replaces the ladder. A change of thresholds, metric or window makes a new version and re-places every
 * member by it (in chunks, recording `ladder_change` history); names, multipliers and downgrade rules alone
 * apply at once without moving anyone (the review reads the downgrade rules on every run).
 */
export function replaceLadder(scope: RequestScope, input: LadderInput) {
  return retryOnRace(() => writeLadder(scope, input));
}

/**
 * One attempt: the version and whether to bump it come from the ladder read before the batch, so the batch
 * first checks that ladder is still the stored one (a concurrent change aborts it, and it is planned again).
 */
async function writeLadder(scope: RequestScope, input: LadderInput) {
  const { db, at } = scope;
  const merchantId = scope.merchant.id;
  const old = await loadLadder(scope);
  const bump = !samePlacementRules(old, ladderFromInput(input, 0));
  const version = (old?.version ?? 0) + (bump ? 1 : 0);
  const ladder = ladderFromInput(input, version);
  const window = ladder.window.kind === "rolling_days" ? ladder.window.days : null;
  const tiers = JSON.stringify(ladder.tiers.map((t, i) => ({ ...t, position: i })));
  const stored = sql`COALESCE((SELECT version FROM tier_ladders WHERE merchant_id = ${merchantId}), 0)`;
  await db
    .batch([
      prepare(db, guardSql(GUARD.conflict, sql`${stored} <> ${old?.version ?? 0}`)),
      prepare(
        db,
        sql`INSERT INTO tier_ladders (merchant_id, metric, window_kind, window_days, grace_days, downgrade_steps,
          upgrade_applies, version, updated_at)
        VALUES (${merchantId}, ${ladder.metric}, ${ladder.window.kind}, ${window}, ${ladder.graceDays}, ${ladder.downgradeSteps},
          ${ladder.upgradeAppliesToQualifyingOrder}, ${version}, ${at})
        ON CONFLICT (merchant_id) DO UPDATE SET metric = excluded.metric, window_kind = excluded.window_kind,
          window_days = excluded.window_days, grace_days = excluded.grace_days, downgrade_steps = excluded.downgrade_steps,
          upgrade_applies = excluded.upgrade_applies, version = excluded.version,
          updated_at = excluded.updated_at`,
      ),
      // What this version places by, kept for the re-placement of a later one (a same version keeps its row).
      prepare(
        db,
        sql`INSERT INTO tier_ladder_versions (merchant_id, version, metric, thresholds, created_at)
        VALUES (${merchantId}, ${version}, ${ladder.metric}, ${JSON.stringify(Object.fromEntries(ladder.tiers.map((t) => [t.id, t.threshold])))}, ${at})
        ON CONFLICT (merchant_id, version) DO NOTHING`,
      ),
      prepare(db, sql`DELETE FROM tiers WHERE merchant_id = ${merchantId}`),
      prepare(
        db,
        sql`INSERT INTO tiers (merchant_id, id, name, threshold, earn_multiplier_bps, position)
        SELECT ${merchantId}, json_extract(value, '$.id'), json_extract(value, '$.name'), json_extract(value, '$.threshold'),
          json_extract(value, '$.earnMultiplierBps'), json_extract(value, '$.position') FROM json_each(${tiers})`,
      ),
      prepare(db, bumpConfigSql(merchantId)),
    ])
    .catch((error: unknown) => {
      const failure = classifyBatchError(error);
      if (failure.kind === "guard" && failure.reason === GUARD.conflict)
        throw new RaceError("The tier ladder was changed at the same moment; send it again.");
      throw error;
    });
  const placement = bump ? await placeSome(scope, ladder) : { placed: 0, remaining: 0 };
  return { ...ladderBody(ladder), placement };
}

/** Runs the first chunks of re-placement now, so small programs see the new ladder applied at once. */
async function placeSome(scope: RequestScope, ladder: Ladder) {
  const chunk = { db: scope.db, merchantId: scope.merchant.id, timezone: scope.merchant.timezone, ladder, at: scope.at };
  let placed = 0;
  for (let i = 0; i < INLINE_PLACEMENT_CHUNKS; i++) {
    const outcome = await placementChunk({ ...chunk, limit: PLACEMENT_CHUNK });
    placed += outcome.processed;
    if (!outcome.more) break;
  }
  const left = await prepare(
    scope.db,
    sql`SELECT COUNT(*) AS n FROM members m WHERE m.merchant_id = ${scope.merchant.id} AND ${unplaced(ladder)}`,
  ).first<{ n: number }>();
  return { placed, remaining: left?.n ?? 0 };
}

/** The member's tier columns and the metric over today's window (one row and the day rows slid out). */
async function readMemberTier(scope: RequestScope, ladder: Ladder, memberId: string) {
  const startKey = windowStartKey(ladder, scope.at, scope.merchant.timezone);
  const row = await prepare(
    scope.db,
    sql`SELECT m.tier_id AS tierId, m.tier_qualified_until AS qualifiedUntil, m.tier_manual AS manual,
        m.tier_manual_until AS manualUntil, ${metricFromSql("m", ladder.metric, startKey)} AS value
      FROM members m WHERE m.merchant_id = ${scope.merchant.id} AND m.id = ${memberId}`,
  ).first<{ tierId: string | null; qualifiedUntil: number | null; manual: number; manualUntil: number | null; value: number }>();
  if (!row) throw notFound(`Member ${memberId}`);
  return { ...row, manual: Boolean(row.manual), memberId, windowStartKey: startKey };
}

export async function memberTier(scope: RequestScope, memberId: string) {
  const ladder = await requireLadder(scope);
  return memberTierBody(ladder, await readMemberTier(scope, ladder, memberId));
}

type HistoryCursor = [number, string];
const isHistoryCursor = (v: unknown): v is HistoryCursor => Array.isArray(v) && isNumber(v[0]) && isString(v[1]);

/** A member's tier changes, newest first. */
export async function tierHistory(scope: RequestScope, memberId: string, limit: number, cursor?: string) {
  const merchantId = scope.merchant.id;
  const exists = await prepare(
    scope.db,
    sql`SELECT 1 AS found FROM members WHERE merchant_id = ${merchantId} AND id = ${memberId}`,
  ).first();
  if (!exists) throw notFound(`Member ${memberId}`);
  const after: Sql = cursor
    ? (([at, id]) => sql`AND (at < ${at} OR (at = ${at} AND id < ${id}))`)(decodeCursor(cursor, isHistoryCursor))
    : sql``;
  const { results } = await prepare(
    scope.db,
    sql`SELECT id, from_tier AS "from", to_tier AS "to", reason, at, detail FROM tier_history
      WHERE merchant_id = ${merchantId} AND member_id = ${memberId} ${after} ORDER BY at DESC, id DESC LIMIT ${limit + 1}`,
  ).all<{ id: string; from: string | null; to: string; reason: "upgrade"; at: number; detail: string }>();
  const listed = page(results, limit, (last) => [last.at, last.id]);
  return { ...listed, data: listed.data.map(({ id: _id, at, ...change }) => ({ ...change, at: toIso(at) })) };
}

/** Guard reason: a manual tier's id left the ladder between the check and the write. */
const TIER_LEFT_LADDER = "tier_left_ladder";

/**
 * Assigns a tier by hand, with a reason and an optional end. While it holds, orders still move the member
 * up when the metric reaches higher; when it ends, the review returns the member to what the metric earns.
 */
export async function assignTier(
  scope: RequestScope,
  memberId: string,
  input: { tierId: string; reason: string; until?: string | null },
) {
  const ladder = await requireLadder(scope);
  if (!ladder.tiers.some((t) => t.id === input.tierId))
    throw new ApiError("unprocessable", `Tier ${input.tierId} is not in the ladder.`, [
      { path: "tierId", message: "is not a tier of the ladder" },
    ]);
  const until = input.until ? Date.parse(input.until) : null;
  if (until !== null && until <= scope.at)
    throw new ApiError("unprocessable", "until is not in the future.", [{ path: "until", message: "must be in the future" }]);
  const key = sql`merchant_id = ${scope.merchant.id} AND id = ${memberId}`;
  const detail = until === null ? input.reason : `${input.reason} (until ${toIso(until)})`;
  forgetMemberState(scope.merchant.id, memberId);
  // The tier was checked against the ladder as read: a ladder change landing meanwhile must not leave the
  // member on a tier id the ladder no longer has, so the batch checks it again.
  const inLadder = sql`EXISTS (SELECT 1 FROM tiers WHERE merchant_id = ${scope.merchant.id} AND id = ${input.tierId})`;
  let updated: D1Result | undefined;
  try {
    [, , updated] = await scope.db.batch([
      prepare(scope.db, guardSql(TIER_LEFT_LADDER, sql`NOT ${inLadder}`)),
      prepare(
        scope.db,
        sql`INSERT INTO tier_history (id, merchant_id, member_id, from_tier, to_tier, reason, detail, at)
          SELECT ${newId("th", scope.at)}, merchant_id, id, tier_id, ${input.tierId}, 'manual', ${detail}, ${scope.at}
          FROM members WHERE ${key}`,
      ),
      prepare(
        scope.db,
        sql`UPDATE members SET tier_id = ${input.tierId}, tier_manual = 1, tier_manual_until = ${until} WHERE ${key}`,
      ),
    ]);
  } catch (error) {
    const failure = classifyBatchError(error);
    if (failure.kind === "guard" && failure.reason === TIER_LEFT_LADDER)
      throw new ApiError("conflict", `Tier ${input.tierId} left the ladder while it was being assigned; read the ladder again.`);
    throw error;
  }
  if (!updated?.meta.changes) throw notFound(`Member ${memberId}`);
  return memberTierBody(ladder, await readMemberTier(scope, ladder, memberId));
}

/** All of the earning rules' D1 access: admin CRUD through drizzle, simulation through the checkout context. */
import { and, asc, desc, eq, gt, lt } from "drizzle-orm";
import { rules, ruleVersions } from "../db/schema";
import { assertEarnable, checkOrder, loadCheckoutContext } from "../earning/checkout-context";
import { bumpConfigSql } from "../earning/config-version";
import { MAX_ACTIVE_RULES } from "../earning/limits";
import { type RuleRow, ruleFromRow } from "../earning/rule-row";
import { compileRules, type RuleSet } from "../earning/rule-set";
import type { Rule } from "../earning/types";
import { toIso, toIsoOrNull } from "../platform/clock";
import { guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { batchRefusing } from "../platform/db";
import { ApiError, notFound } from "../platform/errors";
import { decodeCursor, isNumber, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { MAX_UNITS } from "../platform/validation";
import type { Ladder } from "../tiers/ladder";
import { type LadderRow, ladderFromRow, ladderQuery } from "../tiers/ladder-row";
import { lintRule, type RuleWarning } from "./lint";
import {
  emptyTotals,
  memberLimitRules,
  memberUsageStart,
  type ReplayPosition,
  type ReplayTotals,
  rebuildMemberUsage,
  replayCost,
  replayOrder,
  summarizeReplay,
} from "./replay";
import { decodeReplayCursor, encodeReplayCursor, replayDigest } from "./replay-cursor";
import { type ReplayRow, replayChunkSql, replayEntry, replayHistorySql } from "./replay-read";
import {
  MAX_REPLAY_ORDERS,
  MAX_REPLAY_WORK,
  REPLAY_CHUNK,
  type ReplayInput,
  type RuleCreate,
  type RuleReplace,
  type SimulateInput,
} from "./schemas";
import { draftRule, mergeDrafts, simulateEvaluation } from "./simulate";
import { versionBody } from "./versions";

/** A rule row as the API shows it. */
export function ruleBody(row: RuleRow) {
  const rule = ruleFromRow(row);
  return {
    ...rule,
    version: row.version,
    startsAt: toIsoOrNull(rule.startsAt),
    endsAt: toIsoOrNull(rule.endsAt),
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}

type RuleValues = Omit<RuleRow, "version">;

function toRow(scope: RequestScope, id: string, input: RuleReplace): RuleValues {
  const { version: _none, ...rule } = draftRule({ ...input, id });
  return {
    merchantId: scope.merchant.id,
    ...rule,
    conditions: JSON.stringify(input.conditions),
    effect: JSON.stringify(input.effect),
    limits: input.limits ? JSON.stringify(input.limits) : null,
    createdAt: scope.at,
    updatedAt: scope.at,
  };
}

/** Why a rule's write batch aborted: it would leave more than MAX_ACTIVE_RULES rules active. */
const TOO_MANY_ACTIVE = "too_many_active_rules";

/** 422 naming `active`: every checkout reads and evaluates all active rules, bounded by the same constant. */
function tooManyActive(): ApiError {
  return new ApiError("unprocessable", `A merchant has at most ${MAX_ACTIVE_RULES} active rules.`, [
    { path: "active", message: `at most ${MAX_ACTIVE_RULES} rules may be active; deactivate or delete one first` },
  ]);
}

/**
 * Aborts the batch when, with its write, the merchant has more than MAX_ACTIVE_RULES active rules. Counted
 * inside the batch: a count read before it would let two concurrent activations both pass.
 */
function activeRoomGuard(merchantId: string): Sql {
  return guardSql(
    TOO_MANY_ACTIVE,
    sql`(SELECT COUNT(*) FROM rules WHERE merchant_id = ${merchantId} AND active = 1) > ${MAX_ACTIVE_RULES}`,
  );
}

const RULE_COLUMNS = sql.raw(`merchant_id AS merchantId, id, name, active, priority, starts_at AS startsAt,
  ends_at AS endsAt, conditions, effect, exclusive, limits, version, created_at AS createdAt, updated_at AS updatedAt`);

/** The rule's definition as a version stores it (with the rule's createdAt added by SQL). */
function definitionJson(row: RuleValues): string {
  const { createdAt: _c, updatedAt: _u, version: _v, ...definition } = ruleBody({ ...row, version: 0 });
  return JSON.stringify(definition);
}

/**
 * Writes a rule and its new version in one batch: the version follows the highest one ever recorded (a
 * deleted and recreated rule continues its history), and the merchant's configuration version is bumped.
 * `replace` false leaves an existing rule alone (saved is then undefined). An active rule that would make more
 * than MAX_ACTIVE_RULES active aborts the batch (422 naming `active`).
 */
async function saveRule(scope: RequestScope, row: RuleValues, replace: boolean) {
  const key = sql`merchant_id = ${row.merchantId} AND id = ${row.id}`;
  const nextVersion = sql`(SELECT COALESCE(MAX(version), 0) + 1 FROM rule_versions
    WHERE merchant_id = ${row.merchantId} AND rule_id = ${row.id})`;
  const onConflict = replace
    ? sql`DO UPDATE SET name = excluded.name, active = excluded.active, priority = excluded.priority,
        starts_at = excluded.starts_at, ends_at = excluded.ends_at, conditions = excluded.conditions,
        effect = excluded.effect, exclusive = excluded.exclusive, limits = excluded.limits,
        version = rules.version + 1, updated_at = excluded.updated_at`
    : sql`DO NOTHING`;
  const statements = [
    sql`SELECT 1 AS found FROM rules WHERE ${key}`,
    sql`INSERT INTO rules (merchant_id, id, name, active, priority, starts_at, ends_at, conditions, effect, exclusive,
        limits, version, created_at, updated_at)
      VALUES (${row.merchantId}, ${row.id}, ${row.name}, ${row.active}, ${row.priority}, ${row.startsAt}, ${row.endsAt},
        ${row.conditions}, ${row.effect}, ${row.exclusive}, ${row.limits}, ${nextVersion}, ${row.createdAt}, ${row.updatedAt})
      ON CONFLICT (merchant_id, id) ${onConflict} RETURNING ${RULE_COLUMNS}`,
    sql`INSERT INTO rule_versions (merchant_id, rule_id, version, body, created_at)
      SELECT merchant_id, id, version, json_set(${definitionJson(row)}, '$.createdAt', created_at), updated_at
      FROM rules WHERE ${key} AND changes() > 0`,
    bumpConfigSql(row.merchantId, sql`changes() > 0`),
    // Last: the statements above read changes() of the one before them.
    ...(row.active ? [activeRoomGuard(row.merchantId)] : []),
  ];
  const [existing, saved] = await batchRefusing(
    scope.db,
    statements.map((statement) => prepare(scope.db, statement)),
    TOO_MANY_ACTIVE,
    tooManyActive,
  );
  const rows = (saved?.results ?? []) as (RuleRow & { active: number | boolean; exclusive: number | boolean })[];
  const first = rows[0];
  return {
    saved: first ? { ...first, active: Boolean(first.active), exclusive: Boolean(first.exclusive) } : undefined,
    existed: (existing?.results.length ?? 0) > 0,
  };
}

async function hasVersions(scope: RequestScope, ruleId: string): Promise<boolean> {
  const [row] = await scope.orm
    .select({ version: ruleVersions.version })
    .from(ruleVersions)
    .where(and(eq(ruleVersions.merchantId, scope.merchant.id), eq(ruleVersions.ruleId, ruleId)))
    .limit(1);
  return row !== undefined;
}

/** Versions of a rule, newest first; 404 when the rule never existed for this merchant. */
export async function listVersions(scope: RequestScope, ruleId: string, query: { limit: number; cursor?: string | undefined }) {
  const before = query.cursor ? decodeCursor(query.cursor, isNumber) : undefined;
  const rows = await scope.orm
    .select()
    .from(ruleVersions)
    .where(
      and(
        eq(ruleVersions.merchantId, scope.merchant.id),
        eq(ruleVersions.ruleId, ruleId),
        before !== undefined ? lt(ruleVersions.version, before) : undefined,
      ),
    )
    .orderBy(desc(ruleVersions.version))
    .limit(query.limit + 1);
  // A cursor does not make a rule exist: an unknown (or another merchant's) rule is 404 on every page.
  if (rows.length === 0 && (before === undefined || !(await hasVersions(scope, ruleId)))) throw notFound(`Rule ${ruleId}`);
  const result = page(rows, query.limit, (last) => last.version);
  return { data: result.data.map(versionBody), nextCursor: result.nextCursor };
}

/** Warnings about a saved rule (rules/lint.ts); reads the live rules and the ladder only for first-order rules. */
async function warningsFor(scope: RequestScope, rule: Rule): Promise<RuleWarning[]> {
  if (rule.conditions.firstOrder !== true) return [];
  const merchantId = scope.merchant.id;
  const [live, top] = await scope.db.batch([
    prepare(
      scope.db,
      sql`SELECT ${RULE_COLUMNS} FROM rules WHERE merchant_id = ${merchantId} AND active = 1
        ORDER BY priority DESC, id LIMIT ${MAX_ACTIVE_RULES}`,
    ),
    prepare(scope.db, sql`SELECT MAX(earn_multiplier_bps) AS bps FROM tiers WHERE merchant_id = ${merchantId}`),
  ]);
  const rules = ((live?.results ?? []) as RuleRow[]).map(ruleFromRow);
  const bps = (top?.results[0] as { bps: number | null } | undefined)?.bps ?? 10_000;
  return lintRule(rule, rules, Math.max(bps, 10_000));
}

export async function createRule(scope: RequestScope, input: RuleCreate) {
  const { saved } = await saveRule(scope, toRow(scope, input.id, input), false);
  if (!saved) throw new ApiError("conflict", `A rule with id ${input.id} already exists; use PUT to replace it.`);
  return { ...ruleBody(saved), warnings: await warningsFor(scope, ruleFromRow(saved)) };
}

export async function listRules(scope: RequestScope, query: { limit: number; cursor?: string | undefined }) {
  const after = query.cursor ? decodeCursor(query.cursor, isString) : undefined;
  const rows = await scope.orm
    .select()
    .from(rules)
    .where(and(eq(rules.merchantId, scope.merchant.id), after ? gt(rules.id, after) : undefined))
    .orderBy(asc(rules.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (last) => last.id);
  return { data: result.data.map(ruleBody), nextCursor: result.nextCursor };
}

export async function getRule(scope: RequestScope, ruleId: string) {
  const row = await scope.orm.query.rules.findFirst({
    where: and(eq(rules.merchantId, scope.merchant.id), eq(rules.id, ruleId)),
  });
  if (!row) throw notFound(`Rule ${ruleId}`);
  return ruleBody(row);
}

/** Creates or replaces a rule; `created` tells which. */
export async function replaceRule(scope: RequestScope, ruleId: string, input: RuleReplace) {
  if (input.id !== undefined && input.id !== ruleId)
    throw new ApiError("invalid_request", "The body id must match the path.", [
      { path: "id", message: "must equal the ruleId in the path" },
    ]);
  const { saved, existed } = await saveRule(scope, toRow(scope, ruleId, input), true);
  if (!saved) throw new Error(`rule ${ruleId} was not saved`);
  return { body: { ...ruleBody(saved), warnings: await warningsFor(scope, ruleFromRow(saved)) }, created: !existed };
}

export async function deleteRule(scope: RequestScope, ruleId: string): Promise<void> {
  const merchantId = scope.merchant.id;
  const [deleted] = await scope.db.batch([
    prepare(scope.db, sql`DELETE FROM rules WHERE merchant_id = ${merchantId} AND id = ${ruleId} RETURNING id`),
    prepare(scope.db, bumpConfigSql(merchantId, sql`changes() > 0`)),
  ]);
  if (!deleted?.results.length) throw notFound(`Rule ${ruleId}`);
}

/** What an order would earn under the live rules plus drafts (or the drafts alone), as a quote would. Writes nothing. */
export async function simulateOrder(scope: RequestScope, input: SimulateInput) {
  const { order, rules: drafts = [], onlyDrafts = false } = input;
  const occurredAt = checkOrder(order, scope.merchant.currency, scope.at);
  const draftRules = drafts.map(draftRule);
  const ctx = await loadCheckoutContext(usageReadingScope(scope, draftRules), order);
  const { rules: evaluated, draftIds } = mergeDrafts(onlyDrafts ? [] : ctx.ruleSet.rules, draftRules);
  const result = simulateEvaluation(compileRules(evaluated), order, occurredAt, ctx, scope.merchant.timezone, scope.at);
  assertEarnable(result.pointsEarned);
  return {
    pointsEarned: result.pointsEarned,
    awards: result.awards,
    skipped: result.skipped,
    rules: result.outcomes.map((o) => ({ ...o, draft: draftIds.has(o.ruleId) })),
  };
}

/**
 * The scope to read the checkout context with. Through the isolate's cached configuration (when the request
 * came with a key hash, e.g. with an Idempotency-Key) the read skips limit usage while no live rule has
 * limits, but a limited draft needs it: a draft may replace a rule whose usage outlived its limits.
 */
function usageReadingScope(scope: RequestScope, drafts: readonly Rule[]): RequestScope {
  if (!drafts.some((rule) => rule.limits)) return scope;
  const { configKey: _cached, ...uncached } = scope;
  return uncached;
}

/** The replay's rules (the live ones unless onlyDrafts, with the drafts) compiled once, the ladder, and its digest. */
async function replaySetup(scope: RequestScope, input: ReplayInput) {
  const merchantId = scope.merchant.id;
  const [live, ladderRows] = await scope.db.batch([
    prepare(
      scope.db,
      sql`SELECT ${RULE_COLUMNS} FROM rules WHERE merchant_id = ${merchantId} AND active = 1
        ORDER BY priority DESC, id LIMIT ${MAX_ACTIVE_RULES}`,
    ),
    prepare(scope.db, ladderQuery(sql`${merchantId}`)),
  ]);
  const liveRules = ((live?.results ?? []) as RuleRow[]).map(ruleFromRow);
  return {
    rules: compileRules(mergeDrafts(input.onlyDrafts ? [] : liveRules, input.rules.map(draftRule)).rules),
    ladder: ladderFromRow(ladderRows?.results[0] as LadderRow | undefined),
    digest: await replayDigest(input, liveRules, scope.merchant.timezone),
  };
}

/**
 * What the stored orders of a range earned and would earn under draft rules, in chunks. Writes nothing. A call
 * resuming from a cursor starts from the budgets it carries, and rebuilds the per-member usage of each member
 * it meets from that member's orders the earlier calls replayed (replay.ts).
 */
export async function replayRules(scope: RequestScope, input: ReplayInput) {
  const { rules, ladder, digest } = await replaySetup(scope, input);
  const [from, to, timezone] = [Date.parse(input.from), Date.parse(input.to), scope.merchant.timezone];
  const resume = input.cursor ? decodeReplayCursor(input.cursor, digest, { from, to }, rules) : undefined;
  const totals = emptyTotals(resume?.budgets);
  const rebuild = resume ? memberHistory(scope, rules, ladder, from, resume.at) : null;
  let after = resume?.at;
  let more = true;
  let work = 0;
  chunks: while (more && totals.orders < MAX_REPLAY_ORDERS) {
    const rows = (await prepare(scope.db, replayChunkSql(scope.merchant.id, from, to, after)).all())
      .results as unknown as ReplayRow[];
    more = rows.length === REPLAY_CHUNK;
    work += rebuild ? await rebuild(totals, rows) : 0;
    for (const row of rows) {
      const entry = replayEntry(row, ladder);
      // Bounded CPU: stop before the order that would pass the budget (the first order always runs, so calls progress).
      work += replayCost(rules, entry);
      if (totals.orders > 0 && work > MAX_REPLAY_WORK) {
        more = true;
        break chunks;
      }
      assertReplayEarnable(row.id, replayOrder(totals, rules, entry, timezone));
      after = [row.occurredAt, row.id];
    }
  }
  return { ...summarizeReplay(totals), nextCursor: more && after ? encodeReplayCursor(digest, after, totals.budgets) : null };
}

/**
 * For a call resuming after `until`: rebuilds, once per member, the per-member usage the members of each chunk
 * had from the orders earlier calls replayed (null when no rule has a per-member limit: nothing to rebuild).
 * Returns the rebuild's evaluation work, which counts toward the call's bound.
 */
function memberHistory(scope: RequestScope, all: RuleSet, ladder: Ladder | null, from: number, until: ReplayPosition) {
  const rules = memberLimitRules(all);
  if (rules === null) return null;
  const start = memberUsageStart(rules, until[0], from, scope.merchant.timezone);
  const rebuilt = new Set<string>();
  return async (totals: ReplayTotals, chunk: readonly ReplayRow[]): Promise<number> => {
    const memberIds = [...new Set(chunk.map((row) => row.memberId))].filter((id) => !rebuilt.has(id));
    if (memberIds.length === 0) return 0;
    for (const id of memberIds) rebuilt.add(id);
    const read = replayHistorySql(scope.merchant.id, memberIds, start, until);
    const history = ((await prepare(scope.db, read).all()).results as unknown as ReplayRow[]).map((row) =>
      replayEntry(row, ladder),
    );
    rebuildMemberUsage(totals, rules, history, scope.merchant.timezone);
    return history.reduce((sum, entry) => sum + replayCost(rules, entry), 0);
  };
}

/** Like simulate and checkout: an order's points stay within MAX_UNITS, so the sums of a call stay exact integers. */
function assertReplayEarnable(orderId: string, points: number): void {
  if (points > MAX_UNITS)
    throw new ApiError("unprocessable", `Order ${orderId} would earn more than ${MAX_UNITS} points under the drafts.`, [
      { path: "rules", message: `would give an order more than ${MAX_UNITS} points` },
    ]);
}

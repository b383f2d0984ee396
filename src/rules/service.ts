/** All of the earning rules' D1 access: admin CRUD through drizzle, simulation through the checkout context. */
import { and, asc, count, desc, eq, gt, lt, ne } from "drizzle-orm";
import { rules, ruleVersions } from "../db/schema";
import { assertEarnable, checkOrder, loadCheckoutContext, NEW_MEMBER, tierFacts } from "../earning/checkout-context";
import { bumpConfigSql } from "../earning/config-version";
import { evaluateRules } from "../earning/evaluate";
import { MAX_ACTIVE_RULES } from "../earning/limits";
import { type RuleRow, ruleFromRow } from "../earning/rule-row";
import { compileRules } from "../earning/rule-set";
import type { OrderItem, Rule } from "../earning/types";
import { toIso, toIsoOrNull } from "../platform/clock";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { ApiError, notFound } from "../platform/errors";
import { decodeCursor, encodeCursor, isNumber, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import { MAX_UNITS } from "../platform/validation";
import type { Ladder } from "../tiers/ladder";
import { type LadderRow, ladderFromRow, ladderQuery } from "../tiers/ladder-row";
import { lintRule, type RuleWarning } from "./lint";
import { emptyTotals, type ReplayOrder, replayCost, replayOrder, summarizeReplay } from "./replay";
import {
  MAX_REPLAY_ORDERS,
  MAX_REPLAY_WORK,
  REPLAY_CHUNK,
  type ReplayInput,
  type RuleCreate,
  type RuleReplace,
  type SimulateInput,
} from "./schemas";
import { draftRule, mergeDrafts } from "./simulate";
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

/**
 * Refuses a rule that would make the merchant's active rules more than MAX_ACTIVE_RULES: every checkout
 * reads and evaluates all of them (the checkout's read is bounded by the same constant).
 */
async function assertActiveRoom(scope: RequestScope, ruleId: string, active: boolean): Promise<void> {
  if (!active) return;
  const [others] = await scope.orm
    .select({ n: count() })
    .from(rules)
    .where(and(eq(rules.merchantId, scope.merchant.id), eq(rules.active, true), ne(rules.id, ruleId)));
  if ((others?.n ?? 0) >= MAX_ACTIVE_RULES)
    throw new ApiError("unprocessable", `A merchant has at most ${MAX_ACTIVE_RULES} active rules.`, [
      { path: "active", message: `at most ${MAX_ACTIVE_RULES} rules may be active; deactivate or delete one first` },
    ]);
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
 * `replace` false leaves an existing rule alone (saved is then undefined).
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
  const [existing, saved] = await scope.db.batch([
    prepare(scope.db, sql`SELECT 1 AS found FROM rules WHERE ${key}`),
    prepare(
      scope.db,
      sql`INSERT INTO rules (merchant_id, id, name, active, priority, starts_at, ends_at, conditions, effect, exclusive,
          limits, version, created_at, updated_at)
        VALUES (${row.merchantId}, ${row.id}, ${row.name}, ${row.active}, ${row.priority}, ${row.startsAt}, ${row.endsAt},
          ${row.conditions}, ${row.effect}, ${row.exclusive}, ${row.limits}, ${nextVersion}, ${row.createdAt}, ${row.updatedAt})
        ON CONFLICT (merchant_id, id) ${onConflict} RETURNING ${RULE_COLUMNS}`,
    ),
    prepare(
      scope.db,
      sql`INSERT INTO rule_versions (merchant_id, rule_id, version, body, created_at)
        SELECT merchant_id, id, version, json_set(${definitionJson(row)}, '$.createdAt', created_at), updated_at
        FROM rules WHERE ${key} AND changes() > 0`,
    ),
    prepare(scope.db, bumpConfigSql(row.merchantId, sql`changes() > 0`)),
  ]);
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
      sql`SELECT ${RULE_COLUMNS} FROM rules WHERE merchant_id = ${merchantId} AND active = 1 LIMIT ${MAX_ACTIVE_RULES}`,
    ),
    prepare(scope.db, sql`SELECT MAX(earn_multiplier_bps) AS bps FROM tiers WHERE merchant_id = ${merchantId}`),
  ]);
  const rules = ((live?.results ?? []) as RuleRow[]).map(ruleFromRow);
  const bps = (top?.results[0] as { bps: number | null } | undefined)?.bps ?? 10_000;
  return lintRule(rule, rules, Math.max(bps, 10_000));
}

export async function createRule(scope: RequestScope, input: RuleCreate) {
  await assertActiveRoom(scope, input.id, input.active);
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
  await assertActiveRoom(scope, ruleId, input.active);
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

/** What an order would earn under the live rules plus drafts (or the drafts alone). Writes nothing. */
export async function simulateOrder(scope: RequestScope, input: SimulateInput) {
  const { order, rules: drafts = [], onlyDrafts = false } = input;
  const occurredAt = checkOrder(order, scope.merchant.currency, scope.at);
  const ctx = await loadCheckoutContext(scope, order);
  const { rules: evaluated, draftIds } = mergeDrafts(onlyDrafts ? [] : ctx.ruleSet.rules, drafts.map(draftRule));
  const result = evaluateRules(evaluated, { ...order, occurredAt }, ctx.member ?? NEW_MEMBER, scope.merchant.timezone);
  assertEarnable(result.pointsEarned);
  return {
    pointsEarned: result.pointsEarned,
    awards: result.awards,
    skipped: result.skipped,
    rules: result.outcomes.map((o) => ({ ...o, draft: draftIds.has(o.ruleId) })),
  };
}

interface ReplayRow {
  id: string;
  memberId: string;
  amount: number;
  currency: string;
  occurredAt: number;
  channel: string | null;
  items: string | null;
  awards: string;
  tierId: string | null;
  attributes: string | null;
  birthday: string | null;
  enrolledAt: number | null;
  previousOrders: number;
}

/**
 * One chunk of the range's orders in time order, each with its member as it is now and the count of its earlier
 * orders. The count is taken once per member in the chunk (before its first order there) and carried forward
 * by the member's position in the chunk, so a member with a long history costs one index range per chunk,
 * not one per order.
 */
function replayChunkSql(merchantId: string, from: number, to: number, after: [number, string] | undefined): Sql {
  const resume = after ? sql`AND (o.occurred_at, o.id) > (${after[0]}, ${after[1]})` : sql``;
  // Materialized, so each CTE runs once (inlined, the count ran again for every row of the chunk).
  return sql`WITH chunk AS MATERIALIZED (
      SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.member_id ORDER BY c.occurred_at, c.id) - 1 AS nth
      FROM (SELECT o.id, o.member_id, o.amount, o.currency, o.occurred_at, o.channel, o.items, o.awards FROM orders o
        WHERE o.merchant_id = ${merchantId} AND o.occurred_at >= ${from} AND o.occurred_at < ${to} ${resume}
        ORDER BY o.occurred_at, o.id LIMIT ${REPLAY_CHUNK}) c
    ), earlier AS MATERIALIZED (
      SELECT c.member_id, (SELECT COUNT(*) FROM orders p WHERE p.merchant_id = ${merchantId} AND p.member_id = c.member_id
        AND (p.occurred_at < c.occurred_at OR (p.occurred_at = c.occurred_at AND p.id < c.id))) AS n
      FROM chunk c WHERE c.nth = 0
    )
    SELECT c.id, c.member_id AS memberId, c.amount, c.currency, c.occurred_at AS occurredAt, c.channel, c.items, c.awards,
      m.tier_id AS tierId, m.attributes, m.birthday, m.enrolled_at AS enrolledAt, e.n + c.nth AS previousOrders
    FROM chunk c JOIN earlier e ON e.member_id = c.member_id
      LEFT JOIN members m ON m.merchant_id = ${merchantId} AND m.id = c.member_id
    ORDER BY c.occurred_at, c.id`;
}

function replayEntry(row: ReplayRow, ladder: Ladder | null): ReplayOrder {
  return {
    memberId: row.memberId,
    order: {
      amount: row.amount,
      currency: row.currency,
      occurredAt: row.occurredAt,
      ...(row.channel !== null && { channel: row.channel }),
      items: row.items ? (JSON.parse(row.items) as OrderItem[]) : [],
    },
    member: {
      ...tierFacts(ladder, row.tierId),
      previousOrders: row.previousOrders,
      attributes: row.attributes ? (JSON.parse(row.attributes) as Record<string, unknown>) : {},
      birthday: row.birthday,
      ...(row.enrolledAt !== null && { enrolledAt: row.enrolledAt }),
    },
    earned: JSON.parse(row.awards) as { ruleId: string; points: number }[],
  };
}

/** What the stored orders of a range earned and would earn under draft rules, in chunks. Writes nothing. */
export async function replayRules(scope: RequestScope, input: ReplayInput) {
  const merchantId = scope.merchant.id;
  const [live, ladderRows] = await scope.db.batch([
    prepare(
      scope.db,
      sql`SELECT ${RULE_COLUMNS} FROM rules WHERE merchant_id = ${merchantId} AND active = 1 LIMIT ${MAX_ACTIVE_RULES}`,
    ),
    prepare(scope.db, ladderQuery(sql`${merchantId}`)),
  ]);
  const liveRules = input.onlyDrafts ? [] : ((live?.results ?? []) as RuleRow[]).map(ruleFromRow);
  // Compiled once for the whole replay.
  const evaluated = compileRules(mergeDrafts(liveRules, input.rules.map(draftRule)).rules);
  const ladder = ladderFromRow(ladderRows?.results[0] as LadderRow | undefined);
  const totals = emptyTotals();
  let after = input.cursor ? decodeCursor(input.cursor, isReplayCursor) : undefined;
  let more = true;
  let work = 0;
  chunks: while (more && totals.orders < MAX_REPLAY_ORDERS) {
    const rows = (await prepare(scope.db, replayChunkSql(merchantId, Date.parse(input.from), Date.parse(input.to), after)).all())
      .results as unknown as ReplayRow[];
    more = rows.length === REPLAY_CHUNK;
    for (const row of rows) {
      const entry = replayEntry(row, ladder);
      // Bounded CPU: stop before the order that would pass the budget (the first order always runs, so calls progress).
      work += replayCost(evaluated, entry);
      if (totals.orders > 0 && work > MAX_REPLAY_WORK) {
        more = true;
        break chunks;
      }
      assertReplayEarnable(row.id, replayOrder(totals, evaluated, entry, scope.merchant.timezone));
      after = [row.occurredAt, row.id];
    }
  }
  return { ...summarizeReplay(totals), nextCursor: more && after ? encodeCursor(after) : null };
}

/** Like simulate and checkout: an order's points stay within MAX_UNITS, so the sums of a call stay exact integers. */
function assertReplayEarnable(orderId: string, points: number): void {
  if (points > MAX_UNITS)
    throw new ApiError("unprocessable", `Order ${orderId} would earn more than ${MAX_UNITS} points under the drafts.`, [
      { path: "rules", message: `would give an order more than ${MAX_UNITS} points` },
    ]);
}

const isReplayCursor = (v: unknown): v is [number, string] =>
  Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string";

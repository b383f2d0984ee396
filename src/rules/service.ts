/** All of the earning rules' D1 access: admin CRUD through drizzle, simulation through the checkout context. */
import { and, asc, count, eq, gt, ne } from "drizzle-orm";
import { rules } from "../db/schema";
import { assertEarnable, checkOrder, loadCheckoutContext, NEW_MEMBER } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import { MAX_ACTIVE_RULES } from "../earning/limits";
import { type RuleRow, ruleFromRow } from "../earning/rule-row";
import { toIso, toIsoOrNull } from "../platform/clock";
import { ApiError, notFound } from "../platform/errors";
import { decodeCursor, isString, page } from "../platform/pagination";
import type { RequestScope } from "../platform/scope";
import type { RuleCreate, RuleReplace, SimulateInput } from "./schemas";
import { draftRule, mergeDrafts } from "./simulate";

/** A rule row as the API shows it. */
export function ruleBody(row: RuleRow) {
  const rule = ruleFromRow(row);
  return {
    ...rule,
    startsAt: toIsoOrNull(rule.startsAt),
    endsAt: toIsoOrNull(rule.endsAt),
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}

function toRow(scope: RequestScope, id: string, input: RuleReplace): RuleRow {
  return {
    merchantId: scope.merchant.id,
    ...draftRule({ ...input, id }),
    conditions: JSON.stringify(input.conditions),
    effect: JSON.stringify(input.effect),
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

export async function createRule(scope: RequestScope, input: RuleCreate) {
  await assertActiveRoom(scope, input.id, input.active);
  const inserted = await scope.orm
    .insert(rules)
    .values(toRow(scope, input.id, input))
    .onConflictDoNothing()
    .returning();
  if (!inserted[0]) throw new ApiError("conflict", `A rule with id ${input.id} already exists; use PUT to replace it.`);
  return ruleBody(inserted[0]);
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
  const row = toRow(scope, ruleId, input);
  const existing = await scope.orm.query.rules.findFirst({
    columns: { createdAt: true },
    where: and(eq(rules.merchantId, scope.merchant.id), eq(rules.id, ruleId)),
  });
  const [saved] = await scope.orm
    .insert(rules)
    .values(row)
    .onConflictDoUpdate({ target: [rules.merchantId, rules.id], set: { ...row, createdAt: undefined } })
    .returning();
  if (!saved) throw new Error(`rule ${ruleId} was not saved`);
  return { body: ruleBody(saved), created: !existing };
}

export async function deleteRule(scope: RequestScope, ruleId: string): Promise<void> {
  const deleted = await scope.orm
    .delete(rules)
    .where(and(eq(rules.merchantId, scope.merchant.id), eq(rules.id, ruleId)))
    .returning({ id: rules.id });
  if (deleted.length === 0) throw notFound(`Rule ${ruleId}`);
}

/** What an order would earn under the live rules plus drafts (or the drafts alone). Writes nothing. */
export async function simulateOrder(scope: RequestScope, input: SimulateInput) {
  const { order, rules: drafts = [], onlyDrafts = false } = input;
  const occurredAt = checkOrder(order, scope.merchant.currency, scope.at);
  const ctx = await loadCheckoutContext(scope, order.memberId, order.orderId);
  const { rules: evaluated, draftIds } = mergeDrafts(onlyDrafts ? [] : ctx.rules, drafts.map(draftRule));
  const result = evaluateRules(evaluated, { ...order, occurredAt }, ctx.member ?? NEW_MEMBER, scope.merchant.timezone);
  assertEarnable(result.pointsEarned);
  return {
    pointsEarned: result.pointsEarned,
    awards: result.awards,
    rules: result.outcomes.map((o) => ({ ...o, draft: draftIds.has(o.ruleId) })),
  };
}

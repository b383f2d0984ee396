/**
 * Perks: definitions, a member's perks with progress (recording unlocks and lapses as they are observed),
 * uses with an atomic quota, and reversal of a use.
 */
import { LIFETIME_KEY } from "../activity/periods";
import { isoSql } from "../ledger/member-json";
import { toIso, toIsoOrNull } from "../platform/clock";
import { GUARD, guardSql } from "../platform/d1/guard";
import { prepare, type Sql, sql } from "../platform/d1/sql";
import { ApiError, notFound } from "../platform/errors";
import { type PlannedWrite, scopedWrite } from "../platform/idempotency";
import { newId } from "../platform/ids";
import type { RequestScope } from "../platform/scope";
import { RaceError } from "../platform/write";
import { MAX_PERK_WORTH, MAX_PERKS } from "./limits";
import { type PerkRow, perkBody, perkFromRow } from "./perk-row";
import { type MemberPerkContext, type MemberRecord, perksQuery, readMemberPerks } from "./reads";
import type { PerkInput } from "./schemas";
import { transitionSql } from "./statements";
import { perkTransitions, transitionState } from "./transitions";
import { type PerkDef, perkStatus, quotaPeriod } from "./unlock";

export async function listPerks(scope: RequestScope) {
  const { results } = await prepare(scope.db, perksQuery(scope.merchant.id)).all<PerkRow>();
  return { data: results.map((r) => perkBody(perkFromRow(r))) };
}

/**
 * Refuses a perk worth more than MAX_PERK_WORTH a period. Each bound alone (value, quota.uses) is fine; their
 * product is what a switching-cost statement adds up, over every perk, so it is bounded where it is set.
 */
function assertPerkWorth(input: PerkInput): void {
  const uses = input.quota?.uses ?? 1;
  if (input.value * uses <= MAX_PERK_WORTH) return;
  const message = `value x quota.uses must be at most ${MAX_PERK_WORTH}, is ${input.value * uses}`;
  throw new ApiError("unprocessable", `A perk may be worth at most ${MAX_PERK_WORTH} minor units a quota period.`, [
    { path: "value", message },
    { path: "quota.uses", message },
  ]);
}

/** Creates or replaces a perk; 201 when created. At most MAX_PERKS per merchant, each worth at most MAX_PERK_WORTH. */
export async function putPerk(scope: RequestScope, perkId: string, input: PerkInput) {
  assertPerkWorth(input);
  const { db, at } = scope;
  const merchantId = scope.merchant.id;
  const [existing, count] = await db.batch([
    prepare(db, sql`SELECT 1 AS found FROM perks WHERE merchant_id = ${merchantId} AND id = ${perkId}`),
    prepare(db, sql`SELECT COUNT(*) AS n FROM perks WHERE merchant_id = ${merchantId}`),
  ]);
  const created = !existing?.results.length;
  if (created && ((count?.results[0] as { n: number } | undefined)?.n ?? 0) >= MAX_PERKS)
    throw new ApiError("unprocessable", `A merchant has at most ${MAX_PERKS} perks.`, [
      { path: "perkId", message: "too many perks" },
    ]);
  const quota = input.quota ?? null;
  await prepare(
    db,
    sql`INSERT INTO perks (merchant_id, id, name, value, unlock, quota_uses, quota_per, lapse_after_days, created_at, updated_at)
      VALUES (${merchantId}, ${perkId}, ${input.name}, ${input.value}, ${JSON.stringify(input.unlock)}, ${quota?.uses ?? null},
        ${quota?.per ?? null}, ${input.lapseAfterInactiveDays ?? null}, ${at}, ${at})
      ON CONFLICT (merchant_id, id) DO UPDATE SET name = excluded.name, value = excluded.value, unlock = excluded.unlock,
        quota_uses = excluded.quota_uses, quota_per = excluded.quota_per, lapse_after_days = excluded.lapse_after_days,
        updated_at = excluded.updated_at`,
  ).run();
  const perk: PerkDef = {
    id: perkId,
    name: input.name,
    value: input.value,
    unlock: input.unlock,
    quota,
    lapseAfterInactiveDays: input.lapseAfterInactiveDays ?? null,
  };
  return { created, body: perkBody(perk) };
}

/** Each perk's status for the member, and the transitions to record since the stored state. */
function evaluate(scope: RequestScope, memberId: string, ctx: MemberPerkContext) {
  const { at } = scope;
  const tz = scope.merchant.timezone;
  const writes: Sql[] = [];
  const data = ctx.perks.map((perk) => {
    const stored = ctx.states.get(perk.id);
    const status = perkStatus(perk, ctx.facts, at, tz);
    // Each transition is written conditional on the state the one before it leaves.
    let state = stored;
    for (const transition of perkTransitions(stored, status, perk.lapseAfterInactiveDays, at)) {
      writes.push(...transitionSql(scope.merchant.id, memberId, perk.id, state, transition));
      state = transitionState(state, transition);
    }
    const usesLeft = perk.quota ? Math.max(0, perk.quota.uses - (ctx.used.get(perk.id) ?? 0)) : null;
    return {
      perk,
      body: {
        perkId: perk.id,
        name: perk.name,
        value: perk.value,
        unlocked: status.unlocked,
        lapsed: status.lapsed,
        lapsesAt: status.lapsed ? null : toIsoOrNull(status.lapseAt),
        progress: status.progress,
        usesLeft,
      },
    };
  });
  return { data, writes };
}

/** Every perk, unlocked or not, with progress; unlocks and lapses observed now are recorded. */
export async function memberPerks(scope: RequestScope, memberId: string) {
  const { data, writes } = evaluate(scope, memberId, (await readMemberPerks(scope, memberId)).context);
  if (writes.length) await scope.db.batch(writes.map((w) => prepare(scope.db, w)));
  return { data: data.map((d) => d.body) };
}

const useJson = (merchantId: string, useId: string, usesLeft: Sql) =>
  sql`SELECT json_object('id', u.id, 'perkId', u.perk_id, 'memberId', u.member_id, 'period', u.period,
      'usesLeft', ${usesLeft}, 'createdAt', ${sql.raw(isoSql("u.created_at"))},
      'reversedAt', NULL)
    FROM perk_uses u WHERE u.merchant_id = ${merchantId} AND u.id = ${useId}`;

/** Guard reason: the member's tier or activity moved after the use was decided. */
const FACTS_MOVED = "perk_facts_moved";

/**
 * Aborts the batch unless the member still has the tier and lifetime activity the unlock was decided on.
 * Every order and refund moves the lifetime row or the last order time, and every tier change moves tier_id,
 * so no condition (tier, lifetime spend, streak of months, lapse) can have stopped holding unseen.
 */
function factsHoldSql(merchantId: string, record: MemberRecord): Sql {
  return guardSql(
    FACTS_MOVED,
    sql`NOT EXISTS (SELECT 1 FROM members m WHERE m.merchant_id = ${merchantId} AND m.id = ${record.id}
      AND m.tier_id IS ${record.tierId} AND m.last_order_at IS ${record.lastOrderAt}
      AND COALESCE((SELECT spend FROM member_periods p WHERE p.merchant_id = m.merchant_id AND p.member_id = m.id
        AND p.period = ${LIFETIME_KEY}), 0) = ${record.lifetimeSpend}
      AND COALESCE((SELECT orders FROM member_periods p WHERE p.merchant_id = m.merchant_id AND p.member_id = m.id
        AND p.period = ${LIFETIME_KEY}), 0) = ${record.lifetimeOrders})`,
  );
}

/**
 * Aborts the batch unless the perk is still defined as the use was decided on: its unlock conditions, quota
 * and lapse. A definition replaced in between makes the use be decided again, under the new one.
 */
function definitionHoldsSql(merchantId: string, perk: PerkDef): Sql {
  return guardSql(
    FACTS_MOVED,
    sql`NOT EXISTS (SELECT 1 FROM perks WHERE merchant_id = ${merchantId} AND id = ${perk.id}
      AND unlock = ${JSON.stringify(perk.unlock)} AND quota_uses IS ${perk.quota?.uses ?? null}
      AND quota_per IS ${perk.quota?.per ?? null} AND lapse_after_days IS ${perk.lapseAfterInactiveDays})`,
  );
}

/**
 * One use of an unlocked perk. The quota is checked by the insert itself, inside the write transaction,
 * so parallel uses never exceed it; a locked perk or one used up is 409 and writes nothing. Whether the perk
 * is unlocked is decided from a read, and guards check in the batch that what it was decided on still
 * stands: an order, refund or tier change, or the perk's definition replaced, committed in between makes the
 * use be decided again.
 */
export async function planPerkUse(scope: RequestScope, memberId: string, perkId: string): Promise<PlannedWrite> {
  const { db, at } = scope;
  const merchantId = scope.merchant.id;
  const { context: ctx } = await readMemberPerks(scope, memberId);
  const entry = evaluate(scope, memberId, ctx).data.find((d) => d.perk.id === perkId);
  if (!entry) throw notFound(`Perk ${perkId}`);
  if (!entry.body.unlocked) {
    const why = entry.body.lapsed ? "it lapsed for lack of orders" : "its conditions are not met";
    throw new ApiError("conflict", `Perk ${perkId} is locked for member ${memberId}: ${why}.`);
  }
  const period = quotaPeriod(entry.perk, at, scope.merchant.timezone);
  const id = newId("pu", at);
  const live = sql`SELECT COUNT(*) FROM perk_uses WHERE merchant_id = ${merchantId} AND member_id = ${memberId}
    AND perk_id = ${perkId} AND period IS ${period} AND reversed_at IS NULL`;
  const quota = entry.perk.quota?.uses ?? null;
  const write = scopedWrite(scope);
  const statements = [
    prepare(db, factsHoldSql(merchantId, ctx.record)),
    prepare(db, definitionHoldsSql(merchantId, entry.perk)),
    prepare(
      db,
      sql`INSERT INTO perk_uses (id, merchant_id, member_id, perk_id, period, created_at)
      SELECT ${id}, ${merchantId}, ${memberId}, ${perkId}, ${period}, ${at}
      WHERE ${quota === null ? sql`1` : sql`(${live}) < ${quota}`}`,
    ),
    prepare(db, guardSql(GUARD.conflict, sql`changes() = 0`)),
    write.finishSql(201, useJson(merchantId, id, quota === null ? sql`NULL` : sql`${quota} - (${live})`)),
  ];
  return {
    write,
    statements,
    status: 201,
    onFailure: (failure) => {
      if (failure.kind === "guard" && failure.reason === FACTS_MOVED)
        throw new RaceError(
          "The member's tier or activity, or the perk's definition, changed while the perk was used; retry with the same Idempotency-Key.",
        );
      if (failure.kind === "guard" && failure.reason === GUARD.conflict)
        throw new ApiError("conflict", `Perk ${perkId} has no use left this ${entry.perk.quota?.per ?? "period"}.`);
    },
  };
}

/** An admin reverses a use: it no longer counts against the quota. Reversing twice changes nothing. */
export async function reversePerkUse(scope: RequestScope, memberId: string, perkId: string, useId: string, reason: string) {
  const merchantId = scope.merchant.id;
  const key = sql`merchant_id = ${merchantId} AND member_id = ${memberId} AND perk_id = ${perkId} AND id = ${useId}`;
  const [, row] = await scope.db.batch([
    prepare(
      scope.db,
      sql`UPDATE perk_uses SET reversed_at = ${scope.at}, reverse_reason = ${reason} WHERE ${key} AND reversed_at IS NULL`,
    ),
    prepare(
      scope.db,
      sql`SELECT id, perk_id AS perkId, member_id AS memberId, period, created_at AS createdAt,
      reversed_at AS reversedAt FROM perk_uses WHERE ${key}`,
    ),
  ]);
  const use = row?.results[0] as
    | { id: string; perkId: string; memberId: string; period: string | null; createdAt: number; reversedAt: number }
    | undefined;
  if (!use) throw notFound(`Perk use ${useId}`);
  return { ...use, usesLeft: null, createdAt: toIso(use.createdAt), reversedAt: toIso(use.reversedAt) };
}

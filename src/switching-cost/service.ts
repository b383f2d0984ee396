/**
 * The switching-cost statement of a member (one round trip of bounded reads, and a settling write only when
 * something is due; valued by statement.ts), and the distribution of statements over the merchant's members,
 * kept by the switching-cost job.
 */
import { programFromRead } from "../earning/checkout-context";
import { activeRulesRead, programRead } from "../earning/checkout-read";
import { type RuleRow, ruleSetFromRows } from "../earning/rule-row";
import type { MemberBody } from "../members/schemas";
import { type MemberReadRow, memberReadStatement, settledMemberJson } from "../members/settled-read";
import { memberRecordReads, memberRecordsFrom, merchantPerkReads, merchantPerksFrom } from "../perks/reads";
import { toIsoOrNull } from "../platform/clock";
import { prepare, sql } from "../platform/d1/sql";
import { notFound } from "../platform/errors";
import type { RequestScope } from "../platform/scope";
import { type LadderRow, ladderFromRow, ladderQuery } from "../tiers/ladder-row";
import { type ProgramClose, programsWithLastClose } from "./rebate-accrued";
import { type MerchantCost, statementFor } from "./statement";

/** The merchant-wide reads of a statement: perks and tiers, program, ladder, active rules, rebate programs. */
export function merchantCostReads(db: D1Database, merchantId: string): D1PreparedStatement[] {
  const merchant = sql`${merchantId}`;
  return [
    ...merchantPerkReads(db, merchantId),
    prepare(db, programRead(merchant)),
    prepare(db, ladderQuery(merchant)),
    prepare(db, activeRulesRead(merchant)),
    prepare(db, programsWithLastClose(merchantId)),
  ];
}

/** Number of statements merchantCostReads batches. */
export const MERCHANT_COST_READS = 6;

export function merchantCostFrom(results: D1Result[], merchant: { currency: string; timezone: string }): MerchantCost {
  const [program, ladder, rules, rebates] = results.slice(2).map((r) => r?.results ?? []);
  return {
    currency: merchant.currency,
    timezone: merchant.timezone,
    perks: merchantPerksFrom(results.slice(0, 2)),
    program: programFromRead(program?.[0] as Record<string, unknown> | undefined),
    ladder: ladderFromRow(ladder?.[0] as LadderRow | undefined),
    rules: ruleSetFromRows((rules ?? []) as RuleRow[]),
    rebates: (rebates ?? []) as ProgramClose[],
  };
}

/**
 * One member's statement, on what the member holds once what is due is settled: the member read of
 * GET /v1/members/{memberId} rides in the statement's batch, and settles (writes) only when something is due.
 */
export async function memberSwitchingCost(scope: RequestScope, memberId: string) {
  const { db, at, merchant } = scope;
  const results = await db.batch([
    ...merchantCostReads(db, merchant.id),
    ...memberRecordReads(db, merchant.id, [memberId], at, merchant.timezone),
    memberReadStatement(db, sql`${merchant.id}`, memberId, at),
  ]);
  const account = await settledAccount(scope, memberId, (results.at(-1)?.results[0] as MemberReadRow | undefined) ?? null);
  const ctx = merchantCostFrom(results.slice(0, MERCHANT_COST_READS), merchant);
  const records = memberRecordsFrom(results.slice(MERCHANT_COST_READS, -1), ctx.perks.perks, at, merchant.timezone);
  const record = records.get(memberId);
  if (!record) throw notFound(`Member ${memberId}`);
  return statementFor(ctx, { ...record, ...account }, at);
}

/**
 * The member's points and credit as GET /v1/members/{memberId} shows them: pending points past their window
 * released, points past their date or the inactivity deadline expired, holds past their time released. The
 * member read's own settling (not a copy of it), so the statement and the member body cannot disagree on what
 * is due. 404 for an unknown member (`read` null).
 */
async function settledAccount(scope: RequestScope, memberId: string, read: MemberReadRow | null) {
  const body = JSON.parse(await settledMemberJson(scope, memberId, read)) as MemberBody;
  return { balance: body.balance, pending: body.pending, credit: body.credit };
}

/** How long a member's valued switching cost stands before the job values it again. */
export const SWITCHING_COST_REFRESH_MS = 86_400_000;

/**
 * Values a chunk of one merchant's members due (never valued, or valued over a day ago): the same statement
 * as the member route, set-based reads for the whole chunk, one UPDATE for all of it. It reads the account
 * rows as they are: the caller settles what is due at `at` first (jobs/switching-cost.ts runs the settling
 * jobs), as the member route settles its one member.
 */
export async function valueSwitchingCosts(
  db: D1Database,
  merchant: { id: string; currency: string; timezone: string },
  at: number,
  limit: number,
): Promise<{ processed: number; more: boolean }> {
  const { results: due } = await prepare(
    db,
    sql`SELECT id FROM members WHERE merchant_id = ${merchant.id} AND COALESCE(switching_cost_at, 0) <= ${at - SWITCHING_COST_REFRESH_MS}
      ORDER BY COALESCE(switching_cost_at, 0) LIMIT ${limit}`,
  ).all<{ id: string }>();
  if (due.length === 0) return { processed: 0, more: false };
  const ids = due.map((d) => d.id);
  const results = await db.batch([
    ...merchantCostReads(db, merchant.id),
    ...memberRecordReads(db, merchant.id, ids, at, merchant.timezone),
  ]);
  const ctx = merchantCostFrom(results.slice(0, MERCHANT_COST_READS), merchant);
  const records = memberRecordsFrom(results.slice(MERCHANT_COST_READS), ctx.perks.perks, at, merchant.timezone);
  const totals = [...records.values()].map((record) => ({ id: record.id, total: statementFor(ctx, record, at).total }));
  const written = await prepare(
    db,
    sql`UPDATE members SET switching_cost = CAST(json_extract(j.value, '$.total') AS INTEGER), switching_cost_at = ${at}
      FROM json_each(${JSON.stringify(totals)}) j
      WHERE members.merchant_id = ${merchant.id} AND members.id = json_extract(j.value, '$.id')`,
  ).run();
  return { processed: written.meta.changes, more: due.length === limit };
}

/** The distribution of valued switching costs over the merchant's members (nearest-rank percentiles). */
export async function switchingCostDistribution(scope: RequestScope) {
  const { db, merchant } = scope;
  const valued = sql`merchant_id = ${merchant.id} AND switching_cost IS NOT NULL`;
  const [counts] = await db.batch([
    prepare(
      db,
      sql`SELECT COUNT(*) AS n, MIN(switching_cost_at) AS oldest, MAX(switching_cost_at) AS newest,
      (SELECT COUNT(*) FROM members WHERE merchant_id = ${merchant.id}) AS members FROM members WHERE ${valued}`,
    ),
  ]);
  const c = counts?.results[0] as { n: number; oldest: number | null; newest: number | null; members: number };
  const rank = (p: number) => Math.max(0, Math.ceil(p * c.n) - 1);
  const at = async (k: number) =>
    (
      await prepare(
        db,
        sql`SELECT switching_cost AS v FROM members WHERE ${valued} ORDER BY switching_cost LIMIT 1 OFFSET ${k}`,
      ).first<{ v: number }>()
    )?.v ?? 0;
  const [min = 0, median = 0, p90 = 0, max = 0] = c.n ? await Promise.all([0, rank(0.5), rank(0.9), c.n - 1].map(at)) : [];
  return {
    currency: merchant.currency,
    members: c.members,
    valued: c.n,
    min,
    median,
    p90,
    max,
    valuedFrom: toIsoOrNull(c.oldest),
    valuedTo: toIsoOrNull(c.newest),
  };
}

/**
 * A member's switching-cost statement: two round trips of bounded reads (the perks context, then the
 * account, program, ladder, the last 12 month rows, the active rules and the rebate programs with their
 * last close), valued by components.ts.
 */
import { monthKey } from "../activity/periods";
import { activeRulesRead, programFromRead, programRead, tierFacts } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import { type RuleRow, ruleFromRow } from "../earning/rule-row";
import { readMemberPerks } from "../perks/reads";
import { perkStatus, streakMonths } from "../perks/unlock";
import { prepare, sql } from "../platform/d1/sql";
import type { RequestScope } from "../platform/scope";
import { localDate } from "../platform/timezone";
import { type Ladder, rankOfTier, tierAt } from "../tiers/ladder";
import { type LadderRow, ladderFromRow, ladderQuery } from "../tiers/ladder-row";
import { type SwitchingFacts, switchingCost } from "./components";
import { type ProgramClose, programsWithLastClose, rebateAccrued } from "./rebate-accrued";

/** Extra points the member's tier earned over the lowest tier on `spend`, by the active rules. */
function tierExtra(ladder: Ladder, tierId: string | null, rules: RuleRow[], spend: number, at: number, timezone: string) {
  const rank = rankOfTier(ladder, tierId);
  if (rank === 0) return null;
  const active = rules.map(ruleFromRow);
  const order = { amount: spend, occurredAt: at };
  const at_ = (id: string) =>
    evaluateRules(active, order, { previousOrders: 1, ...tierFacts(ladder, id) }, timezone).pointsEarned;
  const tier = tierAt(ladder, rank);
  return { name: tier.name, spend, extraPoints: Math.max(0, at_(tier.id) - at_(tierAt(ladder, 0).id)) };
}

export async function memberSwitchingCost(scope: RequestScope, memberId: string) {
  const { db, at } = scope;
  const { merchant } = scope;
  const perks = await readMemberPerks(scope, memberId);
  const today = localDate(at, merchant.timezone);
  const yearAgo = new Date(Date.UTC(today.year, today.month - 12, 1));
  const [account, program, ladderRow, months, rules, rebates] = await db.batch([
    prepare(
      db,
      sql`SELECT balance, pending, credit, tier_id AS tierId FROM members WHERE merchant_id = ${merchant.id} AND id = ${memberId}`,
    ),
    prepare(db, programRead(sql`${merchant.id}`)),
    prepare(db, ladderQuery(sql`${merchant.id}`)),
    prepare(
      db,
      sql`SELECT period, spend FROM member_periods WHERE merchant_id = ${merchant.id}
      AND member_id = ${memberId} AND period >= ${monthKey({ year: yearAgo.getUTCFullYear(), month: yearAgo.getUTCMonth() + 1 })}
      AND period <= ${monthKey(today)}`,
    ),
    prepare(db, activeRulesRead(sql`${merchant.id}`)),
    prepare(db, programsWithLastClose(merchant.id)),
  ]);
  const a = account?.results[0] as { balance: number; pending: number; credit: number; tierId: string | null };
  const settings = programFromRead(program?.results[0] as Record<string, unknown> | undefined);
  const ladder = ladderFromRow(ladderRow?.results[0] as LadderRow | undefined);
  const monthSpend = new Map(((months?.results ?? []) as { period: string; spend: number }[]).map((r) => [r.period, r.spend]));
  const spent = [...monthSpend.values()].reduce((sum, x) => sum + x, 0);
  const statuses = perks.perks.map((perk) => {
    const status = perkStatus(
      perk,
      { ...perks.facts, lapsedAt: perks.states.get(perk.id)?.lapsedAt ?? null },
      at,
      merchant.timezone,
    );
    const usesLeft = perk.quota ? Math.max(0, perk.quota.uses - (perks.used.get(perk.id) ?? 0)) : null;
    return { perk, unlocked: status.unlocked, usesLeft };
  });
  const streak = streakMonths(perks.facts.orderMonths, at, merchant.timezone, null);
  const next = statuses
    .filter((s) => !s.unlocked && (s.perk.unlock.streakMonths ?? 0) > streak)
    .sort((x, y) => (x.perk.unlock.streakMonths ?? 0) - (y.perk.unlock.streakMonths ?? 0))[0];
  const facts: SwitchingFacts = {
    currency: merchant.currency,
    pointValue: settings.pointValue,
    balance: a.balance,
    pending: a.pending,
    credit: a.credit,
    perks: statuses.map((s) => ({
      name: s.perk.name,
      value: s.perk.value,
      unlocked: s.unlocked,
      usesLeft: s.usesLeft,
      per: s.perk.quota?.per ?? null,
    })),
    tier: ladder ? tierExtra(ladder, a.tierId, (rules?.results ?? []) as RuleRow[], spent, at, merchant.timezone) : null,
    streak: {
      months: streak,
      next: next
        ? { perk: next.perk.name, value: next.perk.value, monthsToGo: (next.perk.unlock.streakMonths ?? 0) - streak }
        : null,
    },
    rebate: rebateAccrued((rebates?.results ?? []) as ProgramClose[], monthSpend, at, merchant.timezone, merchant.currency),
  };
  return switchingCost(facts);
}

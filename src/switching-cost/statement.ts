/**
 * One member's switching-cost statement from the merchant's context and the member's records: pure, so the
 * member route and the job that values every member compute it the same way.
 */
import { tierFacts } from "../earning/checkout-context";
import { evaluateRules } from "../earning/evaluate";
import type { RuleSet } from "../earning/rule-set";
import { type MemberRecord, type MerchantPerks, perkFacts } from "../perks/reads";
import { perkStatus, streakMonths } from "../perks/unlock";
import { localDate } from "../platform/timezone";
import type { ProgramSettings } from "../program/settings";
import { type Ladder, rankOfTier, tierAt } from "../tiers/ladder";
import { type SwitchingFacts, switchingCost } from "./components";
import { type ProgramClose, rebateAccrued } from "./rebate-accrued";

export interface MerchantCost {
  currency: string;
  timezone: string;
  perks: MerchantPerks;
  program: ProgramSettings;
  ladder: Ladder | null;
  rules: RuleSet;
  rebates: ProgramClose[];
}

/** Extra points the member's tier earns over the lowest tier on `spend`, by the active rules. */
function tierExtra(ctx: MerchantCost, tierId: string | null, spend: number, at: number) {
  const ladder = ctx.ladder;
  if (!ladder || rankOfTier(ladder, tierId) === 0) return null;
  const tier = tierAt(ladder, rankOfTier(ladder, tierId));
  const earn = (id: string) =>
    evaluateRules(ctx.rules, { amount: spend, occurredAt: at }, { previousOrders: 1, ...tierFacts(ladder, id) }, ctx.timezone)
      .pointsEarned;
  return { name: tier.name, spend, extraPoints: Math.max(0, earn(tier.id) - earn(tierAt(ladder, 0).id)) };
}

/** Net spend of the last 12 local months (this one included). */
function lastYearSpend(record: MemberRecord, at: number, timezone: string): number {
  const today = localDate(at, timezone);
  const from = new Date(Date.UTC(today.year, today.month - 12, 1));
  const first = `${from.getUTCFullYear()}-${String(from.getUTCMonth() + 1).padStart(2, "0")}`;
  let spend = 0;
  for (const [month, m] of record.months) if (month >= first) spend += m.spend;
  return spend;
}

export function statementFor(ctx: MerchantCost, record: MemberRecord, at: number) {
  const tz = ctx.timezone;
  const facts = perkFacts(ctx.perks, record);
  const statuses = ctx.perks.perks.map((perk) => {
    const status = perkStatus(perk, facts, at, tz);
    const usesLeft = perk.quota ? Math.max(0, perk.quota.uses - (record.used.get(perk.id) ?? 0)) : null;
    // The streak as this perk counts it: only months after its last lapse.
    const streak = status.progress.find((p) => p.condition === "streakMonths")?.current;
    return { perk, unlocked: status.unlocked, usesLeft, streak: typeof streak === "number" ? streak : null };
  });
  const toGo = (s: (typeof statuses)[number]) => (s.perk.unlock.streakMonths ?? 0) - (s.streak ?? 0);
  // The locked streak perk nearest to unlocking; the streak shown is the one it counts.
  const next = statuses.filter((s) => !s.unlocked && s.streak !== null && toGo(s) > 0).sort((x, y) => toGo(x) - toGo(y))[0];
  const streak = next?.streak ?? streakMonths(facts.orderMonths, at, tz, null);
  const monthSpend = new Map([...record.months].map(([month, m]) => [`m${month}`, m.spend]));
  const switching: SwitchingFacts = {
    currency: ctx.currency,
    pointValue: ctx.program.pointValue,
    balance: record.balance,
    pending: record.pending,
    credit: record.credit,
    perks: statuses.map((s) => ({
      name: s.perk.name,
      value: s.perk.value,
      unlocked: s.unlocked,
      usesLeft: s.usesLeft,
      per: s.perk.quota?.per ?? null,
    })),
    tier: tierExtra(ctx, record.tierId, lastYearSpend(record, at, tz), at),
    streak: {
      months: streak,
      next: next ? { perk: next.perk.name, value: next.perk.value, monthsToGo: toGo(next) } : null,
    },
    rebate: rebateAccrued(ctx.rebates, monthSpend, at, tz, ctx.currency),
  };
  return switchingCost(switching);
}

/**
 * Earning-rule evaluation: a pure function of the rules, the order and the member.
 *
 * - per_amount: floor(base * points * tierMultiplier / per), where base is the order amount, or, when the
 *   rule names categories or skus, the value of the matching items only; the member's tier multiplies it.
 * - fixed: the points, once per matching order.
 * - multiplier: adds (factor - 1) x the points of every per_amount rule that matched; several
 *   multipliers add up (2x and 3x make 4x), so the total never depends on rule order.
 * Rules apply in descending priority (then id); a matching `exclusive` rule stops the rules below it (they are
 * reported as skipped `exclusive`). Each rule's points are then cut to its limits (rule-limits.ts); a
 * multiplier counts the per_amount points after their own limits. Integer arithmetic only.
 *
 * Checkout passes a RuleSet compiled once per configuration version (rule-set.ts); per order, facts about the
 * order are worked out once, lazily (order-lookups.ts).
 */
import { mulDiv } from "../platform/math";
import { birthdayMonthOf, isAnniversary } from "./calendar";
import { OrderLookups } from "./order-lookups";
import { clipToLimits, type LimitRoom, NO_USAGE, periodKeyOf, roomIn } from "./rule-limits";
import { asRuleSet, type CompiledRule, type RuleSet } from "./rule-set";
import type {
  Award,
  Evaluation,
  LimitUsage,
  LimitUse,
  MemberFacts,
  OrderFacts,
  Rule,
  RuleConditions,
  RuleOutcome,
  Skipped,
} from "./types";

/** Birthday and anniversary conditions: why they fail, or null. */
function calendarMismatch(c: RuleConditions, lookups: OrderLookups): string | null {
  if (
    c.birthdayMonth !== undefined &&
    (birthdayMonthOf(lookups.member.birthday) === lookups.localDate().month) !== c.birthdayMonth
  )
    return "birthday month";
  if (c.enrolmentAnniversary !== undefined) {
    const enrolled = lookups.enrolledDate();
    if ((enrolled !== null && isAnniversary(enrolled, lookups.localDate())) !== c.enrolmentAnniversary)
      return "enrolment anniversary";
  }
  return null;
}

const namesItems = (rule: CompiledRule) => rule.categories !== null || rule.skus !== null;

/** Why the rule does not apply, or null when it does. The checks run in a fixed order: the first failing one is reported. */
function mismatch(compiled: CompiledRule, lookups: OrderLookups): string | null {
  const { rule, channels, daysOfWeek, tiers } = compiled;
  const { order, member } = lookups;
  const c = rule.conditions;
  if (!rule.active) return "inactive";
  if (rule.startsAt !== null && order.occurredAt < rule.startsAt) return "not started";
  if (rule.endsAt !== null && order.occurredAt >= rule.endsAt) return "ended";
  if (c.minAmount !== undefined && order.amount < c.minAmount) return "below minAmount";
  if (channels !== null && (order.channel === undefined || !channels.has(order.channel))) return "channel";
  if (daysOfWeek !== null && !daysOfWeek.has(lookups.weekday())) return "day of week";
  if (tiers !== null && (member.tierId === null || !tiers.has(member.tierId))) return "tier";
  if (c.firstOrder === true && member.previousOrders > 0) return "not first order";
  if (c.firstOrder === false && member.previousOrders === 0) return "first order";
  const calendar = calendarMismatch(c, lookups);
  if (calendar !== null) return calendar;
  if (namesItems(compiled) && lookups.namedItemsValue(compiled) === null) return "no matching items";
  // Last: the costliest condition.
  if (compiled.expression !== null && !compiled.expression(lookups.expressionContext())) return "expression";
  return null;
}

/** A rule that matched, with what its limits leave it. */
interface Matched {
  compiled: CompiledRule;
  outcome: RuleOutcome;
  room: LimitRoom;
}

/** The per-member limit period the order counts in, null without a per-member limit. */
function memberPeriod(rule: Rule, lookups: OrderLookups): string | null {
  const perMember = rule.limits?.perMember;
  return perMember ? periodKeyOf(lookups.localDate(), perMember.per) : null;
}

/** Every rule's outcome in evaluation order, and the rules that matched with their limit room. */
function matchRules(rules: readonly CompiledRule[], lookups: OrderLookups, usage: LimitUsage) {
  const outcomes: RuleOutcome[] = [];
  const matched: Matched[] = [];
  let stopped = false;
  for (const compiled of rules) {
    const rule = compiled.rule;
    const reason = mismatch(compiled, lookups);
    const outcome: RuleOutcome = { ruleId: rule.id, name: rule.name, matched: reason === null, points: 0 };
    outcomes.push(outcome);
    if (reason !== null) outcome.reason = reason;
    else if (stopped) outcome.skipped = "exclusive";
    else {
      const room = roomIn(rule, usage, memberPeriod(rule, lookups));
      matched.push({ compiled, outcome, room });
      // An exclusive rule whose limits are used up gives nothing, so it stops nothing either.
      if (rule.exclusive && room.member > 0 && room.budget > 0) stopped = true;
    }
  }
  return { outcomes, matched };
}

/** per_amount and fixed points before limits. */
function effectPoints(compiled: CompiledRule, lookups: OrderLookups, tierBps: number): number {
  const effect = compiled.rule.effect;
  if (effect.kind === "fixed") return effect.points;
  if (effect.kind !== "per_amount") return 0;
  const order = lookups.order;
  // A matched rule that names items has at least one matching item.
  const listed = namesItems(compiled) ? Math.min(order.amount, lookups.namedItemsValue(compiled) ?? 0) : order.amount;
  // Only the part paid with money earns: the base shrinks in the proportion points paid of the order.
  const paid = Math.min(order.paidWithPoints ?? 0, order.amount);
  const base = paid > 0 ? mulDiv(listed, order.amount - paid, order.amount) : listed;
  return mulDiv(base, effect.points * tierBps, effect.per * 10_000);
}

function keep(matched: Matched, raw: number): void {
  const { points, cut } = clipToLimits(matched.compiled.rule, raw, matched.room);
  matched.outcome.points = points;
  if (cut) matched.outcome.skipped = cut;
}

/** Sets the points of every matched rule: per_amount and fixed first, then multipliers over per_amount. */
function awardPoints(matched: readonly Matched[], lookups: OrderLookups): void {
  const tierBps = lookups.member.earnMultiplierBps ?? 10_000;
  let perAmountTotal = 0;
  for (const m of matched) {
    const kind = m.compiled.rule.effect.kind;
    if (kind === "multiplier") continue;
    keep(m, effectPoints(m.compiled, lookups, tierBps));
    if (kind === "per_amount") perAmountTotal += m.outcome.points;
  }
  for (const m of matched) {
    if (m.compiled.rule.effect.kind !== "multiplier") continue;
    const bps = m.compiled.factorBps;
    keep(m, bps > 10_000 ? mulDiv(perAmountTotal, bps - 10_000, 10_000) : 0);
  }
}

/**
 * @example
 * evaluateRules([{ id: "base", effect: { kind: "per_amount", points: 1, per: 100 }, ... }], { amount: 12800, ... }, member, "Asia/Shanghai")
 * // { pointsEarned: 128, awards: [{ ruleId: "base", points: 128 }], skipped: [], outcomes: [...], limitUses: [] }
 */
export function evaluateRules(
  rules: RuleSet | readonly Rule[],
  order: OrderFacts,
  member: MemberFacts,
  timezone: string,
  usage: LimitUsage = NO_USAGE,
): Evaluation {
  const set = asRuleSet(rules);
  const lookups = new OrderLookups(order, member, timezone);
  const { outcomes, matched } = matchRules(set.compiled, lookups, usage);
  awardPoints(matched, lookups);
  return summarize(outcomes, matched, set.duplicateIds);
}

/** The version each award names: its rule's, or with duplicate ids, that of the last matched rule of the id. */
function versionOf(matched: readonly Matched[], duplicateIds: boolean): (m: Matched) => number | undefined {
  if (!duplicateIds) return (m) => m.compiled.rule.version;
  const versions = new Map(matched.map((m) => [m.compiled.rule.id, m.compiled.rule.version]));
  return (m) => versions.get(m.compiled.rule.id);
}

function limitUse({ compiled: { rule }, outcome, room }: Matched): LimitUse | null {
  const { budget, perMember } = rule.limits ?? {};
  if (outcome.points === 0 || (budget === undefined && !perMember)) return null;
  return {
    ruleId: rule.id,
    points: outcome.points,
    period: room.period,
    budget: budget ?? null,
    perMember: perMember?.points ?? null,
  };
}

function summarize(outcomes: RuleOutcome[], matched: readonly Matched[], duplicateIds: boolean): Evaluation {
  const version = versionOf(matched, duplicateIds);
  const awards: Award[] = [];
  const limitUses: LimitUse[] = [];
  let pointsEarned = 0;
  // Only matched rules have points; they are in outcome order.
  for (const m of matched) {
    const { ruleId, points } = m.outcome;
    if (points > 0) {
      const ruleVersion = version(m);
      awards.push(ruleVersion === undefined ? { ruleId, points } : { ruleId, points, ruleVersion });
      pointsEarned += points;
    }
    const use = limitUse(m);
    if (use) limitUses.push(use);
  }
  const skipped: Skipped[] = [];
  for (const o of outcomes) if (o.skipped) skipped.push({ ruleId: o.ruleId, reason: o.skipped });
  return { pointsEarned, awards, skipped, outcomes, limitUses };
}

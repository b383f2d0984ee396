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
 */
import { mulDiv } from "../platform/math";
import { type LocalDate, localDate } from "../platform/timezone";
import { birthdayMonthOf, isAnniversary } from "./calendar";
import { type ExpressionContext, expressionContext, expressionHolds } from "./expression";
import { clipToLimits, type LimitRoom, limitRoom, NO_USAGE } from "./rule-limits";
import type { Award, Evaluation, LimitUsage, LimitUse, MemberFacts, OrderFacts, OrderItem, Rule, RuleOutcome } from "./types";

const weekdayFormatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** ISO weekday (1 = Monday) of an instant in a time zone. */
export function isoWeekday(atMs: number, timezone: string): number {
  let formatter = weekdayFormatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", { timeZone: timezone, weekday: "short" });
    weekdayFormatters.set(timezone, formatter);
  }
  return WEEKDAYS[formatter.format(atMs)] ?? 0;
}

/** Multiplier factors are stored as basis points so 1.5x stays exact. */
export function factorToBps(factor: number): number {
  return Math.round(factor * 10_000);
}

function itemValue(item: OrderItem): number {
  return item.quantity * item.unitPrice;
}

function matchingItems(rule: Rule, order: OrderFacts): OrderItem[] | null {
  const { categories, skus } = rule.conditions;
  if (!categories?.length && !skus?.length) return null;
  return (order.items ?? []).filter(
    (item) =>
      (categories?.length ? item.category !== undefined && categories.includes(item.category) : true) &&
      (skus?.length ? skus.includes(item.sku) : true),
  );
}

/** Facts computed at most once per order, and only when a rule needs them. */
interface Lazy {
  timezone: string;
  weekday: () => number;
  localDate: () => LocalDate;
  expressionContext: () => ExpressionContext;
}

/** Why the rule does not apply, or null when it does. */
function mismatch(rule: Rule, order: OrderFacts, member: MemberFacts, lazy: Lazy): string | null {
  const c = rule.conditions;
  if (!rule.active) return "inactive";
  if (rule.startsAt !== null && order.occurredAt < rule.startsAt) return "not started";
  if (rule.endsAt !== null && order.occurredAt >= rule.endsAt) return "ended";
  if (c.minAmount !== undefined && order.amount < c.minAmount) return "below minAmount";
  if (c.channels?.length && (order.channel === undefined || !c.channels.includes(order.channel))) return "channel";
  if (c.daysOfWeek?.length && !c.daysOfWeek.includes(lazy.weekday())) return "day of week";
  if (c.tiers?.length && (member.tierId === null || !c.tiers.includes(member.tierId))) return "tier";
  if (c.firstOrder === true && member.previousOrders > 0) return "not first order";
  if (c.firstOrder === false && member.previousOrders === 0) return "first order";
  if (c.birthdayMonth !== undefined && (birthdayMonthOf(member.birthday) === lazy.localDate().month) !== c.birthdayMonth)
    return "birthday month";
  if (
    c.enrolmentAnniversary !== undefined &&
    (member.enrolledAt !== undefined && isAnniversary(localDate(member.enrolledAt, lazy.timezone), lazy.localDate())) !==
      c.enrolmentAnniversary
  )
    return "enrolment anniversary";
  const items = matchingItems(rule, order);
  if (items !== null && items.length === 0) return "no matching items";
  // Last: the costliest condition.
  if (c.expression !== undefined && !expressionHolds(c.expression, lazy.expressionContext())) return "expression";
  return null;
}

export function byPriority(a: Rule, b: Rule): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A rule that matched, with what its limits leave it. */
interface Matched {
  rule: Rule;
  outcome: RuleOutcome;
  room: LimitRoom;
}

/** per_amount and fixed points before limits. */
function effectPoints(rule: Rule, order: OrderFacts, tierBps: number): number {
  const effect = rule.effect;
  if (effect.kind === "fixed") return effect.points;
  if (effect.kind !== "per_amount") return 0;
  const items = matchingItems(rule, order);
  const listed =
    items === null
      ? order.amount
      : Math.min(
          order.amount,
          items.reduce((sum, i) => sum + itemValue(i), 0),
        );
  // Only the part paid with money earns: the base shrinks in the proportion points paid of the order.
  const paid = Math.min(order.paidWithPoints ?? 0, order.amount);
  const base = paid > 0 ? mulDiv(listed, order.amount - paid, order.amount) : listed;
  return mulDiv(base, effect.points * tierBps, effect.per * 10_000);
}

function keep(matched: Matched, raw: number): void {
  const { points, cut } = clipToLimits(matched.rule, raw, matched.room);
  matched.outcome.points = points;
  if (cut) matched.outcome.skipped = cut;
}

/**
 * @example
 * evaluateRules([{ id: "base", effect: { kind: "per_amount", points: 1, per: 100 }, ... }], { amount: 12800, ... }, member, "Asia/Shanghai")
 * // { pointsEarned: 128, awards: [{ ruleId: "base", points: 128 }], skipped: [], outcomes: [...], limitUses: [] }
 */
export function evaluateRules(
  rules: readonly Rule[],
  order: OrderFacts,
  member: MemberFacts,
  timezone: string,
  usage: LimitUsage = NO_USAGE,
): Evaluation {
  const outcomes: RuleOutcome[] = [];
  const matched: Matched[] = [];
  let day: number | undefined;
  let date: LocalDate | undefined;
  let context: ExpressionContext | undefined;
  const lazy: Lazy = {
    timezone,
    weekday: () => (day ??= isoWeekday(order.occurredAt, timezone)),
    localDate: () => (date ??= localDate(order.occurredAt, timezone)),
    expressionContext: () => (context ??= expressionContext(order, member)),
  };
  let stopped = false;
  for (const rule of [...rules].sort(byPriority)) {
    const reason = mismatch(rule, order, member, lazy);
    const outcome: RuleOutcome = { ruleId: rule.id, name: rule.name, matched: reason === null, points: 0 };
    outcomes.push(outcome);
    if (reason !== null) outcome.reason = reason;
    else if (stopped) outcome.skipped = "exclusive";
    else {
      const room = limitRoom(rule, usage, order.occurredAt, timezone);
      matched.push({ rule, outcome, room });
      // An exclusive rule whose limits are used up gives nothing, so it stops nothing either.
      if (rule.exclusive && room.member > 0 && room.budget > 0) stopped = true;
    }
  }
  const tierBps = member.earnMultiplierBps ?? 10_000;
  let perAmountTotal = 0;
  for (const m of matched) {
    if (m.rule.effect.kind === "multiplier") continue;
    keep(m, effectPoints(m.rule, order, tierBps));
    if (m.rule.effect.kind === "per_amount") perAmountTotal += m.outcome.points;
  }
  for (const m of matched) {
    if (m.rule.effect.kind !== "multiplier") continue;
    const bps = factorToBps(m.rule.effect.factor);
    keep(m, bps > 10_000 ? mulDiv(perAmountTotal, bps - 10_000, 10_000) : 0);
  }
  return summarize(outcomes, matched);
}

function summarize(outcomes: RuleOutcome[], matched: readonly Matched[]): Evaluation {
  const versions = new Map(matched.map((m) => [m.rule.id, m.rule.version]));
  const awards: Award[] = outcomes
    .filter((o) => o.matched && o.points > 0)
    .map((o) => {
      const version = versions.get(o.ruleId);
      return version === undefined
        ? { ruleId: o.ruleId, points: o.points }
        : { ruleId: o.ruleId, points: o.points, ruleVersion: version };
    });
  const skipped = outcomes.flatMap((o) => (o.skipped ? [{ ruleId: o.ruleId, reason: o.skipped }] : []));
  const limitUses = matched.flatMap(({ rule, outcome, room }): LimitUse[] => {
    const { budget, perMember } = rule.limits ?? {};
    if (outcome.points === 0 || (budget === undefined && !perMember)) return [];
    return [
      {
        ruleId: rule.id,
        points: outcome.points,
        period: room.period,
        budget: budget ?? null,
        perMember: perMember?.points ?? null,
      },
    ];
  });
  return { pointsEarned: awards.reduce((sum, a) => sum + a.points, 0), awards, skipped, outcomes, limitUses };
}

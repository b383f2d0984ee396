/**
 * The rule evaluator (compiled rule sets, per-order lookups) against a straightforward reference written
 * from the rules' definition: on random rules, orders, members and limit usage, both give the same
 * evaluation, field for field and in the same order, whether the rules come as a list or compiled once
 * and reused across orders.
 */
import { Environment } from "@marcbachmann/cel-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { birthdayMonthOf, isAnniversary, isoWeekday } from "../../src/earning/calendar";
import { evaluateRules } from "../../src/earning/evaluate";
import { compileExpression, MAX_AST_DEPTH, MAX_AST_NODES } from "../../src/earning/expression";
import { limitPeriodKey, NO_USAGE } from "../../src/earning/rule-limits";
import { compileRules } from "../../src/earning/rule-set";
import type {
  Evaluation,
  LimitUsage,
  MemberFacts,
  OrderFacts,
  OrderItem,
  Rule,
  RuleOutcome,
  SkipReason,
} from "../../src/earning/types";
import { mulDiv } from "../../src/platform/math";
import { localDate } from "../../src/platform/timezone";
import { propertySeed } from "../support/seeds";

// ---- The reference: every condition read from the rule as stored, every fact recomputed where needed ----

/**
 * The expression environment as first declared: types without constructors, so cel-js wraps the plain
 * objects below on every run. The engine passes instances of its types instead; results must not change.
 */
const plainEnvironment = new Environment({
  limits: { maxAstNodes: MAX_AST_NODES, maxDepth: MAX_AST_DEPTH, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
})
  .registerType("Item", { fields: { sku: "string", category: "string", quantity: "int", unitPrice: "int" } })
  .registerType("Order", { fields: { amount: "int", currency: "string", channel: "string", items: "list<Item>" } })
  .registerType("Member", { fields: { attributes: "map<string, dyn>", tier: "string", orderCount: "int" } })
  .registerVariable("order", "Order")
  .registerVariable("member", "Member");

/** The variables of an expression as plain objects. */
function plainActivation(order: OrderFacts, member: MemberFacts) {
  const cel = (value: unknown): unknown => {
    if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : value;
    if (Array.isArray(value)) return value.map(cel);
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = Object.create(null);
      for (const [key, v] of Object.entries(value)) out[key] = cel(v);
      return out;
    }
    return value;
  };
  return {
    order: {
      amount: BigInt(order.amount),
      currency: order.currency ?? "",
      channel: order.channel ?? "",
      items: (order.items ?? []).map((i) => ({
        sku: i.sku,
        category: i.category ?? "",
        quantity: BigInt(i.quantity),
        unitPrice: BigInt(i.unitPrice),
      })),
    },
    member: { attributes: cel(member.attributes ?? {}), tier: member.tierId ?? "", orderCount: BigInt(member.previousOrders) },
  };
}

/** Whether an expression the engine accepts holds, run in the plain environment. */
function referenceHolds(source: string, order: OrderFacts, member: MemberFacts): boolean {
  if (!compileExpression(source).ok) return false;
  try {
    return plainEnvironment.parse(source)(plainActivation(order, member)) === true;
  } catch {
    return false;
  }
}

function referenceItems(rule: Rule, order: OrderFacts): OrderItem[] | null {
  const { categories, skus } = rule.conditions;
  if (!categories?.length && !skus?.length) return null;
  return (order.items ?? []).filter(
    (item) =>
      (categories?.length ? item.category !== undefined && categories.includes(item.category) : true) &&
      (skus?.length ? skus.includes(item.sku) : true),
  );
}

function referenceMismatch(rule: Rule, order: OrderFacts, member: MemberFacts, tz: string): string | null {
  const c = rule.conditions;
  const today = () => localDate(order.occurredAt, tz);
  if (!rule.active) return "inactive";
  if (rule.startsAt !== null && order.occurredAt < rule.startsAt) return "not started";
  if (rule.endsAt !== null && order.occurredAt >= rule.endsAt) return "ended";
  if (c.minAmount !== undefined && order.amount < c.minAmount) return "below minAmount";
  if (c.channels?.length && (order.channel === undefined || !c.channels.includes(order.channel))) return "channel";
  if (c.daysOfWeek?.length && !c.daysOfWeek.includes(isoWeekday(order.occurredAt, tz))) return "day of week";
  if (c.tiers?.length && (member.tierId === null || !c.tiers.includes(member.tierId))) return "tier";
  if (c.firstOrder === true && member.previousOrders > 0) return "not first order";
  if (c.firstOrder === false && member.previousOrders === 0) return "first order";
  if (c.birthdayMonth !== undefined && (birthdayMonthOf(member.birthday) === today().month) !== c.birthdayMonth)
    return "birthday month";
  if (
    c.enrolmentAnniversary !== undefined &&
    (member.enrolledAt !== undefined && isAnniversary(localDate(member.enrolledAt, tz), today())) !== c.enrolmentAnniversary
  )
    return "enrolment anniversary";
  const items = referenceItems(rule, order);
  if (items !== null && items.length === 0) return "no matching items";
  if (c.expression !== undefined && !referenceHolds(c.expression, order, member)) return "expression";
  return null;
}

function referencePoints(rule: Rule, order: OrderFacts, tierBps: number): number {
  const effect = rule.effect;
  if (effect.kind === "fixed") return effect.points;
  if (effect.kind !== "per_amount") return 0;
  const items = referenceItems(rule, order);
  const listed =
    items === null
      ? order.amount
      : Math.min(
          order.amount,
          items.reduce((s, i) => s + i.quantity * i.unitPrice, 0),
        );
  const paid = Math.min(order.paidWithPoints ?? 0, order.amount);
  const base = paid > 0 ? mulDiv(listed, order.amount - paid, order.amount) : listed;
  return mulDiv(base, effect.points * tierBps, effect.per * 10_000);
}

interface Room {
  member: number;
  budget: number;
  period: string | null;
}

function referenceRoom(rule: Rule, usage: LimitUsage, at: number, tz: string): Room {
  const { perMember, budget } = rule.limits ?? {};
  const period = perMember ? limitPeriodKey(at, perMember.per, tz) : null;
  const memberUsed = period === null ? 0 : (usage.member.get(rule.id)?.get(period) ?? 0);
  return {
    member: perMember ? Math.max(0, perMember.points - memberUsed) : Number.POSITIVE_INFINITY,
    budget: budget !== undefined ? Math.max(0, budget - (usage.budget.get(rule.id) ?? 0)) : Number.POSITIVE_INFINITY,
    period,
  };
}

/** The award keeps at most the least room of its limits; that limit is the reason (ties: per order, per member, budget). */
function referenceClip(rule: Rule, raw: number, room: Room): { points: number; cut?: SkipReason } {
  const limits: [number, SkipReason][] = [
    [rule.limits?.perOrder ?? Number.POSITIVE_INFINITY, "per_order_limit"],
    [room.member, "per_member_limit"],
    [room.budget, "budget_spent"],
  ];
  const least = Math.min(...limits.map(([limit]) => limit));
  if (raw <= least) return { points: raw };
  return { points: least, cut: limits.find(([limit]) => limit === least)?.[1] };
}

function referenceEvaluate(
  rules: readonly Rule[],
  order: OrderFacts,
  member: MemberFacts,
  tz: string,
  usage: LimitUsage,
): Evaluation {
  const sorted = [...rules].sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const outcomes: RuleOutcome[] = [];
  const matched: { rule: Rule; outcome: RuleOutcome; room: Room }[] = [];
  let stopped = false;
  for (const rule of sorted) {
    const reason = referenceMismatch(rule, order, member, tz);
    const outcome: RuleOutcome = { ruleId: rule.id, name: rule.name, matched: reason === null, points: 0 };
    outcomes.push(outcome);
    if (reason !== null) outcome.reason = reason;
    else if (stopped) outcome.skipped = "exclusive";
    else {
      const room = referenceRoom(rule, usage, order.occurredAt, tz);
      matched.push({ rule, outcome, room });
      if (rule.exclusive && room.member > 0 && room.budget > 0) stopped = true;
    }
  }
  const keep = (m: (typeof matched)[number], raw: number) => {
    const { points, cut } = referenceClip(m.rule, raw, m.room);
    m.outcome.points = points;
    if (cut) m.outcome.skipped = cut;
  };
  let perAmount = 0;
  for (const m of matched.filter((m) => m.rule.effect.kind !== "multiplier")) {
    keep(m, referencePoints(m.rule, order, member.earnMultiplierBps ?? 10_000));
    if (m.rule.effect.kind === "per_amount") perAmount += m.outcome.points;
  }
  for (const m of matched) {
    if (m.rule.effect.kind !== "multiplier") continue;
    const bps = Math.round(m.rule.effect.factor * 10_000);
    keep(m, bps > 10_000 ? mulDiv(perAmount, bps - 10_000, 10_000) : 0);
  }
  const versions = new Map(matched.map((m) => [m.rule.id, m.rule.version]));
  const awards = outcomes
    .filter((o) => o.matched && o.points > 0)
    .map((o) => {
      const version = versions.get(o.ruleId);
      return version === undefined
        ? { ruleId: o.ruleId, points: o.points }
        : { ruleId: o.ruleId, points: o.points, ruleVersion: version };
    });
  const limitUses = matched.flatMap(({ rule, outcome, room }) => {
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
  return {
    pointsEarned: awards.reduce((s, a) => s + a.points, 0),
    awards,
    skipped: outcomes.flatMap((o) => (o.skipped ? [{ ruleId: o.ruleId, reason: o.skipped }] : [])),
    outcomes,
    limitUses,
  };
}

// ---- Random programs, orders and members over small domains, so conditions both hold and fail ----

const ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "Asia/Kathmandu"] as const;
const CATEGORIES = ["tea", "ware", "snacks", ""];
const SKUS = ["a", "b", "c", "d"];
const TIERS = ["bronze", "silver", "gold"];
const DAY = 86_400_000;
const AROUND = Date.parse("2026-02-27T12:00:00Z");
const EXPRESSIONS = [
  'order.items.exists(i, i.category == "tea" && i.quantity >= 2)',
  "order.amount >= 5000 && member.orderCount > 2",
  'member.tier in ["bronze", "silver"] && order.channel == "store"',
  "order.items.filter(i, i.unitPrice > 1500).size() >= 2",
  "member.attributes.vip == true",
  "member.attributes.visits > 2",
  'order.items[0].sku == "a"',
  "order.items.map(i, i.quantity * i.unitPrice).exists(v, v > 3000)",
  "has(member.attributes.city)",
  "has(order.channel) && dyn(order).amount > 1000",
  'order.currency == "CNY" || member.attributes.size() > 1',
  "order.items.map(i, i).size() > 1",
  "order.amount >", // does not compile: never holds
];

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Present one time in five: a rule has a condition or two, so that enough rules match for limits to bind. */
const rarely = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const definedOnly = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const conditionsArb: fc.Arbitrary<Rule["conditions"]> = fc
  .record({
    minAmount: rarely(fc.integer({ min: 0, max: 20_000 })),
    categories: rarely(fc.subarray(CATEGORIES)),
    skus: rarely(fc.subarray(SKUS)),
    channels: rarely(fc.subarray(["store", "app", "web"])),
    daysOfWeek: rarely(fc.subarray([1, 2, 3, 4, 5, 6, 7])),
    tiers: rarely(fc.subarray(TIERS)),
    firstOrder: rarely(fc.boolean()),
    expression: rarely(fc.constantFrom(...EXPRESSIONS)),
    birthdayMonth: rarely(fc.boolean()),
    enrolmentAnniversary: rarely(fc.boolean()),
  })
  .map(definedOnly);

const effectArb: fc.Arbitrary<Rule["effect"]> = fc.oneof(
  fc.record({
    kind: fc.constant("per_amount" as const),
    points: fc.integer({ min: 1, max: 10 }),
    per: fc.integer({ min: 1, max: 200 }),
  }),
  fc.record({ kind: fc.constant("fixed" as const), points: fc.integer({ min: 1, max: 500 }) }),
  fc.record({ kind: fc.constant("multiplier" as const), factor: fc.constantFrom(0.5, 1, 1.25, 1.5, 2, 3) }),
);

const limitsArb = fc.option(
  fc.record(
    {
      perOrder: fc.integer({ min: 1, max: 300 }),
      perMember: fc.record({
        points: fc.integer({ min: 1, max: 300 }),
        per: fc.constantFrom("day" as const, "month" as const, "year" as const),
      }),
      budget: fc.integer({ min: 0, max: 300 }),
    },
    { requiredKeys: [] },
  ),
  { nil: null },
);

const ruleArb: fc.Arbitrary<Rule> = fc
  .record({
    // Few ids, so duplicates (possible in lists given directly) and id ties in the ordering come up.
    id: fc.constantFrom("r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12"),
    active: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
    priority: fc.integer({ min: 0, max: 3 }),
    startsAt: fc.option(fc.integer({ min: AROUND - 3 * DAY, max: AROUND + 3 * DAY }), { nil: null }),
    endsAt: fc.option(fc.integer({ min: AROUND - 3 * DAY, max: AROUND + 3 * DAY }), { nil: null }),
    conditions: conditionsArb,
    effect: effectArb,
    exclusive: fc.boolean(),
    limits: limitsArb,
    version: maybe(fc.integer({ min: 1, max: 9 })),
  })
  .map(({ version, ...r }) => ({ ...r, name: `rule ${r.id}`, ...(version !== undefined && { version }) }));

const itemArb: fc.Arbitrary<OrderItem> = fc
  .record({
    sku: fc.constantFrom(...SKUS),
    category: maybe(fc.constantFrom(...CATEGORIES)),
    quantity: fc.integer({ min: 1, max: 4 }),
    unitPrice: fc.integer({ min: 0, max: 3000 }),
  })
  .map(({ category, ...i }) => (category === undefined ? i : { ...i, category }));

const orderArb: fc.Arbitrary<OrderFacts> = fc
  .record({
    amount: fc.integer({ min: 0, max: 30_000 }),
    currency: maybe(fc.constantFrom("CNY", "USD")),
    paidWithPoints: maybe(fc.integer({ min: 0, max: 30_000 })),
    occurredAt: fc.integer({ min: AROUND - 3 * DAY, max: AROUND + 3 * DAY }),
    channel: maybe(fc.constantFrom("store", "app", "web")),
    items: maybe(fc.array(itemArb, { maxLength: 6 })),
  })
  .map((o) => definedOnly(o) as unknown as OrderFacts);

const memberArb: fc.Arbitrary<MemberFacts> = fc
  .record({
    tierId: fc.option(fc.constantFrom(...TIERS), { nil: null }),
    earnMultiplierBps: maybe(fc.constantFrom(10_000, 12_500, 20_000)),
    previousOrders: fc.integer({ min: 0, max: 5 }),
    attributes: maybe(
      fc.record(
        { vip: fc.boolean(), visits: fc.integer({ min: 0, max: 5 }), city: fc.constantFrom("Hangzhou") },
        { requiredKeys: [] },
      ),
    ),
    birthday: maybe(fc.option(fc.constantFrom("1990-02-14", "03-01", "2000-02-29", "12-31", "bad"), { nil: null })),
    // Around 27 February, some years back: anniversaries, 29 February and the day boundary in every zone.
    enrolledAt: maybe(
      fc
        .integer({ min: 0, max: 4 })
        .chain((years) => fc.integer({ min: AROUND - years * 365 * DAY - 3 * DAY, max: AROUND - years * 365 * DAY + 3 * DAY })),
    ),
  })
  .map((m) => definedOnly(m) as unknown as MemberFacts);

/** Usage of the rules' budgets and per-member limits, keyed as checkout reads it (periods of the order's time). */
function usageArb(at: number, tz: string): fc.Arbitrary<LimitUsage> {
  const periods = (["day", "month", "year"] as const).map((per) => limitPeriodKey(at, per, tz));
  const used = fc.integer({ min: 0, max: 400 });
  const ids = fc.constantFrom("r1", "r2", "r3", "r4", "r5", "r6");
  return fc.record({
    budget: fc.array(fc.tuple(ids, used), { maxLength: 4 }).map((entries) => new Map(entries)),
    member: fc
      .array(fc.tuple(ids, fc.array(fc.tuple(fc.constantFrom(...periods, "d1999-01-01"), used), { maxLength: 3 })), {
        maxLength: 4,
      })
      .map((entries) => new Map(entries.map(([id, p]) => [id, new Map(p)]))),
  });
}

const caseArb = fc
  .record({
    rules: fc.array(ruleArb, { maxLength: 14 }),
    orders: fc.array(orderArb, { minLength: 1, maxLength: 3 }),
    member: memberArb,
    tz: fc.constantFrom(...ZONES),
  })
  .chain((c) =>
    fc
      .record({ usage: fc.oneof(fc.constant(NO_USAGE), usageArb(c.orders[0]?.occurredAt ?? AROUND, c.tz)) })
      .map((u) => ({ ...c, ...u })),
  );

describe("rule evaluation against the reference", () => {
  it("gives the same evaluation for lists and for a rule set compiled once and reused", () => {
    fc.assert(
      fc.property(caseArb, ({ rules, orders, member, tz, usage }) => {
        const set = compileRules(rules);
        for (const order of orders) {
          const expected = referenceEvaluate(rules, order, member, tz, usage);
          const fromList = evaluateRules(rules, order, member, tz, usage);
          const fromSet = evaluateRules(set, order, member, tz, usage);
          expect(fromList).toStrictEqual(expected);
          expect(fromSet).toStrictEqual(expected);
          // Replies serialize these: the keys come in the same order too.
          expect(JSON.stringify(fromSet)).toBe(JSON.stringify(expected));
        }
      }),
      { numRuns: 400, seed: propertySeed(20261130) },
    );
  });

  it("the random cases reach every outcome the engine can report", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(caseArb, ({ rules, orders, member, tz, usage }) => {
        for (const order of orders)
          for (const o of evaluateRules(rules, order, member, tz, usage).outcomes) seen.add(o.reason ?? o.skipped ?? "matched");
      }),
      { numRuns: 400, seed: propertySeed(20261130) },
    );
    expect([...seen].sort()).toEqual(
      [
        "inactive",
        "not started",
        "ended",
        "below minAmount",
        "channel",
        "day of week",
        "tier",
        "not first order",
        "first order",
        "birthday month",
        "enrolment anniversary",
        "no matching items",
        "expression",
        "matched",
        "exclusive",
        "per_order_limit",
        "per_member_limit",
        "budget_spent",
      ].sort(),
    );
  });
});

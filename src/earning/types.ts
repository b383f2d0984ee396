/** Plain data the rule engine works on: no I/O, no framework types. */

export interface RuleConditions {
  minAmount?: number;
  categories?: string[];
  skus?: string[];
  channels?: string[];
  /** ISO weekdays in the merchant's time zone: 1 = Monday ... 7 = Sunday. */
  daysOfWeek?: number[];
  tiers?: string[];
  /** true: only a member's first order; false: only repeat orders. */
  firstOrder?: boolean;
  /** A CEL expression over `order` and `member` that must be true (earning/expression.ts). */
  expression?: string;
  /** true: only in the member's birthday month; false: only outside it (merchant timezone). */
  birthdayMonth?: boolean;
  /** true: only on the member's enrolment anniversary (same local day, a year or more later). */
  enrolmentAnniversary?: boolean;
}

/** Local period a per-member limit counts in (merchant timezone). */
export const LIMIT_PERIODS = ["day", "month", "year"] as const;
export type LimitPeriod = (typeof LIMIT_PERIODS)[number];

export interface RuleLimits {
  /** Most points the rule gives one order. */
  perOrder?: number;
  /** Most points the rule gives one member per local day, month or year. */
  perMember?: { points: number; per: LimitPeriod };
  /** Most points the rule may ever award, all members together (refunds give back). */
  budget?: number;
}

/** Why a rule that matched gave nothing, or less than its effect. */
export const SKIP_REASONS = ["exclusive", "per_order_limit", "per_member_limit", "budget_spent"] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type RuleEffect =
  | { kind: "per_amount"; points: number; per: number }
  | { kind: "fixed"; points: number }
  | { kind: "multiplier"; factor: number };

export interface Rule {
  id: string;
  name: string;
  active: boolean;
  priority: number;
  startsAt: number | null;
  endsAt: number | null;
  conditions: RuleConditions;
  effect: RuleEffect;
  /** A matching exclusive rule (with room left in its limits) stops the rules of lower priority. */
  exclusive: boolean;
  limits: RuleLimits | null;
  /** Stored version; absent for drafts. */
  version?: number;
}

/**
 * What rules have awarded so far against their limits, read in the checkout round trip. Maps: rule ids are
 * client strings and never become object keys.
 */
export interface LimitUsage {
  /** Points awarded of each rule's budget. */
  budget: ReadonlyMap<string, number>;
  /** Points each rule awarded this member, by rule id, then period key (`d2026-11-29`, `m2026-11`, `y2026`). */
  member: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** What one award consumed of its rule's limits: the order batch adds it, refunds give back their share. */
export interface LimitUse {
  ruleId: string;
  points: number;
  /** The per-member period key, null without a per-member limit. */
  period: string | null;
  /** The budget's limit, null without a budget. */
  budget: number | null;
  /** The per-member limit, null without one. */
  perMember: number | null;
}

export interface OrderItem {
  sku: string;
  category?: string;
  quantity: number;
  unitPrice: number;
}

export interface OrderFacts {
  amount: number;
  currency?: string;
  /**
   * What redemptions linked to the order paid of it, in minor units: per_amount rules earn only on the
   * rest (0 when the program lets the points-paid part earn too).
   */
  paidWithPoints?: number;
  occurredAt: number;
  channel?: string;
  items?: OrderItem[];
}

export interface MemberFacts {
  /** The member's current tier (the ladder's lowest when never placed), null without a ladder. */
  tierId: string | null;
  /** The tier's earnMultiplier in basis points: scales per_amount points (10000 = 1x; absent = 1x). */
  earnMultiplierBps?: number;
  /** Orders the member placed before this one. */
  previousOrders: number;
  /** The member's attributes (expressions read them); absent for a new member. */
  attributes?: Record<string, unknown>;
  /** YYYY-MM-DD or MM-DD; absent or null when unknown. */
  birthday?: string | null;
  /** When the member enrolled (absent for a new member: enrolled by this order). */
  enrolledAt?: number;
}

export interface Award {
  ruleId: string;
  points: number;
  /** The rule version that awarded (absent for drafts). */
  ruleVersion?: number;
}

export interface Skipped {
  ruleId: string;
  reason: SkipReason;
}

export interface RuleOutcome {
  ruleId: string;
  name: string;
  matched: boolean;
  points: number;
  /** Why a rule did not match, for marketers trying drafts. */
  reason?: string;
  /** Why a rule that matched gave nothing or less. */
  skipped?: SkipReason;
}

export interface Evaluation {
  pointsEarned: number;
  awards: Award[];
  skipped: Skipped[];
  outcomes: RuleOutcome[];
  /** What the awards consume of rule limits (only awards of rules with a budget or per-member limit). */
  limitUses: LimitUse[];
}

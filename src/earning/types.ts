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
}

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
}

export interface OrderItem {
  sku: string;
  category?: string;
  quantity: number;
  unitPrice: number;
}

export interface OrderFacts {
  amount: number;
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
}

export interface Award {
  ruleId: string;
  points: number;
}

export interface RuleOutcome {
  ruleId: string;
  name: string;
  matched: boolean;
  points: number;
  /** Why a rule did not match, for marketers trying drafts. */
  reason?: string;
}

export interface Evaluation {
  pointsEarned: number;
  awards: Award[];
  outcomes: RuleOutcome[];
}

/**
 * The switching-cost statement: what a member would give up by leaving today, in money, by component.
 * Pure: the service reads the facts, this values them. Points are valued at the program's pointValue
 * (rounding down, as a redemption would pay); pending points net of the debt they repay on release; perks at
 * their value per use left this period (one use for perks without a quota); the tier at the extra points it
 * earned over the lowest tier on the member's spend of the last 12 months; the streak is shown for what it
 * unlocks next but valued at 0 (its worth is in the perks it keeps unlocked, already counted). Every value
 * and the total are capped at MAX_TOTAL, so the reply never carries an integer a client cannot read exactly.
 */
import { MAX_TOTAL } from "../platform/assert";
import { mulDiv } from "../platform/math";

export const COMPONENT_KINDS = ["points", "pending_points", "credit", "perks", "tier", "streak", "rebate_accrued"] as const;
export type ComponentKind = (typeof COMPONENT_KINDS)[number];

export interface SwitchingFacts {
  currency: string;
  pointValue: { points: number; amount: number };
  balance: number;
  pending: number;
  credit: number;
  perks: { name: string; value: number; unlocked: boolean; usesLeft: number | null; per: string | null }[];
  tier: { name: string; extraPoints: number; spend: number } | null;
  streak: { months: number; next: { perk: string; value: number; monthsToGo: number } | null } | null;
  rebate: { value: number; detail: string } | null;
}

export interface Component {
  kind: ComponentKind;
  value: number;
  detail: string;
}

/** Minor units as money text, e.g. 123456 CNY -> "CN¥1,234.56". */
export function money(minor: number, currency: string): string {
  const format = new Intl.NumberFormat("en", { style: "currency", currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minor / 10 ** digits);
}

/**
 * At most MAX_TOTAL. Perk definitions are bounded so their sum stays far below it (MAX_PERK_WORTH), but a
 * balance near MAX_TOTAL points at a pointValue of many minor units per point is worth more than JSON
 * numbers hold exactly: such a value shows as MAX_TOTAL rather than as a rounded number.
 */
const capped = (value: number) => Math.min(value, MAX_TOTAL);

/**
 * The capped sum of non-negative integers. Exact while it stays at most MAX_TOTAL; past it the float sum of
 * integers is at least 2^53, so it caps rather than rounding back below.
 */
const cappedSum = (values: readonly number[]) => values.reduce((sum, v) => capped(sum + capped(v)), 0);

const worth = (f: SwitchingFacts, points: number) =>
  capped(mulDiv(Math.max(0, points), f.pointValue.amount, f.pointValue.points));

/**
 * Pending points that will be the member's: on release they repay a debt first (a balance below zero
 * after refund reversals of spent points), so only what is left over is worth anything.
 */
const pendingKept = (f: SwitchingFacts) => Math.max(0, f.pending + Math.min(0, f.balance));

function pendingComponent(f: SwitchingFacts): Component {
  const kept = pendingKept(f);
  const repaid = f.pending - kept;
  const debt = repaid > 0 ? ` (${repaid} of them repay a debt of ${-f.balance} points when released)` : "";
  return {
    kind: "pending_points",
    value: worth(f, kept),
    detail: `${f.pending} points still in the return window${debt}, worth ${money(worth(f, kept), f.currency)}.`,
  };
}

function perksComponent(f: SwitchingFacts): Component {
  const held = f.perks.filter((p) => p.unlocked && p.usesLeft !== 0);
  const value = cappedSum(held.map((p) => p.value * (p.usesLeft ?? 1)));
  const parts = held.map((p) =>
    p.usesLeft === null
      ? `${p.name} (${money(p.value, f.currency)})`
      : `${p.usesLeft} x ${p.name} left this ${p.per} (${money(p.value, f.currency)} each)`,
  );
  return {
    kind: "perks",
    value,
    detail: parts.length ? `Unlocked perks: ${parts.join("; ")}.` : "No unlocked perk with a use left.",
  };
}

/**
 * @example switchingCost({ currency: "CNY", pointValue: { points: 100, amount: 100 }, balance: 500, ... })
 * // { currency: "CNY", total: ..., components: [{ kind: "points", value: 500, detail: "500 points ..." }, ...] }
 */
export function switchingCost(f: SwitchingFacts) {
  const components: Component[] = [
    {
      kind: "points",
      value: worth(f, f.balance),
      detail: `${Math.max(0, f.balance)} spendable points, worth ${money(worth(f, f.balance), f.currency)}.`,
    },
    pendingComponent(f),
    {
      kind: "credit",
      value: capped(Math.max(0, f.credit)),
      detail: `${money(Math.max(0, f.credit), f.currency)} of store credit.`,
    },
    perksComponent(f),
  ];
  if (f.tier)
    components.push({
      kind: "tier",
      value: worth(f, f.tier.extraPoints),
      detail:
        `${f.tier.name} earned ${f.tier.extraPoints} more points than the lowest tier on ${money(f.tier.spend, f.currency)} ` +
        `spent in the last 12 months, worth ${money(worth(f, f.tier.extraPoints), f.currency)}.`,
    });
  if (f.streak)
    components.push({
      kind: "streak",
      value: 0,
      detail:
        `${f.streak.months} consecutive months with an order` +
        (f.streak.next
          ? `; ${f.streak.next.monthsToGo} more unlock ${f.streak.next.perk} (${money(f.streak.next.value, f.currency)}).`
          : "."),
    });
  if (f.rebate) components.push({ kind: "rebate_accrued", value: capped(f.rebate.value), detail: f.rebate.detail });
  return { currency: f.currency, total: cappedSum(components.map((c) => c.value)), components };
}

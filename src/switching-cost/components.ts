/**
 * The switching-cost statement: what a member would give up by leaving today, in money, by component.
 * Pure: the service reads the facts, this values them. Points are valued at the program's pointValue
 * (rounding down, as a redemption would pay); perks at their value per use left this period (one use for
 * perks without a quota); the tier at the extra points it earned over the lowest tier on the member's
 * spend of the last 12 months; the streak is shown for what it unlocks next but valued at 0 (its worth is in
 * the perks it keeps unlocked, already counted).
 */
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

const worth = (f: SwitchingFacts, points: number) => mulDiv(Math.max(0, points), f.pointValue.amount, f.pointValue.points);

function perksComponent(f: SwitchingFacts): Component {
  const held = f.perks.filter((p) => p.unlocked && p.usesLeft !== 0);
  const value = held.reduce((sum, p) => sum + p.value * (p.usesLeft ?? 1), 0);
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
    {
      kind: "pending_points",
      value: worth(f, f.pending),
      detail: `${f.pending} points still in the return window, worth ${money(worth(f, f.pending), f.currency)}.`,
    },
    { kind: "credit", value: Math.max(0, f.credit), detail: `${money(Math.max(0, f.credit), f.currency)} of store credit.` },
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
  if (f.rebate) components.push({ kind: "rebate_accrued", value: f.rebate.value, detail: f.rebate.detail });
  return { currency: f.currency, total: components.reduce((sum, c) => sum + c.value, 0), components };
}

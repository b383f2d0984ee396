/**
 * Stamp cards, pure: how many stamps an order adds to each active card, and how many cards it completes.
 * The order batch writes the plan with a compare-and-set on the member's stamps (a concurrent order of the
 * same member makes it plan again), and pays each completed card in the same batch: points through the
 * ledger, or a voucher. Refunds do not take stamps back.
 */
import type { OrderFacts, OrderItem } from "./types";

export const STAMP_COUNTS = ["orders", "quantity"] as const;
/** Cards one order may complete on one card; stamps beyond stay on the card for the next order. */
export const MAX_COMPLETIONS_PER_ORDER = 50;

export type StampReward = { kind: "points"; points: number } | { kind: "voucher"; name: string; value: number };

export interface StampCard {
  id: string;
  name: string;
  counts: (typeof STAMP_COUNTS)[number];
  match: { skus?: string[]; categories?: string[]; minAmount?: number } | null;
  stamps: number;
  reward: StampReward;
}

export interface StampStep {
  cardId: string;
  /** The member's stamps on the card as read (the write checks them). */
  before: number;
  after: number;
  completions: number;
  reward: StampReward;
}

function itemMatches(card: StampCard, item: OrderItem): boolean {
  const { skus, categories } = card.match ?? {};
  return (
    (!skus?.length || skus.includes(item.sku)) &&
    (!categories?.length || (item.category !== undefined && categories.includes(item.category)))
  );
}

/** Stamps the order adds to a card. */
export function stampsFor(card: StampCard, order: OrderFacts): number {
  if (card.match?.minAmount !== undefined && order.amount < card.match.minAmount) return 0;
  const byItems = Boolean(card.match?.skus?.length || card.match?.categories?.length);
  const items = (order.items ?? []).filter((item) => itemMatches(card, item));
  if (card.counts === "orders") return !byItems || items.length > 0 ? 1 : 0;
  return items.reduce((sum, item) => sum + item.quantity, 0);
}

/**
 * @example
 * planStamps([{ id: "tea10", counts: "orders", stamps: 10, ... }], new Map([["tea10", 9]]), order)
 * // [{ cardId: "tea10", before: 9, after: 0, completions: 1, reward: ... }]
 */
export function planStamps(cards: readonly StampCard[], progress: ReadonlyMap<string, number>, order: OrderFacts): StampStep[] {
  return cards.flatMap((card) => {
    const added = stampsFor(card, order);
    if (added === 0) return [];
    const before = progress.get(card.id) ?? 0;
    const total = before + added;
    const completions = Math.min(Math.floor(total / card.stamps), MAX_COMPLETIONS_PER_ORDER);
    return [{ cardId: card.id, before, after: total - completions * card.stamps, completions, reward: card.reward }];
  });
}

/**
 * Stamp cards, pure: how many stamps an order adds to each active card, and how many cards it completes.
 * The order batch writes the plan with a compare-and-set on the member's stamps (a concurrent order of the
 * same member makes it plan again), and pays each completed card in the same batch: points through the
 * ledger, or a voucher. The order records what it gave each card (StampRecord), so a refund can take its
 * stamps back (stamp-take-back.ts); stamps taken back from a card that already paid out are a debt, which
 * the member's next stamps on that card pay first.
 */
import type { StampRecord } from "./stamp-take-back";
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

/** A member's state on one card. */
export interface StampProgress {
  stamps: number;
  /** Stamps owed from refunds after the card paid out; new stamps pay it first. */
  debt: number;
}

export interface StampStep {
  cardId: string;
  /** The member's stamps and debt on the card as read (the write checks both). */
  before: StampProgress;
  after: StampProgress;
  completions: number;
  reward: StampReward;
  /** What the order gave the card, stored on the order for refunds. */
  record: StampRecord;
}

function itemMatches(card: StampCard, item: OrderItem): boolean {
  const { skus, categories } = card.match ?? {};
  return (
    (!skus?.length || skus.includes(item.sku)) &&
    (!categories?.length || (item.category !== undefined && categories.includes(item.category)))
  );
}

function byItems(card: StampCard): boolean {
  return Boolean(card.match?.skus?.length || card.match?.categories?.length);
}

/** The order's units that count for a card, by sku (a sku on several lines is summed). */
function matchingUnits(card: StampCard, order: OrderFacts): Map<string, number> {
  const units = new Map<string, number>();
  for (const item of order.items ?? [])
    if (itemMatches(card, item)) units.set(item.sku, (units.get(item.sku) ?? 0) + item.quantity);
  return units;
}

/** Advice on a card's definition, never a refusal (returned by PUT /v1/stamp-cards/{cardId}). */
export interface StampCardWarning {
  code: "visit_kept_on_partial_refund";
  message: string;
}

/**
 * An `orders` card without `minAmount` keeps a visit's stamp through any partial refund by amount (stamps go
 * back in the member's favour, as points do): ten orders each refunded all but 0.01 still complete ten visits.
 */
export function stampCardWarnings(card: Pick<StampCard, "counts" | "match">): StampCardWarning[] {
  if (card.counts !== "orders" || card.match?.minAmount !== undefined) return [];
  return [
    {
      code: "visit_kept_on_partial_refund",
      message:
        "This card counts orders and has no match.minAmount: an order refunded all but a little keeps its stamp. " +
        "Set minAmount so a stamp goes back once the order's net amount falls below it.",
    },
  ];
}

/** Stamps the order adds to a card. */
export function stampsFor(card: StampCard, order: OrderFacts): number {
  return stampGrant(card, order).given;
}

/** Stamps the order adds to a card, and what a refund needs to take them back. */
function stampGrant(card: StampCard, order: OrderFacts): StampRecord {
  const record: StampRecord = { cardId: card.id, counts: card.counts, given: 0, taken: 0, byAmount: 0 };
  if (card.match?.minAmount !== undefined) {
    if (order.amount < card.match.minAmount) return record;
    record.minAmount = card.match.minAmount;
  }
  const units = matchingUnits(card, order);
  const quantity = [...units.values()].reduce((sum, n) => sum + n, 0);
  record.given = card.counts === "orders" ? (!byItems(card) || quantity > 0 ? 1 : 0) : quantity;
  // An order card without item conditions counts the order, not its units: only amounts take it back.
  if (card.counts === "quantity" || byItems(card)) record.units = [...units];
  return record;
}

/**
 * @example
 * planStamps([{ id: "tea10", counts: "orders", stamps: 10, ... }], new Map([["tea10", { stamps: 9, debt: 0 }]]), order)
 * // [{ cardId: "tea10", before: { stamps: 9, debt: 0 }, after: { stamps: 0, debt: 0 }, completions: 1, ... }]
 */
export function planStamps(
  cards: readonly StampCard[],
  progress: ReadonlyMap<string, StampProgress>,
  order: OrderFacts,
): StampStep[] {
  return cards.flatMap((card) => {
    const record = stampGrant(card, order);
    if (record.given === 0) return [];
    const before = progress.get(card.id) ?? { stamps: 0, debt: 0 };
    const repaid = Math.min(before.debt, record.given);
    const total = before.stamps + record.given - repaid;
    const completions = Math.min(Math.floor(total / card.stamps), MAX_COMPLETIONS_PER_ORDER);
    const after = { stamps: total - completions * card.stamps, debt: before.debt - repaid };
    return [{ cardId: card.id, before, after, completions, reward: card.reward, record }];
  });
}

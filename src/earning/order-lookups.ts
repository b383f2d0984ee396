/**
 * What evaluating one order works out at most once, and only when a rule asks for it: the local date and
 * weekday in the merchant's timezone, the member's enrolment date, the value of the cart by category and by
 * sku, and the variables CEL expressions see. Each would otherwise cost a timezone conversion or a walk over
 * the items per rule.
 */
import { type LocalDate, localDate } from "../platform/timezone";
import { isoWeekday } from "./calendar";
import { type ExpressionContext, expressionContext } from "./expression";
import type { CompiledRule } from "./rule-set";
import type { MemberFacts, OrderFacts, OrderItem } from "./types";

function itemValue(item: OrderItem): number {
  return item.quantity * item.unitPrice;
}

/**
 * The value of the items under each key. Item values are safe integers (quantity and unit price are
 * validated, and so is their product), so sums do not depend on the order they are added in.
 */
function valueBy(items: readonly OrderItem[], keyOf: (item: OrderItem) => string | undefined): Map<string, number> {
  const totals = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    if (key !== undefined) totals.set(key, (totals.get(key) ?? 0) + itemValue(item));
  }
  return totals;
}

/** The value of the items under the keys, null when no item has any of them. */
function valueOfKeys(totals: ReadonlyMap<string, number>, keys: ReadonlySet<string>): number | null {
  let value: number | null = null;
  for (const key of keys) {
    const v = totals.get(key);
    if (v !== undefined) value = (value ?? 0) + v;
  }
  return value;
}

export class OrderLookups {
  private weekdayMemo = 0;
  private dateMemo: LocalDate | undefined;
  private enrolledMemo: LocalDate | null | undefined;
  private contextMemo: ExpressionContext | undefined;
  private byCategory: Map<string, number> | undefined;
  private bySku: Map<string, number> | undefined;

  constructor(
    readonly order: OrderFacts,
    readonly member: MemberFacts,
    readonly timezone: string,
  ) {}

  /** ISO weekday of the order, locally. */
  weekday(): number {
    if (this.weekdayMemo === 0) this.weekdayMemo = isoWeekday(this.order.occurredAt, this.timezone);
    return this.weekdayMemo;
  }

  /** The order's local date. */
  localDate(): LocalDate {
    this.dateMemo ??= localDate(this.order.occurredAt, this.timezone);
    return this.dateMemo;
  }

  /** The local date the member enrolled, null for a member enrolled by this order. */
  enrolledDate(): LocalDate | null {
    if (this.enrolledMemo === undefined) {
      const at = this.member.enrolledAt;
      this.enrolledMemo = at === undefined ? null : localDate(at, this.timezone);
    }
    return this.enrolledMemo;
  }

  expressionContext(): ExpressionContext {
    this.contextMemo ??= expressionContext(this.order, this.member);
    return this.contextMemo;
  }

  /**
   * The value of the items a rule names by category and/or sku, null when none matches. Call only for a rule
   * that names some.
   */
  namedItemsValue(rule: CompiledRule): number | null {
    const { categories, skus } = rule;
    if (categories !== null && skus !== null) return this.valueMatchingBoth(categories, skus);
    if (categories !== null) {
      this.byCategory ??= valueBy(this.order.items ?? [], (item) => item.category);
      return valueOfKeys(this.byCategory, categories);
    }
    if (skus !== null) {
      this.bySku ??= valueBy(this.order.items ?? [], (item) => item.sku);
      return valueOfKeys(this.bySku, skus);
    }
    return null;
  }

  /** Rules naming both: an item counts when it has one of the categories and one of the skus. */
  private valueMatchingBoth(categories: ReadonlySet<string>, skus: ReadonlySet<string>): number | null {
    let value: number | null = null;
    for (const item of this.order.items ?? []) {
      if (item.category !== undefined && categories.has(item.category) && skus.has(item.sku))
        value = (value ?? 0) + itemValue(item);
    }
    return value;
  }
}

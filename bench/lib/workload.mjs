// @ts-check
// What the benchmark sends: members, carts, earning rules and tiers. Deterministic (no Math.random)
// so two runs send the same traffic.

export const CURRENCY = "CNY";
export const CATEGORIES = ["grocery", "electronics", "books", "apparel", "luxury", "home"];
export const CHANNELS = ["web", "app", "store"];

/** @param {number} i */
export const memberId = (i) => `m${String(i).padStart(5, "0")}`;

/**
 * Cheap integer hash (xorshift-multiply) so carts vary without randomness.
 * @param {number} n
 */
function hash(n) {
  let x = (n + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * An order body with 3-5 items in several categories; `amount` is the sum of the lines.
 * @param {number} n sequence number: drives item count, categories, prices and channel
 * @param {string} member
 * @param {string} orderId
 */
export function orderBody(n, member, orderId) {
  const h = hash(n);
  const count = 3 + (h % 3);
  const items = [];
  let amount = 0;
  for (let k = 0; k < count; k++) {
    const hk = hash(n * 7 + k);
    const quantity = 1 + (hk % 3);
    const unitPrice = 500 + ((hk >>> 3) % 196) * 100; // 5.00 .. 200.00
    // A sku names one product: its category follows from it (the engine refuses one sku in two categories).
    const sku = (hk >>> 11) % 500;
    items.push({
      sku: `sku-${sku}`,
      category: CATEGORIES[sku % CATEGORIES.length],
      quantity,
      unitPrice,
    });
    amount += quantity * unitPrice;
  }
  return { orderId, memberId: member, amount, currency: CURRENCY, channel: CHANNELS[(h >>> 4) % CHANNELS.length], items };
}

export const PROGRAM = {
  pointValue: { points: 100, amount: 100 },
  pendingDays: 0, // points must be spendable at once, redemptions run right after seeding
  expiry: { policy: "none" },
  autoEnroll: true,
};

/**
 * Ten active rules that all get evaluated against every cart: every effect kind, every condition kind
 * the load exercises (minAmount, categories, channels, daysOfWeek, firstOrder). Days 1-5 mean Monday to
 * Friday under both 0=Sunday and 1=Monday numbering; 6 is Saturday under both.
 */
export const RULES = [
  {
    id: "base",
    name: "Base: 1 point per 1.00",
    priority: 0,
    conditions: {},
    effect: { kind: "per_amount", points: 1, per: 100 },
  },
  {
    id: "electronics-x2",
    name: "Electronics: 2 points per 1.00",
    priority: 10,
    conditions: { categories: ["electronics"] },
    effect: { kind: "per_amount", points: 2, per: 100 },
  },
  {
    id: "big-basket",
    name: "Basket over 200.00: 50 points",
    priority: 20,
    conditions: { minAmount: 20000 },
    effect: { kind: "fixed", points: 50 },
  },
  {
    id: "app-bonus",
    name: "App orders: 20 points",
    priority: 30,
    conditions: { channels: ["app"] },
    effect: { kind: "fixed", points: 20 },
  },
  {
    id: "weekday-double",
    name: "Weekdays: double points",
    priority: 40,
    conditions: { daysOfWeek: [1, 2, 3, 4, 5] },
    effect: { kind: "multiplier", factor: 2 },
  },
  {
    id: "grocery-big-triple",
    name: "Big grocery baskets: triple",
    priority: 50,
    conditions: { categories: ["grocery"], minAmount: 50000 },
    effect: { kind: "multiplier", factor: 3 },
  },
  {
    id: "luxury-in-store",
    name: "Luxury in store: 100 points",
    priority: 60,
    conditions: { categories: ["luxury"], channels: ["store"] },
    effect: { kind: "fixed", points: 100 },
  },
  {
    id: "online-extra",
    name: "Online: 1 point per 2.00",
    priority: 70,
    conditions: { channels: ["web", "app"] },
    effect: { kind: "per_amount", points: 1, per: 200 },
  },
  {
    id: "saturday-books",
    name: "Saturday books: 30 points",
    priority: 80,
    conditions: { categories: ["books"], daysOfWeek: [6] },
    effect: { kind: "fixed", points: 30 },
  },
  {
    id: "welcome",
    name: "First order: 200 points",
    priority: 90,
    conditions: { firstOrder: true },
    effect: { kind: "fixed", points: 200 },
  },
].map((r) => ({ active: true, ...r }));

/**
 * A four-tier ladder on rolling 365-day spend (minor units).
 * @param {{ withMultipliers?: boolean }} [options]
 */
export function tiersBody({ withMultipliers = true } = {}) {
  const ladder = [
    { id: "bronze", name: "Bronze", threshold: 0, earnMultiplier: 1 },
    { id: "silver", name: "Silver", threshold: 200_000, earnMultiplier: 1.25 },
    { id: "gold", name: "Gold", threshold: 1_000_000, earnMultiplier: 1.5 },
    { id: "platinum", name: "Platinum", threshold: 5_000_000, earnMultiplier: 2 },
  ];
  return {
    metric: "spend",
    window: { kind: "rolling_days", days: 365 },
    tiers: withMultipliers ? ladder : ladder.map(({ earnMultiplier: _, ...t }) => t),
    downgrade: { graceDays: 0 },
  };
}

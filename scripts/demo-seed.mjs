// @ts-check

/**
 * @typedef {object} Demo the demo merchant's keys, kept between starts
 * @property {string} merchantId
 * @property {string} currency
 * @property {string} timezone
 * @property {string} adminKey
 * @property {string} checkoutKey
 * @property {string} readKey
 * @property {string[]} members
 */

const PROGRAM = {
  pointValue: { points: 100, amount: 100 },
  pendingDays: 0,
  expiry: { policy: "after_earn", days: 365 },
  autoEnroll: true,
};

const RULES = [
  { id: "base", name: "1 point per 1.00", effect: { kind: "per_amount", points: 1, per: 100 } },
  {
    id: "tea-bonus",
    name: "Double on tea",
    conditions: { categories: ["tea"] },
    effect: { kind: "per_amount", points: 1, per: 100 },
  },
  { id: "welcome", name: "Welcome bonus", conditions: { firstOrder: true }, effect: { kind: "fixed", points: 50 } },
  { id: "weekend", name: "Weekend x2", conditions: { daysOfWeek: [6, 7] }, effect: { kind: "multiplier", factor: 2 } },
];

/**
 * Seeds a demo merchant through the public API: program, rules, members and a first order each.
 * @param {string} baseUrl
 * @param {string | undefined} platformToken from .dev.vars; without it the first call is refused
 * @returns {Promise<Demo>}
 */
export async function seedDemo(baseUrl, platformToken) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {string | undefined} token
   * @param {unknown} [body]
   * @param {string} [idempotencyKey]
   */
  const call = async (method, path, token, body, idempotencyKey) => {
    /** @type {Record<string, string>} */
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    const r = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const created = await call("POST", "/v1/merchants", platformToken, {
    name: "Demo Tea House",
    currency: "CNY",
    timezone: "Asia/Shanghai",
  });
  const admin = created.apiKey.secret;
  const checkout = (await call("POST", "/v1/api-keys", admin, { scope: "checkout", name: "demo checkout" })).secret;
  const read = (await call("POST", "/v1/api-keys", admin, { scope: "read", name: "demo read" })).secret;
  await call("PUT", "/v1/program", admin, PROGRAM);
  for (const rule of RULES) await call("POST", "/v1/rules", admin, rule);
  const members = ["alice", "bob", "chen"];
  for (const [i, id] of members.entries()) {
    await call("PUT", `/v1/members/${id}`, checkout, { name: id[0].toUpperCase() + id.slice(1) });
    await call(
      "POST",
      "/v1/orders",
      checkout,
      {
        orderId: `demo-order-${id}`,
        memberId: id,
        amount: 8800 + i * 1000,
        currency: "CNY",
        items: [
          { sku: "longjing-50g", category: "tea", quantity: 1, unitPrice: 6800 + i * 1000 },
          { sku: "cup", category: "ware", quantity: 1, unitPrice: 2000 },
        ],
      },
      `demo-order-${id}`,
    );
  }
  return {
    merchantId: created.merchant.id,
    currency: created.merchant.currency,
    timezone: created.merchant.timezone,
    adminKey: admin,
    checkoutKey: checkout,
    readKey: read,
    members,
  };
}

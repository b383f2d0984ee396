/** member_periods: every order and refund moves its member's day and month sums in the merchant's timezone. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { resetClock, setClock } from "../src/platform/clock";
import { postOrder, uid } from "./support/api";
import { merchantWith, refund } from "./support/flows";

async function periodsOf(merchantId: string, memberId: string) {
  const { results } = await env.DB.prepare(
    "SELECT period, spend, points, orders FROM member_periods WHERE merchant_id = ? AND member_id = ? ORDER BY period",
  )
    .bind(merchantId, memberId)
    .all();
  return results;
}

describe("member activity per period", () => {
  it("counts an order in the local day and month, and a later refund in the order's period", async () => {
    const m = await merchantWith({});
    const member = uid("p");
    // 23:59 local on 31 December in Shanghai is still 31 December; 00:01 on 1 January is the new year,
    // while UTC is still 31 December.
    await postOrder(m, { orderId: "o-old", memberId: member, amount: 10000, occurredAt: "2025-12-31T15:59:00.000Z" });
    await postOrder(m, { orderId: "o-new", memberId: member, amount: 5000, occurredAt: "2025-12-31T16:01:00.000Z" });
    expect(await periodsOf(m.id, member)).toEqual([
      { period: "all", spend: 15000, points: 150, orders: 2 },
      { period: "d2025-12-31", spend: 10000, points: 100, orders: 1 },
      { period: "d2026-01-01", spend: 5000, points: 50, orders: 1 },
      { period: "m2025-12", spend: 10000, points: 100, orders: 1 },
      { period: "m2026-01", spend: 5000, points: 50, orders: 1 },
    ]);
    // Partial then full refund of the December order: net spend and points fall, the order stops counting
    // only when refunded in full, and nothing moves in January.
    expect((await refund(m, "o-old", { amount: 2500 })).status).toBe(201);
    expect((await refund(m, "o-old", {})).status).toBe(201);
    const after = await periodsOf(m.id, member);
    expect(after.filter((p) => String(p.period).endsWith("12-31") || p.period === "m2025-12")).toEqual([
      { period: "d2025-12-31", spend: 0, points: 0, orders: 0 },
      { period: "m2025-12", spend: 0, points: 0, orders: 0 },
    ]);
    expect(after.find((p) => p.period === "m2026-01")).toEqual({ period: "m2026-01", spend: 5000, points: 50, orders: 1 });
    expect(after.find((p) => p.period === "all")).toEqual({ period: "all", spend: 5000, points: 50, orders: 1 });
  });

  it("a refused order writes no activity", async () => {
    setClock(Date.parse("2026-06-01T00:00:00.000Z"));
    try {
      const m = await merchantWith({});
      const member = uid("p");
      const r = await postOrder(m, { orderId: "o-x", memberId: member, amount: 100, currency: "USD" });
      expect(r.status).toBe(422);
      expect(await periodsOf(m.id, member)).toEqual([]);
    } finally {
      resetClock();
    }
  });
});

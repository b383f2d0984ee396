/**
 * Hot paths keep their D1 round trips: an order is one read round trip (riding along with authentication)
 * and one write batch; a balance read is one round trip. Counted on a D1 binding that records every call.
 */
import { describe, expect, it } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, postOrder, uid } from "./support/api";
import { tripsOf } from "./support/d1-trips";

describe("D1 round trips of the hot paths", () => {
  it("an order reads in one round trip with authentication and writes in one batch; a balance read is one", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    // Ten active rules with limits and an expression: still one read round trip and one write batch.
    for (let i = 0; i < 9; i++)
      await createRule(m, {
        id: `r${i}`,
        name: `r${i}`,
        conditions: i === 0 ? { expression: "order.amount > 100" } : {},
        limits: { perMember: { points: 1000, per: "day" }, budget: 100_000 },
        effect: { kind: "fixed", points: 1 },
      });
    await postOrder(m, { orderId: uid("o"), memberId: "trips", amount: 1000 });
    const order = await tripsOf(
      new Request("http://engine.test/v1/orders", {
        method: "POST",
        headers: { authorization: `Bearer ${m.checkout}`, "content-type": "application/json", "idempotency-key": uid("k") },
        body: JSON.stringify({ orderId: uid("o"), memberId: "trips", amount: 12800, currency: "CNY" }),
      }),
    );
    expect(order).toEqual({ status: 201, trips: 2 });
    const read = await tripsOf(
      new Request("http://engine.test/v1/members/trips", { headers: { authorization: `Bearer ${m.checkout}` } }),
    );
    expect(read).toEqual({ status: 200, trips: 1 });
  });

  it("a limited rule or a stamp card added after the cache was built is read at once: no order is planned twice", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const orderTrips = () =>
      tripsOf(
        new Request("http://engine.test/v1/orders", {
          method: "POST",
          headers: { authorization: `Bearer ${m.checkout}`, "content-type": "application/json", "idempotency-key": uid("k") },
          body: JSON.stringify({ orderId: uid("o"), memberId: "late", amount: 1000, currency: "CNY" }),
        }),
      );
    // Cached without limited rules or cards: the steady checkout skips rule usage and stamps.
    expect(await orderTrips()).toEqual({ status: 201, trips: 2 });
    // A budget the next orders approach. The member's next order speculates (earning/member-snapshot.ts) and
    // its batch's guard finds the configuration moved: one refused batch, then a read and a write.
    await createRule(m, { id: "capped", name: "capped", limits: { budget: 25 }, effect: { kind: "fixed", points: 10 } });
    expect(await orderTrips()).toEqual({ status: 201, trips: 3 });
    // With a limited rule nothing speculates: planned from usage as read, the batch's budget guard never fires.
    for (let i = 0; i < 2; i++) expect(await orderTrips()).toEqual({ status: 201, trips: 2 });
    // A card: planned from the member's stamps as read, the batch's compare-and-set holds.
    await call("PUT", "/v1/stamp-cards/visits", {
      token: m.admin,
      body: { name: "visits", counts: "orders", stamps: 3, reward: { kind: "points", points: 5 } },
    });
    for (let i = 0; i < 4; i++) expect(await orderTrips()).toEqual({ status: 201, trips: 2 });
  });
});

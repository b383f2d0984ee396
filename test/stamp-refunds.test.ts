/**
 * Refunds take stamps back: the stamps of refunded units, in proportion for amounts, all of them when the
 * order no longer qualifies; from a card that already paid out they become stamp debt on the next card.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createMerchant, ledger, member, postOrder, type TestMerchant, uid } from "./support/api";
import { onceBefore, postThrough } from "./support/d1-faults";
import { refund } from "./support/flows";
import { checkStampInvariants } from "./support/invariants";

const teaCard = {
  name: "Fifth tea free",
  counts: "quantity",
  match: { categories: ["tea"] },
  stamps: 5,
  reward: { kind: "voucher", name: "Free tea", value: 1500 },
};
const visitCard = { name: "Third visit", counts: "orders", stamps: 3, reward: { kind: "points", points: 100 } };

async function cardOf(m: TestMerchant, memberId: string, cardId: string) {
  const r = await call("GET", `/v1/members/${memberId}/stamp-cards`, { token: m.read });
  expect(r.status, r.text).toBe(200);
  return r.body.data.find((c: { cardId: string }) => c.cardId === cardId);
}

async function merchantWithCard(id: string, card: object) {
  const m = await createMerchant();
  expect((await call("PUT", `/v1/stamp-cards/${id}`, { token: m.admin, body: card })).status).toBe(201);
  return m;
}

describe("stamps taken back by refunds", () => {
  it("a refund by items takes back the stamps of refunded matching units, not of other items", async () => {
    const m = await merchantWithCard("tea5", teaCard);
    const items = [
      { sku: "lj", category: "tea", quantity: 3, unitPrice: 1000 },
      { sku: "cake", category: "food", quantity: 1, unitPrice: 2000 },
    ];
    expect((await postOrder(m, { orderId: "o1", memberId: "t", amount: 5000, items })).status).toBe(201);
    expect(await cardOf(m, "t", "tea5")).toMatchObject({ stamps: 3, stampDebt: 0 });

    const cake = await refund(m, "o1", { items: [{ sku: "cake", quantity: 1 }] });
    expect(cake.status, cake.text).toBe(201);
    expect(cake.body.stampsTakenBack).toEqual([]);
    const tea = await refund(m, "o1", { items: [{ sku: "lj", quantity: 2 }] });
    expect(tea.body.stampsTakenBack).toEqual([{ cardId: "tea5", stamps: 2 }]);
    expect(await cardOf(m, "t", "tea5")).toMatchObject({ stamps: 1, stampDebt: 0 });
    // The rest, by amount: the order is refunded in full, so its last stamp goes too.
    const rest = await refund(m, "o1");
    expect(rest.body.stampsTakenBack).toEqual([{ cardId: "tea5", stamps: 1 }]);
    expect(await cardOf(m, "t", "tea5")).toMatchObject({ stamps: 0, stampDebt: 0, completed: 0 });
    await checkStampInvariants(m.id);
  });

  it("a unit paid nothing (a free sample) comes back by items: no money or points move, its stamp goes back", async () => {
    const m = await merchantWithCard("tea5", teaCard);
    const items = [
      { sku: "lj", category: "tea", quantity: 1, unitPrice: 1000 },
      { sku: "sample", category: "tea", quantity: 1, unitPrice: 0 },
    ];
    expect((await postOrder(m, { orderId: "free", memberId: "s", amount: 1000, items })).status).toBe(201);
    expect(await cardOf(m, "s", "tea5")).toMatchObject({ stamps: 2 });
    const back = await refund(m, "free", { items: [{ sku: "sample", quantity: 1 }] });
    expect(back.status, back.text).toBe(201);
    expect(back.body).toMatchObject({ amount: 0, pointsReversed: 0, stampsTakenBack: [{ cardId: "tea5", stamps: 1 }] });
    expect(await cardOf(m, "s", "tea5")).toMatchObject({ stamps: 1 });
    // Returned once: the sample is not left to refund.
    const again = await refund(m, "free", { items: [{ sku: "sample", quantity: 1 }] });
    expect(again.status, again.text).toBe(422);
    await checkStampInvariants(m.id);
  });

  it("a free sample refunded twice at once takes its stamp back once: the second refund is planned again, 422", async () => {
    const m = await merchantWithCard("tea2", { ...teaCard, stamps: 2 });
    const items = [
      { sku: "lj", category: "tea", quantity: 1, unitPrice: 1000 },
      { sku: "sample", category: "tea", quantity: 1, unitPrice: 0 },
    ];
    // 2 stamps: the card completes once (a voucher), 0 stamps left.
    expect((await postOrder(m, { orderId: "free2", memberId: "s", amount: 1000, items })).status).toBe(201);
    expect(await cardOf(m, "s", "tea2")).toMatchObject({ stamps: 0, stampDebt: 0, completed: 1 });
    // A refund of the sample reads the order; before its batch runs, another refund of the sample commits. A
    // refund of 0 moves no refunded total: the compare-and-set must pin the items and stamp records too.
    const sample = [{ sku: "sample", quantity: 1 }];
    const race = onceBefore(env.DB, "INSERT INTO refunds", async () => {
      const r = await refund(m, "free2", { items: sample });
      expect(r.status, r.text).toBe(201);
    });
    const response = await postThrough(race.db, "/v1/orders/free2/refunds", m.checkout, { refundId: uid("r"), items: sample });
    const text = await response.text();
    expect(race.fired()).toBe(true);
    expect(response.status, text).toBe(422);
    // One sample bought, one returned: one stamp of debt, never two.
    expect(await cardOf(m, "s", "tea2")).toMatchObject({ stamps: 0, stampDebt: 1 });
    await checkStampInvariants(m.id);
  });

  it("one sku has one category: lines that disagree are refused, naming the line", async () => {
    const m = await merchantWithCard("tea5", teaCard);
    // Which line a returned unit came from is unknown, so the tea's stamp could go back for the cake.
    const items = [
      { sku: "misc", category: "tea", quantity: 1, unitPrice: 1000 },
      { sku: "misc", category: "food", quantity: 1, unitPrice: 100 },
      { sku: "misc", quantity: 1, unitPrice: 100 },
    ];
    const r = await postOrder(m, { orderId: "mixed", memberId: "s", amount: 1200, items });
    expect(r.status, r.text).toBe(400);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(["items.1.category", "items.2.category"]);
    // The same sku at two prices, one category: accepted.
    const same = items.slice(0, 2).map((item) => ({ ...item, category: "tea" }));
    expect((await postOrder(m, { orderId: "same", memberId: "s", amount: 1100, items: same })).status).toBe(201);
  });

  it("refunding other items first does not dilute a refund by amount: parts in any order take what one refund does", async () => {
    const m = await merchantWithCard("tea20", { ...teaCard, stamps: 20 });
    const items = [
      { sku: "lj", category: "tea", quantity: 10, unitPrice: 100 },
      { sku: "cake", category: "food", quantity: 1, unitPrice: 1000 },
    ];
    const order = (orderId: string, memberId: string) => postOrder(m, { orderId, memberId, amount: 2000, items });
    const taken = (reply: { body: { stampsTakenBack: { stamps: number }[] } }) => reply.body.stampsTakenBack[0]?.stamps ?? 0;
    // One refund of 1999 by amount: the order is worth 1 of 2000, so 9 of its 10 tea stamps go back.
    expect((await order("one", "one")).status).toBe(201);
    expect(taken(await refund(m, "one", { amount: 1999 }))).toBe(9);
    // The cake by items (no tea stamp), then 999 by amount: 999 of the 1000 the tea is left worth.
    expect((await order("cake-first", "cake-first")).status).toBe(201);
    expect(taken(await refund(m, "cake-first", { items: [{ sku: "cake", quantity: 1 }] }))).toBe(0);
    expect(taken(await refund(m, "cake-first", { amount: 999 }))).toBe(9);
    // 999 by amount first (4.995 stamps of the whole order), then the cake: the same 9 in all.
    expect((await order("amount-first", "amount-first")).status).toBe(201);
    expect(taken(await refund(m, "amount-first", { amount: 999 }))).toBe(4);
    expect(taken(await refund(m, "amount-first", { items: [{ sku: "cake", quantity: 1 }] }))).toBe(5);
    for (const memberId of ["one", "cake-first", "amount-first"])
      expect(await cardOf(m, memberId, "tea20"), memberId).toMatchObject({ stamps: 1, stampDebt: 0 });
    await checkStampInvariants(m.id);
  });

  it("refunds by amount take stamps back in proportion; all of them once below the card's minimum", async () => {
    const m = await createMerchant();
    await call("PUT", "/v1/stamp-cards/tea5", { token: m.admin, body: teaCard });
    await call("PUT", "/v1/stamp-cards/big", {
      token: m.admin,
      body: { ...visitCard, name: "Big visits", match: { minAmount: 4000 } },
    });
    const items = [{ sku: "lj", category: "tea", quantity: 4, unitPrice: 1000 }];
    await postOrder(m, { orderId: "o1", memberId: "a", amount: 5000, items });
    // 1000 of 5000: 4 x 1/5 = 0.8 stamps, rounded in the member's favour; net 4000 still qualifies.
    const first = await refund(m, "o1", { amount: 1000 });
    expect(first.body.stampsTakenBack).toEqual([]);
    // 1250 of 5000 in all: one tea stamp; net 3750 is below the big card's minimum of 4000.
    const second = await refund(m, "o1", { amount: 250 });
    expect(second.body.stampsTakenBack).toEqual([
      { cardId: "big", stamps: 1 },
      { cardId: "tea5", stamps: 1 },
    ]);
    expect(await cardOf(m, "a", "tea5")).toMatchObject({ stamps: 3 });
    expect(await cardOf(m, "a", "big")).toMatchObject({ stamps: 0, stampDebt: 0 });
    await checkStampInvariants(m.id);
  });

  it("a refund after the card paid out leaves stamp debt, repaid by the next stamps; the reward stays", async () => {
    const m = await merchantWithCard("visits", visitCard);
    for (const id of ["v1", "v2", "v3"]) await postOrder(m, { orderId: id, memberId: "d", amount: 1000 });
    expect(await cardOf(m, "d", "visits")).toMatchObject({ stamps: 0, completed: 1 });
    expect((await member(m, "d")).balance).toBe(100);

    const back = await refund(m, "v3");
    expect(back.status, back.text).toBe(201);
    expect(back.body.stampsTakenBack).toEqual([{ cardId: "visits", stamps: 1 }]);
    // Not a negative card, not a silent loss: the card shows 0 stamps and 1 of debt, the reward is kept.
    expect(await cardOf(m, "d", "visits")).toMatchObject({ stamps: 0, stampDebt: 1, completed: 1 });
    expect((await ledger(m, "d")).filter((e) => e.type === "bonus").map((e) => e.points)).toEqual([100]);
    await checkStampInvariants(m.id);

    await postOrder(m, { orderId: "v4", memberId: "d", amount: 1000 });
    expect(await cardOf(m, "d", "visits")).toMatchObject({ stamps: 0, stampDebt: 0 });
    for (const id of ["v5", "v6"]) await postOrder(m, { orderId: id, memberId: "d", amount: 1000 });
    expect(await cardOf(m, "d", "visits")).toMatchObject({ stamps: 2, completed: 1 });
    await postOrder(m, { orderId: "v7", memberId: "d", amount: 1000 });
    expect(await cardOf(m, "d", "visits")).toMatchObject({ stamps: 0, completed: 2 });
    // Refunding an order twice over takes nothing more.
    expect((await refund(m, "v3")).status).toBe(422);
    await checkStampInvariants(m.id);
  });

  it("a refund by items of an orders card takes its stamp once no matching unit is left", async () => {
    const m = await merchantWithCard("teavisit", { ...visitCard, match: { categories: ["tea"] } });
    const items = [
      { sku: "lj", category: "tea", quantity: 2, unitPrice: 1000 },
      { sku: "cake", category: "food", quantity: 1, unitPrice: 1000 },
    ];
    await postOrder(m, { orderId: "o1", memberId: "iv", amount: 3000, items });
    expect((await refund(m, "o1", { items: [{ sku: "lj", quantity: 1 }] })).body.stampsTakenBack).toEqual([]);
    expect((await refund(m, "o1", { items: [{ sku: "lj", quantity: 1 }] })).body.stampsTakenBack).toEqual([
      { cardId: "teavisit", stamps: 1 },
    ]);
    expect(await cardOf(m, "iv", "teavisit")).toMatchObject({ stamps: 0, stampDebt: 0 });
  });

  it("concurrent refunds by items of one order take back each unit's stamp once", async () => {
    const m = await merchantWithCard("tea100", { ...teaCard, stamps: 100 });
    const items = [{ sku: "lj", category: "tea", quantity: 10, unitPrice: 100 }];
    await postOrder(m, { orderId: "o1", memberId: "ci", amount: 1000, items });
    const replies = await Promise.all(Array.from({ length: 6 }, () => refund(m, "o1", { items: [{ sku: "lj", quantity: 2 }] })));
    const ok = replies.filter((r) => r.status === 201);
    expect(ok.length).toBe(5);
    expect(ok.reduce((sum, r) => sum + (r.body.stampsTakenBack[0]?.stamps ?? 0), 0)).toBe(10);
    expect(await cardOf(m, "ci", "tea100")).toMatchObject({ stamps: 0, stampDebt: 0 });
    await checkStampInvariants(m.id);
  });

  it("a full refund of an order that completed its card 50 times leaves debt, not a negative card", async () => {
    const m = await merchantWithCard("tea1", { ...teaCard, stamps: 1 });
    const items = Array.from({ length: 3 }, (_, i) => ({ sku: `t${i}`, category: "tea", quantity: 1_000_000, unitPrice: 1 }));
    expect((await postOrder(m, { orderId: "big", memberId: "hq", amount: 3_000_000, items })).status).toBe(201);
    // At most 50 completions per order; the stamps beyond stay on the card.
    expect(await cardOf(m, "hq", "tea1")).toMatchObject({ stamps: 2_999_950, completed: 50 });
    const back = await refund(m, "big");
    expect(back.status, back.text).toBe(201);
    expect(back.body.stampsTakenBack).toEqual([{ cardId: "tea1", stamps: 3_000_000 }]);
    expect(await cardOf(m, "hq", "tea1")).toMatchObject({ stamps: 0, stampDebt: 50 });
    await checkStampInvariants(m.id);
  });

  it("refunds racing orders of the same member never lose or double a stamp", async () => {
    const m = await merchantWithCard("visits", visitCard);
    for (let i = 0; i < 5; i++) await postOrder(m, { orderId: `p${i}`, memberId: "r", amount: 1000 });
    const replies = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => refund(m, `p${i}`)),
      ...Array.from({ length: 5 }, (_, i) => postOrder(m, { orderId: `n${i}`, memberId: "r", amount: 1000 })),
    ]);
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(201));
    const taken = replies.slice(0, 5).reduce((sum, r) => sum + (r.body.stampsTakenBack[0]?.stamps ?? 0), 0);
    expect(taken).toBe(5);
    // 10 stamps given, 5 taken back: 5 net, whatever the interleaving; the invariant checks the split.
    const card = await cardOf(m, "r", "visits");
    expect(card.stamps - card.stampDebt + card.completed * 3).toBe(5);
    await checkStampInvariants(m.id);
  });

  it("the order detail and the member API show the debt", async () => {
    const m = await merchantWithCard("visits", visitCard);
    for (const id of ["v1", "v2", "v3"]) await postOrder(m, { orderId: id, memberId: "md", amount: 1000 });
    await refund(m, "v1");
    const token = await call("POST", "/v1/members/md/tokens", { token: m.checkout, idempotencyKey: "tok-md" });
    const mine = await call("GET", "/v1/me/stamp-cards", { token: token.body.token });
    expect(mine.body.data[0]).toMatchObject({ cardId: "visits", stamps: 0, stampDebt: 1, completed: 1 });
    const order = await call("GET", "/v1/orders/v1", { token: m.read });
    expect(order.body.stamps).toEqual([{ cardId: "visits", given: 1, takenBack: 1 }]);
  });
});

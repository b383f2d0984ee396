/** Rebate flows shared by the suites: programs, orders inside a period, closes, and waiting for the queue. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { call, postOrder, type TestMerchant, uid } from "./api";

export const putProgram = (m: TestMerchant, id: string, body: Record<string, unknown>) =>
  call("PUT", `/v1/rebate-programs/${id}`, { token: m.admin, body });

/** An order at `occurredAt` (ISO), for `memberId`. */
export const orderAt = (m: TestMerchant, memberId: string, amount: number, occurredAt: string, orderId = uid("o")) =>
  postOrder(m, { orderId, memberId, amount, occurredAt });

/**
 * A member with 100 points and 1,000 of store credit: an order of 100.00 in October 2026, whose month closes
 * paying 10% of 10,000 as credit (program `c`, the member alone sharing). Then `credit` of it is spent, held
 * with `hold`; returns that redemption's reply.
 */
export async function spendRebateCredit(m: TestMerchant, memberId: string, credit: number, hold: boolean) {
  expect((await orderAt(m, memberId, 10_000, "2026-10-15T04:00:00.000Z")).status).toBe(201);
  expect((await putProgram(m, "c", { name: "c", period: "month", shareBps: 1000, payout: "credit" })).status).toBe(201);
  expect((await close(m, "c", "2026-10", 10_000)).status).toBe(200);
  const member = await call("GET", `/v1/members/${memberId}`, { token: m.admin });
  expect(member.body).toMatchObject({ balance: 100, credit: 1_000 });
  const spent = await call("POST", "/v1/redemptions", {
    token: m.checkout,
    idempotencyKey: uid("credit"),
    body: { memberId, credit, ...(hold ? { hold } : {}) },
  });
  expect(spent.status, spent.text).toBe(201);
  return spent;
}

export const preview = (m: TestMerchant, program: string, period: string, netProfit: number) =>
  call("POST", `/v1/rebate-programs/${program}/periods/${period}/preview`, { token: m.admin, body: { netProfit } });

export const close = (m: TestMerchant, program: string, period: string, netProfit: number, key = uid("close")) =>
  call("POST", `/v1/rebate-programs/${program}/periods/${period}/close`, {
    token: m.admin,
    idempotencyKey: key,
    body: { netProfit },
  });

export const report = (m: TestMerchant, program: string, period: string) =>
  call("GET", `/v1/rebate-programs/${program}/periods/${period}`, { token: m.admin });

/** Polls the period report until the close is done (the queue consumer finishes large closes). */
export async function waitClosed(m: TestMerchant, program: string, period: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await report(m, program, period);
    expect(r.status, r.text).toBe(200);
    if (r.body.status === "closed" || Date.now() > until) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every rebate ledger entry of a merchant, read straight from D1. */
export async function rebateEntries(merchantId: string) {
  const { results } = await env.DB.prepare(
    `SELECT member_id AS memberId, asset, points, reason FROM ledger_entries WHERE merchant_id = ? AND type = 'rebate' ORDER BY member_id`,
  )
    .bind(merchantId)
    .all<{ memberId: string; asset: string; points: number; reason: string }>();
  return results;
}

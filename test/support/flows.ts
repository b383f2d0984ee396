/** Flows shared by the integration suites: a merchant with a program, and the checkout calls they repeat. */
import { expect } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, type TestMerchant, uid } from "./api";

/** Program settings a merchant starts from: 1 point = 1.00, no return window, no expiry, auto-enrol. */
export const PROGRAM_DEFAULTS = {
  pointValue: { points: 100, amount: 100 },
  pendingDays: 0,
  expiry: { policy: "none" },
  autoEnroll: true,
} as const;

/** A merchant with the base rule and `program` over PROGRAM_DEFAULTS. */
export async function merchantWith(program: Record<string, unknown>, timezone = "Asia/Shanghai"): Promise<TestMerchant> {
  const m = await createMerchant({ timezone });
  await createRule(m, BASE_RULE);
  const r = await call("PUT", "/v1/program", { token: m.admin, body: { ...PROGRAM_DEFAULTS, ...program } });
  expect(r.status, r.text).toBe(200);
  return m;
}

/** Redeems `points` (captured at once, or held with `hold`). */
export const redeem = (m: TestMerchant, memberId: string, points: number, hold = false) =>
  call("POST", "/v1/redemptions", {
    token: m.checkout,
    idempotencyKey: uid("k"),
    body: hold ? { memberId, points, hold } : { memberId, points },
  });

/** Redeems `points` captured at once as paying part of order `orderId` (posted after it). */
export const redeemFor = (m: TestMerchant, memberId: string, points: number, orderId: string) =>
  call("POST", "/v1/redemptions", { token: m.checkout, idempotencyKey: uid("k"), body: { memberId, points, orderId } });

/** Refunds an order (in full when `body` names no amount or items). */
export const refund = (m: TestMerchant, orderId: string, body: Record<string, unknown> = {}) =>
  call("POST", `/v1/orders/${orderId}/refunds`, {
    token: m.checkout,
    idempotencyKey: uid("k"),
    body: { refundId: uid("r"), ...body },
  });

/** A goodwill adjustment by the admin key. */
export const adjust = (m: TestMerchant, memberId: string, points: number, reason = "test") =>
  call("POST", `/v1/members/${memberId}/adjustments`, {
    token: m.admin,
    idempotencyKey: uid("k"),
    body: { points, reason },
  });

export const cancel = (m: TestMerchant, redemptionId: string) =>
  call("POST", `/v1/redemptions/${redemptionId}/cancel`, { token: m.checkout });

export const capture = (m: TestMerchant, redemptionId: string) =>
  call("POST", `/v1/redemptions/${redemptionId}/capture`, { token: m.checkout });

/** Runs one scheduled job now, for this merchant only. */
export const runFor = (m: TestMerchant, job: string) => call("POST", `/v1/jobs/${job}/runs`, { token: m.admin });

/** The member's referral code (made on the first request). */
export async function codeOf(m: TestMerchant, memberId: string): Promise<string> {
  const r = await call("GET", `/v1/members/${memberId}/referral-code`, { token: m.read });
  expect(r.status, r.text).toBe(200);
  return r.body.code;
}

/** Creates or updates a member (`referredBy` links a new one to a code). */
export const putMember = (m: TestMerchant, memberId: string, body: Record<string, unknown>) =>
  call("PUT", `/v1/members/${memberId}`, { token: m.checkout, body });

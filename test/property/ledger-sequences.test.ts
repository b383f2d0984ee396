/**
 * Property: random sequences of orders, partial refunds, redemptions, holds, captures, cancels,
 * adjustments and retried requests keep every invariant of the ledger after every step, and the engine
 * accepts a spend exactly when a simple model says the member can pay.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pointsToReverse } from "../../src/orders/refund-math";
import { BASE_RULE, call, createMerchant, createRule, type Reply, type TestMerchant, uid } from "../support/api";
import { checkMemberInvariants } from "../support/invariants";
import type { ModelOrder } from "../support/model";
import { propertySeed } from "../support/seeds";

type Step =
  | { kind: "order"; member: number; amount: number }
  | { kind: "refund"; order: number; part: number }
  | { kind: "redeem"; member: number; points: number; hold: boolean }
  | { kind: "capture"; redemption: number }
  | { kind: "cancel"; redemption: number }
  | { kind: "adjust"; member: number; points: number }
  | { kind: "retry" };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("order" as const), member: fc.nat(1), amount: fc.integer({ min: 0, max: 50_000 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("refund" as const), order: fc.nat(20), part: fc.integer({ min: 1, max: 100 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("redeem" as const),
      member: fc.nat(1),
      points: fc.integer({ min: 1, max: 400 }),
      hold: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("capture" as const), redemption: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), redemption: fc.nat(20) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("adjust" as const),
      member: fc.nat(1),
      points: fc.integer({ min: -200, max: 200 }).filter((p) => p !== 0),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "retry" as const }) },
);

interface ModelRedemption {
  id: string;
  member: string;
  points: number;
  status: "held" | "captured" | "cancelled";
}

async function runSequence(m: TestMerchant, steps: Step[]): Promise<void> {
  const members = [uid("pa"), uid("pb")];
  const balance = new Map(members.map((id) => [id, 0]));
  const orders: ModelOrder[] = [];
  const redemptions: ModelRedemption[] = [];
  let last: { method: string; path: string; body: unknown; key: string; reply: Reply } | undefined;

  const send = async (method: string, path: string, body: unknown) => {
    const key = uid("key");
    const reply = await call(method, path, { token: m.admin, idempotencyKey: key, body });
    expect(reply.status, `${method} ${path} ${reply.text}`).toBeLessThan(500);
    last = { method, path, body, key, reply };
    return reply;
  };

  for (const step of steps) {
    switch (step.kind) {
      case "order": {
        const member = members[step.member]!;
        const id = uid("o");
        const r = await send("POST", "/v1/orders", { orderId: id, memberId: member, amount: step.amount, currency: "CNY" });
        expect(r.status).toBe(201);
        const points = Math.floor(step.amount / 100);
        expect(r.body.pointsEarned).toBe(points);
        orders.push({ id, member, amount: step.amount, points, refunded: 0 });
        balance.set(member, balance.get(member)! + points);
        break;
      }
      case "refund": {
        const order = orders[step.order % Math.max(orders.length, 1)];
        if (!order) break;
        const left = order.amount - order.refunded;
        const amount = Math.max(1, Math.floor((left * step.part) / 100));
        const r = await send("POST", `/v1/orders/${order.id}/refunds`, { refundId: uid("r"), amount });
        if (left <= 0) {
          expect(r.status).toBe(422);
          break;
        }
        expect(r.status, r.text).toBe(201);
        const expected = pointsToReverse(order.points, order.amount, order.refunded, amount);
        expect(r.body.pointsReversed).toBe(expected);
        order.refunded += amount;
        balance.set(order.member, balance.get(order.member)! - expected);
        break;
      }
      case "redeem": {
        const member = members[step.member]!;
        const r = await send("POST", "/v1/redemptions", { memberId: member, points: step.points, hold: step.hold });
        if (!orders.some((o) => o.member === member)) {
          expect(r.status).toBe(404);
        } else if (balance.get(member)! >= step.points) {
          expect(r.status, r.text).toBe(201);
          redemptions.push({ id: r.body.id, member, points: step.points, status: step.hold ? "held" : "captured" });
          balance.set(member, balance.get(member)! - step.points);
        } else {
          expect(r.status).toBe(409);
          expect(r.body.code).toBe("insufficient_points");
        }
        break;
      }
      case "capture":
      case "cancel": {
        const red = redemptions[step.redemption % Math.max(redemptions.length, 1)];
        if (!red) break;
        const r = await send("POST", `/v1/redemptions/${red.id}/${step.kind}`, undefined);
        const allowed = step.kind === "capture" ? red.status === "held" : red.status !== "cancelled";
        expect(r.status, r.text).toBe(allowed ? 200 : 409);
        if (!allowed) break;
        if (step.kind === "cancel") balance.set(red.member, balance.get(red.member)! + red.points);
        red.status = step.kind === "capture" ? "captured" : "cancelled";
        break;
      }
      case "adjust": {
        const member = members[step.member]!;
        const r = await send("POST", `/v1/members/${member}/adjustments`, { points: step.points, reason: "property test" });
        const known = orders.some((o) => o.member === member);
        if (!known) {
          expect(r.status).toBe(404);
        } else if (step.points < 0 && balance.get(member)! < -step.points) {
          expect(r.status).toBe(409);
        } else {
          expect(r.status, r.text).toBe(201);
          balance.set(member, balance.get(member)! + step.points);
        }
        break;
      }
      case "retry": {
        if (!last || last.reply.status >= 300) break;
        const again = await call(last.method, last.path, { token: m.admin, idempotencyKey: last.key, body: last.body });
        expect(again.text).toBe(last.reply.text);
        expect(again.headers.get("idempotent-replayed")).toBe("true");
        break;
      }
    }
    for (const member of members) {
      await checkMemberInvariants(m.id, member);
      const r = await call("GET", `/v1/members/${member}`, { token: m.admin });
      if (r.status === 200) expect(r.body.balance, `model balance of ${member}`).toBe(balance.get(member));
    }
  }
}

describe("ledger under random sequences", () => {
  it("keeps balance == sum of entries, lots consistent and never overdraws", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), (steps) => runSequence(m, steps)),
      { numRuns: 25, seed: propertySeed(20261122), verbose: 1 },
    );
  }, 240_000);
});

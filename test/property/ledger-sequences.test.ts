/**
 * Property: random sequences of orders, partial refunds, redemptions, holds, captures, cancels,
 * adjustments, rebates paid as store credit, credit redemptions and retried requests keep every invariant
 * of the ledger (both assets) after every step, and the engine accepts a spend exactly when a simple model
 * says the member can pay.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BASE_RULE, call, createMerchant, createRule, type Reply, type TestMerchant, uid } from "../support/api";
import { checkMemberInvariants } from "../support/invariants";
import { LedgerModel } from "../support/model";
import { propertySeed } from "../support/seeds";

type Step =
  | { kind: "order"; member: number; amount: number }
  | { kind: "refund"; order: number; part: number }
  | { kind: "redeem"; member: number; points: number; hold: boolean }
  | { kind: "capture"; redemption: number }
  | { kind: "cancel"; redemption: number }
  | { kind: "adjust"; member: number; points: number }
  | { kind: "rebate"; member: number; credit: number }
  | { kind: "redeemCredit"; member: number; credit: number; hold: boolean }
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
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("rebate" as const), member: fc.nat(1), credit: fc.integer({ min: 1, max: 500 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("redeemCredit" as const),
      member: fc.nat(1),
      credit: fc.integer({ min: 1, max: 300 }),
      hold: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "retry" as const }) },
);

/** Each rebate step closes a month of its own (one close per period), oldest first. */
let rebateMonth = 0;
function nextRebateMonth(): { key: string; occurredAt: string } {
  const year = 2001 + Math.floor(rebateMonth / 12);
  const month = String((rebateMonth % 12) + 1).padStart(2, "0");
  rebateMonth += 1;
  return { key: `${year}-${month}`, occurredAt: `${year}-${month}-15T04:00:00.000Z` };
}

async function runSequence(m: TestMerchant, steps: Step[]): Promise<void> {
  const members = [uid("pa"), uid("pb")];
  const model = new LedgerModel(members);
  const { orders, redemptions } = model;
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
        model.order(id, member, step.amount, points);
        break;
      }
      case "refund": {
        const order = orders[step.order % Math.max(orders.length, 1)];
        if (!order) break;
        const left = model.refundable(order);
        const amount = Math.max(1, Math.floor((left * step.part) / 100));
        const r = await send("POST", `/v1/orders/${order.id}/refunds`, { refundId: uid("r"), amount });
        if (left <= 0) {
          expect(r.status).toBe(422);
          break;
        }
        expect(r.status, r.text).toBe(201);
        expect(r.body.pointsReversed).toBe(model.refund(order, amount));
        break;
      }
      case "redeem": {
        const member = members[step.member]!;
        const r = await send("POST", "/v1/redemptions", { memberId: member, points: step.points, hold: step.hold });
        if (!model.isEnrolled(member)) {
          expect(r.status).toBe(404);
        } else if (model.canSpend(member, step.points)) {
          expect(r.status, r.text).toBe(201);
          model.redeem(r.body.id, member, step.points, step.hold);
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
        const allowed = step.kind === "capture" ? model.capture(red) : model.cancel(red);
        expect(r.status, r.text).toBe(allowed ? 200 : 409);
        break;
      }
      case "adjust": {
        const member = members[step.member]!;
        const r = await send("POST", `/v1/members/${member}/adjustments`, { points: step.points, reason: "property test" });
        if (!model.isEnrolled(member)) {
          expect(r.status).toBe(404);
        } else if (step.points < 0 && !model.canSpend(member, -step.points)) {
          expect(r.status).toBe(409);
        } else {
          expect(r.status, r.text).toBe(201);
          model.adjust(member, step.points);
        }
        break;
      }
      case "rebate": {
        // The member alone spends in a month of its own; closing it with a 100% share pays it all as credit.
        const member = members[step.member]!;
        const { key, occurredAt } = nextRebateMonth();
        const id = uid("o");
        const order = await send("POST", "/v1/orders", {
          orderId: id,
          memberId: member,
          amount: 100,
          currency: "CNY",
          occurredAt,
        });
        expect(order.status, order.text).toBe(201);
        model.order(id, member, 100, 1);
        const r = await send("POST", `/v1/rebate-programs/credit/periods/${key}/close`, { netProfit: step.credit });
        expect(r.status, r.text).toBe(200);
        expect(r.body.paid).toBe(step.credit);
        model.addCredit(member, step.credit);
        break;
      }
      case "redeemCredit": {
        const member = members[step.member]!;
        const r = await send("POST", "/v1/redemptions", { memberId: member, credit: step.credit, hold: step.hold });
        if (!model.isEnrolled(member)) expect(r.status).toBe(404);
        else if (model.canSpendCredit(member, step.credit)) {
          expect(r.status, r.text).toBe(201);
          model.redeem(r.body.id, member, step.credit, step.hold, "credit");
        } else {
          expect(r.status, r.text).toBe(409);
          expect(r.body.code).toBe("insufficient_points");
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
      if (r.status === 200) {
        expect(r.body.balance, `model balance of ${member}`).toBe(model.balance(member));
        expect(r.body.credit, `model credit of ${member}`).toBe(model.credit(member));
      }
    }
  }
}

describe("ledger under random sequences", () => {
  it("keeps balance == sum of entries, lots consistent and never overdraws", async () => {
    const m = await createMerchant();
    await createRule(m, BASE_RULE);
    const program = { name: "All profit as credit", period: "month", shareBps: 10_000, payout: "credit" };
    expect((await call("PUT", "/v1/rebate-programs/credit", { token: m.admin, body: program })).status).toBe(201);
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), (steps) => runSequence(m, steps)),
      { numRuns: 25, seed: propertySeed(20261122), verbose: 1 },
    );
  }, 240_000);
});

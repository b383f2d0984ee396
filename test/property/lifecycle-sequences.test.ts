/**
 * Property: with a moving clock, pending windows and expiry, random sequences of orders, redemptions and
 * holds, cancels, partial refunds, adjustments, reads and job runs keep, after every step: spendable +
 * pending equal to the unexpired lots' remainders (net of debt), no lot below zero, no lot expiring more
 * than was left unspent of it, debt never above what was spent, refund claims matched by debt and payers,
 * and per order, taken + excused exactly the refunded share with nothing excused beyond what expired. With
 * the rule under a budget: its usage is what the orders earned less what refunds took back (points that
 * expired before their refund stay counted: nobody gave them back). Under the inactivity policy: once a member's
 * deadline has passed, whatever next settles the member (its own request, a read, a job) leaves none of the
 * points earned before it, and nothing but spending or earning counts as activity (a cancel or a refund
 * brings nothing back).
 */

import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { runScheduledJobs } from "../../src/jobs/scheduled";
import { advanceClock, DAY_MS, now, resetClock } from "../../src/platform/clock";
import { BASE_RULE, call, createMerchant, createRule, type TestMerchant, uid } from "../support/api";
import { checkActivityInvariants, checkMemberInvariants, checkOrderInvariants } from "../support/invariants";
import { propertySeed } from "../support/seeds";

type Step =
  | { kind: "order"; member: number; amount: number }
  | { kind: "redeem"; member: number; points: number; hold: boolean }
  | { kind: "cancel"; redemption: number }
  | { kind: "refund"; order: number; part: number }
  | { kind: "adjust"; member: number; points: number }
  | { kind: "advance"; hours: number }
  | { kind: "jobs" }
  | { kind: "read"; member: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("order" as const),
      member: fc.nat(1),
      amount: fc.integer({ min: 100, max: 30_000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("redeem" as const),
      member: fc.nat(1),
      points: fc.integer({ min: 1, max: 300 }),
      hold: fc.boolean(),
    }),
  },
  // Cancels return spent points to lots that may be past their date, or whose order a refund has taken back.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), redemption: fc.nat(30) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("refund" as const), order: fc.nat(30), part: fc.integer({ min: 1, max: 100 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("adjust" as const),
      member: fc.nat(1),
      points: fc.integer({ min: -100, max: 100 }).filter((p) => p !== 0),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), hours: fc.integer({ min: 1, max: 24 * 6 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "jobs" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("read" as const), member: fc.nat(1) }) },
);

afterAll(() => resetClock());

/** The budgeted rule's usage: every point its orders earned, less what refunds took back from members. */
async function checkBudgetUsage(merchantId: string): Promise<void> {
  const row = await env.DB.prepare(
    `SELECT (SELECT COALESCE(SUM(points), 0) FROM rule_usage WHERE merchant_id = ?1 AND member_id = '') AS used,
       (SELECT COALESCE(SUM(points_earned - points_reversed), 0) FROM orders WHERE merchant_id = ?1) AS kept`,
  )
    .bind(merchantId)
    .first<{ used: number; kept: number }>();
  expect(row?.used, "budget usage == points earned - points taken back").toBe(row?.kept);
}

/** Days without activity after which the inactivity variant expires a member's points (end of that local day). */
const INACTIVITY_DAYS = 3;

/**
 * Whether the member's inactivity deadline had certainly passed at `at`: the deadline is the end of the local
 * day INACTIVITY_DAYS after the last activity, so at most a day later than the last activity plus the days.
 */
const certainlyInactive = (lastActive: number | undefined, at: number) =>
  lastActive !== undefined && at > lastActive + (INACTIVITY_DAYS + 1) * DAY_MS;

/** Points left in the member's lots made before `before`: none once inactivity expired them. */
async function pointsLeftBefore(merchantId: string, memberId: string, before: number): Promise<number> {
  const row = await env.DB.prepare(
    `SELECT COALESCE(SUM(remaining), 0) AS left FROM point_lots WHERE merchant_id = ?1 AND member_id = ?2 AND created_at < ?3`,
  )
    .bind(merchantId, memberId, before)
    .first<{ left: number }>();
  return row?.left ?? 0;
}

type Variant = "plain" | "budgeted" | "inactivity";

async function runSequence(m: TestMerchant, steps: Step[], variant: Variant = "plain"): Promise<void> {
  const budgeted = variant === "budgeted";
  const members = [uid("la"), uid("lb")];
  const orders: { id: string; left: number; member: number }[] = [];
  const redemptions: { id: string; member: number }[] = [];
  /** When each member last spent or earned (the harness's view of the engine's clock). */
  const lastActive: (number | undefined)[] = [undefined, undefined];
  /** The last activity as it stood before the current step. */
  const previousActivity = new Map<number, number | undefined>();
  for (const step of steps) {
    let reply: { status: number; text: string } | undefined;
    const stepAt = now();
    /** The members this step settles: a request of theirs that succeeded (a refused one writes nothing), a read, the jobs. */
    let settled: number[] = [];
    switch (step.kind) {
      case "order": {
        const id = uid("o");
        reply = await call("POST", "/v1/orders", {
          token: m.checkout,
          idempotencyKey: uid("k"),
          body: { orderId: id, memberId: members[step.member], amount: step.amount, currency: "CNY" },
        });
        expect(reply.status, reply.text).toBe(201);
        orders.push({ id, left: step.amount, member: step.member });
        lastActive[step.member] = stepAt;
        settled = [step.member];
        break;
      }
      case "redeem":
        reply = await call("POST", "/v1/redemptions", {
          token: m.checkout,
          idempotencyKey: uid("k"),
          body: { memberId: members[step.member], points: step.points, hold: step.hold },
        });
        expect([201, 404, 409]).toContain(reply.status);
        if (reply.status === 201) {
          redemptions.push({ id: JSON.parse(reply.text).id, member: step.member });
          lastActive[step.member] = stepAt;
          settled = [step.member];
        }
        break;
      case "cancel": {
        const red = redemptions[step.redemption % Math.max(1, redemptions.length)];
        if (!red) break;
        reply = await call("POST", `/v1/redemptions/${red.id}/cancel`, { token: m.checkout });
        // 409 once it was cancelled, or released when its hold ran out.
        expect([200, 409]).toContain(reply.status);
        if (reply.status === 200) settled = [red.member];
        break;
      }
      case "refund": {
        const order = orders[step.order % Math.max(1, orders.length)];
        if (!order || order.left <= 0) break;
        const amount = Math.max(1, Math.floor((order.left * step.part) / 100));
        reply = await call("POST", `/v1/orders/${order.id}/refunds`, {
          token: m.checkout,
          idempotencyKey: uid("k"),
          body: { refundId: uid("r"), amount },
        });
        expect(reply.status, reply.text).toBe(201);
        order.left -= amount;
        settled = [order.member];
        break;
      }
      case "adjust":
        reply = await call("POST", `/v1/members/${members[step.member]}/adjustments`, {
          token: m.admin,
          idempotencyKey: uid("k"),
          body: { points: step.points, reason: "property" },
        });
        expect([201, 404, 409]).toContain(reply.status);
        if (reply.status === 201) {
          lastActive[step.member] = stepAt;
          settled = [step.member];
        }
        break;
      case "advance":
        advanceClock(step.hours * 3_600_000);
        break;
      case "jobs": {
        const runs = await runScheduledJobs(env);
        expect(
          runs.every((r) => r.status === "succeeded"),
          JSON.stringify(runs),
        ).toBe(true);
        settled = [0, 1];
        break;
      }
      case "read":
        reply = await call("GET", `/v1/members/${members[step.member]}`, { token: m.admin });
        expect([200, 404]).toContain(reply.status);
        settled = [step.member];
        break;
    }
    if (variant === "inactivity")
      for (const i of settled) {
        // A step's own activity came after its settling: only what was made before the step must be gone.
        const before = lastActive[i] === stepAt ? previousActivity.get(i) : lastActive[i];
        if (certainlyInactive(before, stepAt))
          expect(await pointsLeftBefore(m.id, members[i]!, stepAt), `points of ${members[i]} past the inactivity deadline`).toBe(
            0,
          );
      }
    for (const [i, at] of lastActive.entries()) previousActivity.set(i, at);
    for (const member of members) await checkMemberInvariants(m.id, member);
    await checkOrderInvariants(m.id);
    await checkActivityInvariants(m.id);
    if (budgeted) await checkBudgetUsage(m.id);
  }
  // In the end, after every date has passed and the jobs ran, nothing is left but what cannot expire.
  advanceClock(40 * DAY_MS);
  await runScheduledJobs(env);
  for (const member of members) {
    await checkMemberInvariants(m.id, member);
    const { results } = await env.DB.prepare(`SELECT balance, pending FROM members WHERE merchant_id = ?1 AND id = ?2`)
      .bind(m.id, member)
      .all<{ balance: number; pending: number }>();
    if (results[0]) {
      expect(results[0].pending).toBe(0);
      expect(Math.max(0, results[0].balance)).toBe(0);
    }
  }
}

const TITLES: Record<Variant, string> = {
  plain: "",
  budgeted: ", and a rule's budget usage",
  inactivity: ", and expires everything once a member is inactive past the deadline",
};

describe("points lifecycle under random sequences with a moving clock", () => {
  for (const variant of ["plain", "budgeted", "inactivity"] as const)
    it(`keeps lots, balances and expiry exact${TITLES[variant]}`, async () => {
      const budgeted = variant === "budgeted";
      const m = await createMerchant();
      // A budget far above what a run earns: never spent, but every order and refund moves its usage.
      await createRule(m, budgeted ? { ...BASE_RULE, limits: { budget: 1_000_000_000 } } : BASE_RULE);
      await call("PUT", "/v1/program", {
        token: m.admin,
        body: {
          pointValue: { points: 100, amount: 100 },
          pendingDays: 2,
          // Shorter with the budget, so refunds often meet points that already expired.
          expiry:
            variant === "inactivity"
              ? { policy: "inactivity", days: INACTIVITY_DAYS }
              : { policy: "after_earn", days: budgeted ? 3 : 10 },
          autoEnroll: true,
        },
      });
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), (steps) => runSequence(m, steps, variant)),
        { numRuns: 20, seed: propertySeed(3112026), verbose: 1 },
      );
    }, 240_000);
});

/**
 * A checkout with the typed client: enrol a member, post an order, redeem some of its points, refund part of
 * the order, then read the order back for reconciliation. Each step stops on a problem, printing its code.
 * (Points that pay for an order are redeemed with its orderId before the order is posted.)
 *
 * @example
 * const engine = createLoyaltyClient({ baseUrl: "http://localhost:8787", token: checkoutKey });
 * console.log(await checkout(engine, { memberId: "member-42", orderId: "order-1001" }));
 */
import type { Client } from "openapi-fetch";
import type { ClientPaths, Problem } from "../index";

export interface CheckoutIds {
  memberId: string;
  orderId: string;
}

export interface CheckoutSummary {
  pointsEarned: number;
  redemptionId: string;
  pointsRedeemed: number;
  pointsReversed: number;
  balance: number;
}

export class CheckoutFailed extends Error {
  constructor(
    readonly step: string,
    readonly problem: Problem,
  ) {
    super(`${step}: ${problem.status} ${problem.code}: ${problem.detail}`);
  }
}

function must<T>(step: string, result: { data?: T; error?: unknown }): T {
  if (result.data === undefined) throw new CheckoutFailed(step, result.error as Problem);
  return result.data;
}

export async function checkout(engine: Client<ClientPaths>, ids: CheckoutIds): Promise<CheckoutSummary> {
  const { memberId, orderId } = ids;
  must(
    "enrol",
    await engine.PUT("/v1/members/{memberId}", {
      params: { path: { memberId } },
      body: { name: "Lin Mei", email: "lin.mei@example.com" },
    }),
  );
  const order = must(
    "order",
    await engine.POST("/v1/orders", {
      body: {
        orderId,
        memberId,
        amount: 12800,
        currency: "CNY",
        items: [{ sku: "longjing-50g", category: "tea", quantity: 2, unitPrice: 6400 }],
      },
    }),
  );
  const redemption = must("redeem", await engine.POST("/v1/redemptions", { body: { memberId, points: 100 } }));
  const refund = must(
    "refund",
    await engine.POST("/v1/orders/{orderId}/refunds", {
      params: { path: { orderId } },
      body: { refundId: `${orderId}-a`, items: [{ sku: "longjing-50g", quantity: 1 }] },
    }),
  );
  const detail = must("read order", await engine.GET("/v1/orders/{orderId}", { params: { path: { orderId } } }));
  return {
    pointsEarned: order.pointsEarned,
    redemptionId: redemption.id,
    pointsRedeemed: redemption.points,
    pointsReversed: detail.points.reversed,
    balance: refund.member.balance,
  };
}

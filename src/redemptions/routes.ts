import { createRoute } from "@hono/zod-openapi";
import { HOLD_TTL_TEXT } from "../ledger/holds";
import { allow } from "../platform/auth";
import { commitPlanned, idempotent, writeReply } from "../platform/idempotency";
import {
  bearer,
  commonErrors,
  conflictError,
  IdempotencyHeader,
  jsonBody,
  jsonResponse,
  RequiredIdempotencyHeader,
  unprocessableError,
} from "../platform/openapi";
import { createRouter, sqlReply } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { retryOnRace } from "../platform/write";
import { RedemptionInputSchema, RedemptionParams, RedemptionSchema } from "./schemas";
import { planCancel, planCapture, planRedemption, readRedemption } from "./service";

const tags = ["Redemptions"];

export const redemptionsRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/redemptions",
      operationId: "createRedemption",
      tags,
      summary: "Redeem points as payment, or hold them",
      description:
        "Not enough spendable points: 409 insufficient_points and nothing is written. Points worth nothing at the program's " +
        "pointValue (the value is rounded down), or worth more than 2^53 - 1 minor units, or a spend that would take " +
        "lifetimeRedeemed + held past 2^53 - 1: 422 unprocessable naming points. " +
        `A hold is released by itself after ${HOLD_TTL_TEXT}; holds of the member past that time are released first, in the ` +
        "same transaction. An orderId names the order the points pay for, before it is posted: naming an order already " +
        "posted is 422 unprocessable naming orderId (it earned on its whole amount), unless the program says earnOnPointsPaid.",
      security: bearer,
      middleware: [allow("admin", "checkout"), idempotent(true, { storedInBatch: true })] as const,
      request: { headers: RequiredIdempotencyHeader, body: jsonBody(RedemptionInputSchema) },
      responses: {
        201: jsonResponse(RedemptionSchema, "The redemption"),
        ...commonErrors,
        ...conflictError,
        ...unprocessableError,
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      // A due hold this spend releases was captured or cancelled at the same moment: plan again.
      const response = await retryOnRace(async () => commitPlanned(c, await planRedemption(scopeOf(c), input)));
      return writeReply<typeof RedemptionSchema, 201>(response, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/redemptions/{id}",
      operationId: "getRedemption",
      tags,
      summary: "Read a redemption",
      description: "The redemption with its status (captured, held, cancelled, released), points and value.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: RedemptionParams },
      responses: { 200: jsonResponse(RedemptionSchema, "The redemption"), ...commonErrors },
    }),
    async (c) => sqlReply<typeof RedemptionSchema, 200>(await readRedemption(scopeOf(c), c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/redemptions/{id}/capture",
      operationId: "captureRedemption",
      tags,
      summary: "Capture a held redemption",
      description:
        `A hold past its ${HOLD_TTL_TEXT} cannot be captured: it is released there and then (as \`release\`) and the answer is 409. ` +
        "A hold for an order (`orderId`) whose order has been posted meanwhile is 409 too: the order earned on its whole amount, " +
        "so cancel the hold instead (unless the program lets points-paid parts earn).",
      security: bearer,
      middleware: [allow("admin", "checkout"), idempotent(false, { storedInBatch: true })] as const,
      request: { params: RedemptionParams, headers: IdempotencyHeader },
      responses: { 200: jsonResponse(RedemptionSchema, "Captured"), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const response = await commitPlanned(c, await planCapture(scopeOf(c), c.req.valid("param").id));
      return writeReply<typeof RedemptionSchema, 200>(response, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/redemptions/{id}/cancel",
      operationId: "cancelRedemption",
      tags,
      summary: "Cancel a redemption and return its points",
      description: "A held redemption's points come back as `release`; a captured one's as `redemption_return`.",
      security: bearer,
      middleware: [allow("admin", "checkout"), idempotent(false, { storedInBatch: true })] as const,
      request: { params: RedemptionParams, headers: IdempotencyHeader },
      responses: { 200: jsonResponse(RedemptionSchema, "Cancelled"), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const response = await commitPlanned(c, await planCancel(scopeOf(c), c.req.valid("param").id));
      return writeReply<typeof RedemptionSchema, 200>(response, 200);
    },
  );

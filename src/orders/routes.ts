import { createRoute, z } from "@hono/zod-openapi";
import { prefetchCheckout, prefetchOrder } from "../earning/checkout-context";
import { OrderInputSchema } from "../earning/schemas";
import { allow, allowWith } from "../platform/auth";
import { idempotent, writeReply } from "../platform/idempotency";
import {
  bearer,
  commonErrors,
  conflictError,
  jsonBody,
  jsonResponse,
  RequiredIdempotencyHeader,
  unprocessableError,
} from "../platform/openapi";
import { createRouter } from "../platform/router";
import { scopeOf } from "../platform/scope";
import { MerchantChosenId } from "../platform/validation";
import { readOrder } from "./read";
import { postRefund } from "./refunds";
import { OrderDetailSchema, OrderResultSchema, QuoteSchema, RefundInputSchema, RefundResultSchema } from "./schemas";
import { postOrder, quoteOrder } from "./service";

const tags = ["Checkout"];

const OrderParams = z.object({
  orderId: MerchantChosenId.openapi({ param: { name: "orderId", in: "path" }, example: "order-1001" }),
});

export const ordersRouter = createRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/orders",
      operationId: "postOrder",
      tags,
      summary: "Post an order and earn points",
      description:
        "Evaluates the active earning rules and credits the member. Enrols an unknown member when autoEnroll is on. " +
        "An orderId earns once: posting it again under another Idempotency-Key is 409 conflict. " +
        "Points pay for an order before it is posted: the order earns only on what captured redemptions with its orderId " +
        "left to money (unless the program says earnOnPointsPaid), and a hold with its orderId still within its time is " +
        "409 conflict naming orderId until the hold is captured or cancelled.",
      security: bearer,
      middleware: [allowWith(prefetchOrder, "admin", "checkout"), idempotent(true, { storedInBatch: true })] as const,
      request: { headers: RequiredIdempotencyHeader, body: jsonBody(OrderInputSchema) },
      responses: {
        201: jsonResponse(OrderResultSchema, "Points earned and the member after the order"),
        ...commonErrors,
        ...conflictError,
        ...unprocessableError,
      },
    }),
    async (c) => writeReply<typeof OrderResultSchema, 201>(await postOrder(scopeOf(c), c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/orders/quote",
      operationId: "quoteOrder",
      tags,
      summary: "Quote the points an order would earn (writes nothing)",
      description:
        "Evaluates the active earning rules on the order as POST /v1/orders would, without writing anything or enrolling the member.",
      security: bearer,
      middleware: [allowWith(prefetchCheckout, "admin", "checkout")] as const,
      request: { body: jsonBody(OrderInputSchema) },
      responses: { 200: jsonResponse(QuoteSchema, "Points the order would earn"), ...commonErrors, ...unprocessableError },
    }),
    async (c) => c.json(await quoteOrder(scopeOf(c), c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/orders/{orderId}/refunds",
      operationId: "refundOrder",
      tags,
      summary: "Refund an order (by amount or items) and reverse its points",
      description:
        "Points come back in proportion to what was refunded; partial refunds add up to exactly what one full refund reverses. " +
        "Items refund what they were paid: their share of the order amount by list price; units paid nothing come back " +
        "as a refund of amount 0 that takes back their stamps. " +
        "An order of amount 0 is refunded once, in full, reversing all its points. " +
        "A reversal may take the balance below zero when the points were already spent; later earnings repay it first.",
      security: bearer,
      middleware: [allow("admin", "checkout"), idempotent(true, { storedInBatch: true })] as const,
      request: {
        params: OrderParams,
        headers: RequiredIdempotencyHeader,
        body: jsonBody(RefundInputSchema),
      },
      responses: {
        201: jsonResponse(RefundResultSchema, "Points reversed and the member after the refund"),
        ...commonErrors,
        ...conflictError,
        ...unprocessableError,
      },
    }),
    async (c) =>
      writeReply<typeof RefundResultSchema, 201>(
        await postRefund(scopeOf(c), c.req.valid("param").orderId, c.req.valid("json")),
        201,
      ),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/orders/{orderId}",
      operationId: "getOrder",
      tags,
      summary: "Read an order with its points, refunds and redemptions",
      description:
        "For reconciliation: the order as posted, the points it earned (per rule) and its refunds reversed, every refund, " +
        "and the redemptions posted with this orderId.",
      security: bearer,
      middleware: [allow("admin", "checkout", "read")] as const,
      request: { params: OrderParams },
      responses: { 200: jsonResponse(OrderDetailSchema, "The order"), ...commonErrors },
    }),
    async (c) => c.json(await readOrder(scopeOf(c), c.req.valid("param").orderId), 200),
  );

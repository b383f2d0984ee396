/**
 * Small helpers so every route documents its body, errors, headers and security the same way. The router
 * (router.ts) passes every route through `withStandardResponses`, so a new route gets the error responses
 * and headers that the middleware can answer without listing them.
 */
import { type RouteConfig, z } from "@hono/zod-openapi";
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from "./errors";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://loyalty-engine.dev/problems/invalid-request" }),
    title: z.string().openapi({ example: "Invalid request" }),
    status: z.number().int().openapi({ example: 400 }),
    code: z.enum(ERROR_CODES).openapi({ description: "Stable machine-readable error code.", example: "invalid_request" }),
    detail: z.string().openapi({ example: "The request is invalid. items.0.quantity: must be at least 1" }),
    errors: z
      .array(
        z.object({
          path: z.string().openapi({ example: "items.0.quantity" }),
          message: z.string().openapi({ example: "must be at least 1" }),
        }),
      )
      .optional()
      .openapi({ description: "Every bad field of an invalid_request, by path (`header.Idempotency-Key` for headers)." }),
    reason: z
      .string()
      .optional()
      .openapi({
        description:
          "Why a business rule refused the request, where the code alone does not say: e.g. a refused referral " +
          "(self_referral, existing_member, referral_loop, other_merchant_code, unknown_code, referrals_off).",
        example: "self_referral",
      }),
    requestId: z
      .string()
      .optional()
      .openapi({ description: "The response's Request-Id header.", example: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f" }),
  })
  .openapi("Problem");

/** Response headers, declared once as components and referenced from every response. */
export const RESPONSE_HEADERS = {
  RequestId: {
    description: "Identifies this request in the engine's logs; problem bodies repeat it as `requestId`.",
    schema: { type: "string", example: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f" },
  },
  IdempotentReplayed: {
    description: "`true` when this is the stored response of an earlier request with the same Idempotency-Key.",
    schema: { type: "string", enum: ["true"] },
  },
  RetryAfter: {
    description: "Seconds to wait before retrying.",
    schema: { type: "integer", minimum: 1, example: 1 },
  },
  WwwAuthenticate: {
    description: "The authentication scheme: Bearer.",
    schema: { type: "string", example: 'Bearer realm="loyalty"' },
  },
} as const;

const headerRef = (name: keyof typeof RESPONSE_HEADERS) => ({ $ref: `#/components/headers/${name}` });

/** When each error status is answered and which codes it carries, for the descriptions. */
const ERROR_MEANING: Record<number, string> = {
  400: "malformed JSON or schema violation; `errors` lists every bad field (path, query, headers and body)",
  401: "missing, unknown, expired or revoked secret",
  403: "the credential's scope does not allow this route",
  404: "no such resource for this merchant (another merchant's resources are also 404)",
  409: "the request conflicts with the current state",
  413: "the body is larger than the engine accepts",
  415: "the body is not JSON (send `Content-Type: application/json`)",
  422: "valid shape that breaks a business rule",
  429: "too many requests for this API key or member token; retry after Retry-After seconds",
  500: "unexpected failure; nothing was written twice, retry with the same Idempotency-Key",
};

function codesFor(status: number): ErrorCode[] {
  return ERROR_CODES.filter((code) => ERROR_STATUS[code] === status);
}

const problem = (status: number, description = ERROR_MEANING[status] ?? "error") => ({
  description: `${codesFor(status).join(", ")}: ${description}`,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** The errors every authenticated route can answer. */
export const commonErrors = {
  400: problem(400),
  401: problem(401),
  403: problem(403),
  404: problem(404),
} as const;

export const conflictError = { 409: problem(409) } as const;
export const unprocessableError = { 422: problem(422) } as const;

type Responses = RouteConfig["responses"];
type ResponseEntry = Responses[string] & { headers?: Record<string, unknown> };

/**
 * The route with the error responses its middleware can answer (401/403 and 429 on authenticated routes,
 * 400 when it validates input, 404 on paths with ids, 413/415 on every /v1 route but GETs, 500 everywhere) and the
 * headers every response carries (Request-Id; Idempotent-Replayed on the 2xx of routes taking an
 * Idempotency-Key; Retry-After on 429; WWW-Authenticate on 401). Responses the route lists stay as written.
 */
export function withStandardResponses<R extends RouteConfig>(route: R): R {
  const secured = (route.security ?? []).length > 0;
  const takesBody = route.request?.body !== undefined;
  // Any body sent to a /v1 route other than a GET is checked for size and media type, declared or not.
  const checksBody = takesBody || (route.method !== "get" && route.path.startsWith("/v1/"));
  const validates = takesBody || ["query", "params", "headers"].some((k) => k in (route.request ?? {}));
  const idempotent = hasIdempotencyHeader(route);
  const statuses = [
    ...(validates ? [400] : []),
    ...(secured ? [401, 403, 429] : []),
    ...(route.path.includes("{") ? [404] : []),
    ...(checksBody ? [413, 415] : []),
    500,
  ];
  const responses: Record<string, ResponseEntry> = { ...(route.responses as Record<string, ResponseEntry>) };
  for (const status of statuses) responses[status] ??= problem(status);
  for (const [status, response] of Object.entries(responses)) {
    if ("$ref" in response) continue;
    const headers: Record<string, unknown> = { "Request-Id": headerRef("RequestId"), ...response.headers };
    if (idempotent && status.startsWith("2")) headers["Idempotent-Replayed"] = headerRef("IdempotentReplayed");
    if (status === "429") headers["Retry-After"] = headerRef("RetryAfter");
    if (status === "401") headers["WWW-Authenticate"] = headerRef("WwwAuthenticate");
    responses[status] = { ...response, headers } as ResponseEntry;
  }
  return { ...route, responses };
}

function hasIdempotencyHeader(route: RouteConfig): boolean {
  const headers = route.request?.headers as { shape?: Record<string, unknown> } | undefined;
  return headers?.shape?.["idempotency-key"] !== undefined;
}

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { "application/json": { schema } } } as const;
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

export const bearer = [{ bearerAuth: [] as string[] }];

/** Longest Idempotency-Key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const IdempotencyKey = z
  .string({ error: "is required" })
  .min(1, `must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`)
  .max(MAX_IDEMPOTENCY_KEY_LENGTH, `must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);

const KEY_EXAMPLE = "3f6c1e9a-8d2b-4c7e-9a41-5b0d2e7f8c13";

export const IdempotencyHeader = z.object({
  "idempotency-key": IdempotencyKey.optional().openapi({
    description: `1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters; a retry with the same key and body replays the first response.`,
    example: KEY_EXAMPLE,
  }),
});

export const RequiredIdempotencyHeader = z.object({
  "idempotency-key": IdempotencyKey.openapi({
    description:
      `Required. 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters; a retry with the same key and body replays the first response. ` +
      "Without it the 400 lists this header together with every other bad field.",
    example: KEY_EXAMPLE,
  }),
});

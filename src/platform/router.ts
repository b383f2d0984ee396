import { OpenAPIHono, type RouteConfig, type z } from "@hono/zod-openapi";
import type { TypedResponse } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import type { AppEnv } from "./context";
import { withStandardResponses } from "./openapi";
import { routeValidationHook, validationHook } from "./validation";

/** Set on the idempotent() middleware: whether the route requires the Idempotency-Key header. */
export const IDEMPOTENCY_REQUIRED = Symbol("idempotency key required");

/**
 * An idempotent route must declare the Idempotency-Key header schema matching the middleware: the schema is
 * what refuses a missing or malformed key (with every other bad field), so without it a required key would
 * go unchecked. Checked once, when the route is registered.
 */
function checkIdempotencyHeader(route: RouteConfig): void {
  const middleware = [route.middleware ?? []].flat() as Partial<Record<typeof IDEMPOTENCY_REQUIRED, boolean>>[];
  const required = middleware.find((m) => IDEMPOTENCY_REQUIRED in m)?.[IDEMPOTENCY_REQUIRED];
  if (required === undefined) return;
  const headers = route.request?.headers as
    | { shape?: Record<string, { safeParse(v: unknown): { success: boolean } }> }
    | undefined;
  const field = headers?.shape?.["idempotency-key"];
  if (!field || field.safeParse(undefined).success === required)
    throw new Error(
      `${route.method} ${route.path}: declare ${required ? "RequiredIdempotencyHeader" : "IdempotencyHeader"} in request.headers`,
    );
}

/**
 * A router whose request validation failures become problem+json 400s naming every bad field of the request
 * (path, query, headers and body together; see routeValidationHook).
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  const router = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, handler: never, hook?: never) => {
    checkIdempotencyHeader(route);
    return register(
      withStandardResponses(route) as never,
      handler,
      hook ?? (routeValidationHook(route.request as never) as never),
    );
  }) as unknown as typeof router.openapi;
  return router;
}

/**
 * A JSON body rendered by SQL, typed as the route's response schema. The one cast of such bodies lives here:
 * the SQL renders the schema's shape, and the test client parses every reply with the route's schema.
 *
 * @example return sqlReply<typeof MemberSchema, 200>(await readMemberJson(scope, memberId), 200);
 */
export function sqlReply<S extends z.ZodType, Status extends number>(
  body: string,
  status: Status,
  headers: Record<string, string> = {},
): TypedResponse<JSONParsed<z.output<S>>, Status & ContentfulStatusCode, "json"> {
  return typedReply<S, Status>(jsonText(body, status, headers));
}

/** A JSON response whose body SQL rendered, typed as the route's response schema (see sqlReply). */
export function typedReply<S extends z.ZodType, Status extends number>(response: Response) {
  return response as unknown as TypedResponse<JSONParsed<z.output<S>>, Status & ContentfulStatusCode, "json">;
}

/** A response stored or rendered as JSON text, sent byte for byte. */
export function jsonText(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "application/json", ...headers } });
}

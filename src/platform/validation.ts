/**
 * Shared input schemas and the validation hooks that turn zod issues into `invalid_request`
 * problems listing every bad field.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ZodError, ZodType } from "zod";
import { ApiError, type FieldError } from "./errors";

/** Ids chosen by the merchant: 1-128 of [A-Za-z0-9._:-]. */
export const merchantIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
export const MerchantChosenId = z
  .string()
  .regex(merchantIdPattern, "must be 1-128 characters of A-Z a-z 0-9 . _ : -")
  .openapi({ example: "member-42" });

/** Largest amount or point count accepted: far above any real order, far below float imprecision. */
export const MAX_UNITS = 1_000_000_000_000;

export const MinorUnits = z
  .number({ error: "must be an integer number of minor units" })
  .int("must be an integer (minor units, no decimals)")
  .min(0, "must not be negative")
  .max(MAX_UNITS, `must be at most ${MAX_UNITS}`);

export const PositiveMinorUnits = MinorUnits.min(1, "must be at least 1");

export const Points = z
  .number({ error: "must be an integer number of points" })
  .int("must be an integer number of points")
  .min(1, "must be at least 1")
  .max(MAX_UNITS, `must be at most ${MAX_UNITS}`);

export const IsoTimestamp = z.iso.datetime({ offset: true, error: "must be an ISO 8601 timestamp" });

export const Currency = z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as CNY");

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const Timezone = z.string().min(1).max(64).refine(isValidTimezone, "must be an IANA time zone such as Asia/Shanghai");

/** `idempotency-key` -> `Idempotency-Key`: headers are named in errors as the documentation spells them. */
const headerName = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());

export function zodToFieldErrors(error: ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const segments = issue.path.map(String);
    if (prefix === "header" && segments[0]) segments[0] = headerName(segments[0]);
    const path = segments.join(".");
    return { path: prefix ? (path ? `${prefix}.${path}` : prefix) : path || "(body)", message: issue.message };
  });
}

export function invalidRequest(errors: FieldError[]): ApiError {
  const summary = errors
    .slice(0, 3)
    .map((e) => `${e.path}: ${e.message}`)
    .join("; ");
  return new ApiError("invalid_request", `The request is invalid. ${summary}${errors.length > 3 ? "; ..." : ""}`, errors);
}

type Target = "query" | "param" | "header" | "json";

/** The order in which @hono/zod-openapi runs a route's validators (each stops the request on failure). */
const TARGET_ORDER: Target[] = ["query", "param", "header", "json"];

const prefixOf = (target: string) => (target === "json" ? undefined : target);

interface ValidationResult {
  success: boolean;
  error?: ZodError;
  target: string;
}

/** defaultHook of every router: a failed validation is a 400 naming every bad field. */
export function validationHook(result: ValidationResult): void {
  if (!result.success && result.error) throw invalidRequest(zodToFieldErrors(result.error, prefixOf(result.target)));
}

/** The request part of a route config (see createRoute). */
export interface RouteRequest {
  query?: ZodType;
  params?: ZodType;
  headers?: ZodType;
  body?: { content?: Record<string, { schema?: unknown }> };
}

const JSON_CONTENT_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** The errors of one validation target of the request (none when the route does not validate it). */
async function targetErrors(c: Context, request: RouteRequest, target: Target): Promise<FieldError[]> {
  let schema: unknown;
  let value: unknown;
  if (target === "json") {
    schema = request.body?.content?.["application/json"]?.schema;
    // Without a JSON body the request is refused for its media type or has nothing to check.
    if (!schema || !JSON_CONTENT_TYPE.test(c.req.header("content-type") ?? "")) return [];
    try {
      value = await c.req.json();
    } catch {
      return [{ path: "(body)", message: "is not valid JSON" }];
    }
  } else {
    schema = target === "query" ? request.query : target === "param" ? request.params : request.headers;
    const queries = () => Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
    value = target === "query" ? queries() : target === "param" ? c.req.param() : c.req.header();
  }
  if (!(schema instanceof z.ZodType)) return [];
  const result = await schema.safeParseAsync(value);
  return result.success ? [] : zodToFieldErrors(result.error, prefixOf(target));
}

/**
 * The validation hook of one route: a failure also checks the targets validated after it (a missing
 * Idempotency-Key header, then the body), so one 400 names every bad field of the request.
 */
export function routeValidationHook(request: RouteRequest | undefined) {
  return async (result: ValidationResult, c: Context): Promise<void> => {
    if (result.success || !result.error) return;
    const errors = zodToFieldErrors(result.error, prefixOf(result.target));
    const index = TARGET_ORDER.indexOf(result.target as Target);
    if (request && index >= 0) for (const target of TARGET_ORDER.slice(index + 1)) errors.push(...(await targetErrors(c, request, target)));
    throw invalidRequest(errors);
  };
}

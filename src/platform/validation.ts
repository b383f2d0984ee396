/**
 * Shared input schemas and the validation hooks that turn zod issues into `invalid_request`
 * problems listing every bad field.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ZodError, ZodType } from "zod";
import { JSON_CONTENT_TYPE } from "./body";
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

/**
 * A query parameter holding a whole number in plain decimal digits. z.coerce.number() would also read
 * `0x10`, ` 5`, `+5` and `1e1` as numbers: a client sending those has a bug worth hearing about.
 */
export function queryInteger(min: number, max: number, fallback: number) {
  const message = `must be a whole number from ${min} to ${max}, in decimal digits`;
  return z
    .string()
    .regex(/^[0-9]+$/, message)
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(max, message))
    .default(fallback)
    .openapi({ type: "integer", minimum: min, maximum: max, default: fallback });
}

export const IsoTimestamp = z.iso.datetime({ offset: true, error: "must be an ISO 8601 timestamp" });

export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as CNY")
  .openapi({ example: "CNY" });

/**
 * The shape of an IANA zone name: `/`-separated parts, the first starting with a letter (Etc/GMT+8 fits;
 * UTC offsets such as +08:00, which Intl also accepts, do not: they ignore daylight saving).
 */
const IANA_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** The canonical spelling of an IANA zone (`utc` -> `UTC`, `asia/shanghai` -> `Asia/Shanghai`), or null. */
export function canonicalTimezone(tz: string): string | null {
  if (!IANA_ZONE_NAME.test(tz)) return null;
  try {
    const canonical = new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
    return IANA_ZONE_NAME.test(canonical) ? canonical : null;
  } catch {
    return null;
  }
}

export const isValidTimezone = (tz: string): boolean => canonicalTimezone(tz) !== null;

export const Timezone = z
  .string()
  .min(1)
  .max(64)
  .refine(isValidTimezone, "must be an IANA time zone such as Asia/Shanghai (not a UTC offset)")
  .openapi({
    description:
      "An IANA time zone name such as Asia/Shanghai, stored in its canonical form (utc is stored as UTC). UTC offsets are refused.",
  });

/** `idempotency-key` -> `Idempotency-Key`: headers are named in errors as the documentation spells them. */
const headerName = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());

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
    if (request && index >= 0)
      for (const target of TARGET_ORDER.slice(index + 1)) errors.push(...(await targetErrors(c, request, target)));
    throw invalidRequest(errors);
  };
}

/** A timestamp in a reply: ISO 8601 in UTC with milliseconds, as the engine writes them. */
export const Timestamp = z.string().openapi({ format: "date-time", example: "2026-11-22T10:00:00.000Z" });

/**
 * Shared input schemas and the one validation hook that turns zod issues into `invalid_request`
 * problems listing every bad field.
 */
import { z } from "@hono/zod-openapi";
import type { ZodError } from "zod";
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

export function zodToFieldErrors(error: ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
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

/** defaultHook of every router: a failed validation is a 400 naming every bad field. */
export function validationHook(result: { success: boolean; error?: ZodError; target: string }): void {
  if (!result.success && result.error) {
    const prefix = result.target === "json" ? undefined : result.target === "header" ? "header" : result.target;
    throw invalidRequest(zodToFieldErrors(result.error, prefix));
  }
}

/**
 * Typed domain errors. Services throw them; the one `onError` in app.ts turns them into
 * application/problem+json (RFC 9457) with a stable `code`.
 */
/** Every `code` a problem body can carry: the one list the OpenAPI enum and the typed client are built from. */
export const ERROR_CODES = [
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "idempotency_key_reused",
  "insufficient_points",
  "payload_too_large",
  "unsupported_media_type",
  "unprocessable",
  "rate_limited",
  "internal_error",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldError {
  path: string;
  message: string;
}

const TITLES: Record<ErrorCode, string> = {
  invalid_request: "Invalid request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  not_found: "Not found",
  conflict: "Conflict",
  idempotency_key_reused: "Idempotency key reused",
  insufficient_points: "Insufficient points",
  unprocessable: "Unprocessable request",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  method_not_allowed: "Method not allowed",
  rate_limited: "Too many requests",
  internal_error: "Internal error",
};

export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_key_reused: 409,
  insufficient_points: 409,
  unprocessable: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  rate_limited: 429,
  internal_error: 500,
};

export class ApiError extends Error {
  readonly status: number;
  /** Sent as Retry-After (429). */
  retryAfterSeconds?: number;
  /** A machine-readable refinement of `code` (e.g. why a referral was refused), sent as `reason`. */
  reason?: string;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what: string) => new ApiError("not_found", `${what} was not found.`);

/** Why a request with a revoked API key is refused (also when the revocation is found inside a write batch). */
export const KEY_REVOKED = "The API key has been revoked.";

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: FieldError[];
  reason?: string;
  /** The response's Request-Id, so a report of the problem can be matched to the server's logs. */
  requestId?: string;
}

export function toProblem(error: ApiError, requestId?: string): Problem {
  return {
    type: `https://loyalty-engine.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: TITLES[error.code],
    status: error.status,
    code: error.code,
    detail: error.detail,
    ...(error.errors ? { errors: error.errors } : {}),
    ...(error.reason ? { reason: error.reason } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

export function problemResponse(error: ApiError, requestId?: string): Response {
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (error.status === 401) headers["www-authenticate"] = 'Bearer realm="loyalty"';
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  return new Response(JSON.stringify(toProblem(error, requestId)), { status: error.status, headers });
}

/**
 * Typed domain errors. Services throw them; the one `onError` in app.ts turns them into
 * application/problem+json (RFC 9457) with a stable `code`.
 */
export type ErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "idempotency_key_reused"
  | "insufficient_points"
  | "unprocessable"
  | "payload_too_large"
  | "unsupported_media_type"
  | "method_not_allowed"
  | "rate_limited"
  | "internal_error";

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

const STATUS: Record<ErrorCode, number> = {
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
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
    this.status = STATUS[code];
  }
}

export const notFound = (what: string) => new ApiError("not_found", `${what} was not found.`);

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: FieldError[];
}

export function toProblem(error: ApiError): Problem {
  return {
    type: `https://loyalty-engine.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: TITLES[error.code],
    status: error.status,
    code: error.code,
    detail: error.detail,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

export function problemResponse(error: ApiError): Response {
  return new Response(JSON.stringify(toProblem(error)), {
    status: error.status,
    headers: { "content-type": "application/problem+json" },
  });
}

/**
 * The guide at the top of the OpenAPI document (`info.description`, Markdown): what every integration needs
 * before its first call. Numbers and codes come from the constants that enforce them.
 */
import { MAX_BODY_BYTES } from "../platform/body";
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from "../platform/errors";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "../platform/openapi";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../platform/pagination";
import { API_KEY_LIMIT_PER_MINUTE, MEMBER_TOKEN_LIMIT_PER_MINUTE } from "../platform/rate-limit";

const ERROR_MEANINGS: Record<ErrorCode, string> = {
  invalid_request: "malformed JSON or a schema violation; `errors` lists every bad field by path",
  unauthorized: "missing, unknown, expired or revoked secret (with `WWW-Authenticate: Bearer`)",
  forbidden: "the credential's scope does not allow the route",
  not_found: "no such resource for this merchant: another merchant's resources are 404 too",
  method_not_allowed: "the path exists but not with this method",
  conflict: "the request conflicts with the current state (an orderId posted again under another key, ...)",
  idempotency_key_reused: "the Idempotency-Key was used before with another request",
  insufficient_points: "not enough spendable points; nothing was written",
  payload_too_large: `the body is larger than ${MAX_BODY_BYTES} bytes`,
  unsupported_media_type: "the body is not JSON: send `Content-Type: application/json`",
  unprocessable: "valid shape that breaks a business rule (refund above what is left, another currency, ...)",
  rate_limited: "too many requests for this credential; wait `Retry-After` seconds",
  internal_error: "unexpected failure; nothing was written twice, so retrying with the same Idempotency-Key is safe",
};

const errorTable = ERROR_CODES.map((code) => `| ${ERROR_STATUS[code]} | \`${code}\` | ${ERROR_MEANINGS[code]} |`).join("\n");

export const API_GUIDE = `Points ledger, checkout (orders, refunds, redemptions), earning rules and members for loyalty programs.
Money is in integer minor units (fen, cents) with an ISO 4217 currency; points are integers; timestamps are
ISO 8601 in UTC.

## Keys and scopes
Send \`Authorization: Bearer <secret>\`. \`POST /v1/merchants\` (platform token) returns the merchant's first
admin key; \`POST /v1/api-keys\` makes more. Secrets are shown once and stored only as hashes.

| scope | may call |
|---|---|
| \`admin\` | everything of its merchant |
| \`checkout\` | members, orders, refunds, redemptions, member tokens |
| \`read\` | every GET except API keys and member export |

## Member tokens
\`POST /v1/members/{memberId}/tokens\` (admin or checkout key) returns a short-lived token (\`mt_...\`) for one
member. It reaches only \`/v1/me*\` and can be handed to a browser or app: those routes answer CORS for the
origins listed in program settings (\`allowedOrigins\`).

## Idempotency
Every POST that changes state accepts an \`Idempotency-Key\` header (1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters, e.g. a UUID
made once per logical operation); orders, refunds, redemptions and adjustments require it. A retry with the
same key and body returns the first response again, byte for byte, with \`Idempotent-Replayed: true\`, and
writes nothing. The same key with another body is \`409 idempotency_key_reused\`. Retry network failures,
\`5xx\` and \`429\` with the same key.

## Errors
Errors are \`application/problem+json\` (RFC 9457) with a stable \`code\` and the response's \`requestId\`:

| status | code | meaning |
|---|---|---|
${errorTable}

## Pagination
Lists take \`?limit=\` (1-${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE}) and \`?cursor=\`, and answer
\`{ "data": [...], "nextCursor": string | null }\`; pass \`nextCursor\` back as \`cursor\` until it is null.

## Rate limits
${API_KEY_LIMIT_PER_MINUTE} requests a minute per API key (or the platform token) and ${MEMBER_TOKEN_LIMIT_PER_MINUTE} per member token. Past that:
\`429 rate_limited\` with \`Retry-After\`. A limited request writes nothing.

## Request ids
Every response carries a \`Request-Id\` header; quote it when reporting a problem.`;

/** Small helpers so every route documents its body, errors and security the same way. */
import { z } from "@hono/zod-openapi";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** The errors every authenticated route can answer. */
export const commonErrors = {
  400: problem("invalid_request: malformed JSON or schema violation; `errors` lists every bad field"),
  401: problem("unauthorized: missing, unknown or revoked secret"),
  403: problem("forbidden: the key's scope does not allow this route"),
  404: problem("not_found (another merchant's resources are also 404)"),
} as const;

export const conflictError = { 409: problem("conflict, idempotency_key_reused or insufficient_points") } as const;
export const unprocessableError = { 422: problem("unprocessable: valid shape that breaks a business rule") } as const;

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

export const IdempotencyHeader = z.object({
  "idempotency-key": IdempotencyKey.optional().openapi({
    description: `1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters; a retry with the same key and body replays the first response.`,
  }),
});

export const RequiredIdempotencyHeader = z.object({
  "idempotency-key": IdempotencyKey.openapi({
    description:
      `Required. 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters; a retry with the same key and body replays the first response. ` +
      "Without it the 400 lists this header together with every other bad field.",
  }),
});

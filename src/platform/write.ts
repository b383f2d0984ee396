import type { Context } from "hono";
import type { AppEnv } from "./context";
import { type BatchFailure, classifyBatchError, rethrowGuard } from "./db";
import type { IdempotentWrite } from "./idempotency";
import { ApiError } from "./errors";
import { jsonText } from "./router";

/**
 * Commits one write batch whose last statement returns the response body (see IdempotentWrite.finish).
 * A batch that lost the race to a twin request (same Idempotency-Key) replays the twin's response; `onFailure` may map
 * other constraint failures (e.g. a duplicate orderId) to API errors before guards are translated.
 */
export async function commitWrite(
  c: Context<AppEnv>,
  write: IdempotentWrite,
  statements: D1PreparedStatement[],
  status: number,
  onFailure?: (failure: BatchFailure) => void,
): Promise<Response> {
  let results: D1Result[];
  try {
    results = await c.var.db.batch(statements);
  } catch (error) {
    const failure = classifyBatchError(error);
    // Whatever failed, a twin request with the same key may have committed first: answer as it did.
    if (failure.kind !== "other") {
      const twin = await write.recordAfterFailure();
      if (twin) return twin;
    }
    if (failure.kind === "unique" && failure.table === "idempotency_keys")
      throw new ApiError("conflict", "A request with this Idempotency-Key was being processed; retry.");
    onFailure?.(failure);
    rethrowGuard(failure);
  }
  write.markStored();
  const last = results[results.length - 1]?.results[0] as { response: string } | undefined;
  if (!last) throw new Error("write batch returned no response row");
  return jsonText(last.response, status);
}

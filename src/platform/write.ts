import type { Context } from "hono";
import type { AppEnv } from "./context";
import { type BatchFailure, classifyBatchError, rethrowGuard } from "./db";
import type { IdempotentWrite } from "./idempotency";
import { jsonText } from "./router";

/**
 * Commits one write batch whose last statement returns the response body (see IdempotentWrite.finish).
 * A batch that lost the race for its Idempotency-Key replays the winner's response; `onFailure` may map
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
    if (failure.kind === "unique" && failure.table === "idempotency_keys") return write.replayAfterRace();
    onFailure?.(failure);
    rethrowGuard(failure);
  }
  write.markStored();
  const last = results[results.length - 1]?.results[0] as { response: string } | undefined;
  if (!last) throw new Error("write batch returned no response row");
  return jsonText(last.response, status);
}

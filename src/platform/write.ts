import { GUARD } from "./d1/guard";
import { type BatchFailure, classifyBatchError, rethrowGuard } from "./db";
import { ApiError } from "./errors";
import type { IdempotentWrite } from "./idempotency";
import { jsonText } from "./router";

/**
 * Commits one write batch whose last statement returns the response body (see IdempotentWrite.finish).
 * A batch that lost the race to a twin request (same Idempotency-Key) replays the twin's response; `onFailure` may map
 * other constraint failures (e.g. a duplicate orderId) to API errors before guards are translated; `onCommitted`
 * sees the results of a committed batch.
 */
export async function commitWrite(
  db: D1Database,
  write: IdempotentWrite,
  statements: D1PreparedStatement[],
  status: number,
  onFailure?: (failure: BatchFailure) => void,
  onCommitted?: (results: D1Result[]) => void,
): Promise<Response> {
  let results: D1Result[];
  try {
    results = await db.batch(statements);
  } catch (error) {
    const failure = classifyBatchError(error);
    // Whatever failed, a twin request with the same key may have committed first: answer as it did. Not after
    // a speculation's first checks: a revoked key is refused whatever a twin did, and a stale snapshot is
    // planned again from a read, which finds a twin.
    if (failure.kind !== "other" && !(failure.kind === "guard" && SPECULATION_CHECKS.has(failure.reason))) {
      const twin = await write.recordAfterFailure();
      if (twin) return twin;
    }
    if (failure.kind === "unique" && failure.table === "idempotency_keys")
      throw new ApiError("conflict", "A request with this Idempotency-Key was being processed; retry.");
    onFailure?.(failure);
    rethrowGuard(failure);
  }
  write.markStored();
  onCommitted?.(results);
  const last = results[results.length - 1]?.results[0] as { response: string } | undefined;
  if (!last) throw new Error("write batch returned no response row");
  return jsonText(last.response, status);
}

const SPECULATION_CHECKS = new Set<string>([GUARD.stale, GUARD.keyRevoked]);

/** A 409 that means "read again and retry": a compare-and-set in the write batch saw a concurrent change. */
export class RaceError extends ApiError {
  constructor(detail: string) {
    super("conflict", detail);
  }
}

/** commitWrite's onFailure for writes whose only compare-and-set is settling (a due hold released inline). */
export function conflictIsRace(failure: BatchFailure): void {
  if (failure.kind === "guard" && failure.reason === "conflict")
    throw new RaceError(
      "A hold of this member was captured or cancelled at the same moment; retry with the same Idempotency-Key.",
    );
}

/**
 * Runs `attempt` again, after a little jitter, while it fails with a RaceError (at most `maxAttempts`
 * times; the last RaceError reaches the client as 409, safe to retry with the same Idempotency-Key).
 * `beforeRetry` drops state read for the failed attempt.
 */
export async function retryOnRace<T>(attempt: () => Promise<T>, beforeRetry?: () => void, maxAttempts = 10): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof RaceError) || n >= maxAttempts) throw error;
      beforeRetry?.();
      // Jitter so requests racing for one member or order stop colliding.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * n));
    }
  }
}

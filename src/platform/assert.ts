/**
 * Programming-error checks (TigerBeetle style): a failed assertion is a bug in the engine, never a user
 * error, so it throws a plain Error (a 500) rather than a problem the client could act on.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** The largest running total the engine keeps: beyond 2^53 - 1, JS numbers and D1 binds lose integers. */
export const MAX_TOTAL = Number.MAX_SAFE_INTEGER;

/** Asserts a points or money quantity is a whole number the engine can add exactly. */
export function assertQuantity(value: number, name: string): void {
  assert(Number.isSafeInteger(value) && value >= 0, `${name} must be a non-negative safe integer, got ${value}`);
}

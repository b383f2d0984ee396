/**
 * D1 access shared by every capability: batch guards, error classification, optional row metering.
 */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../db/schema";
import { MAX_TOTAL } from "./assert";
import { GUARD } from "./d1/guard";
import { ApiError, KEY_REVOKED } from "./errors";

export type Orm = ReturnType<typeof drizzle<typeof schema>>;

export function createOrm(db: D1Database): Orm {
  return drizzle(db, { schema });
}

/** createOrm on first call, the same instance after. */
export function lazyOrm(db: D1Database): () => Orm {
  let orm: Orm | undefined;
  return () => {
    orm ??= createOrm(db);
    return orm;
  };
}

/** What a failed batch tells us, read from the D1 error message. */
export type BatchFailure =
  | { kind: "guard"; reason: string }
  | { kind: "unique"; table: string }
  | { kind: "other"; error: unknown };

export function classifyBatchError(error: unknown): BatchFailure {
  const message = error instanceof Error ? error.message : String(error);
  const unique = /UNIQUE constraint failed: (\w+)\./.exec(message);
  if (unique?.[1]) return { kind: "unique", table: unique[1] };
  const guardHit = /D1_ERROR: ([a-z_]+): SQLITE_CONSTRAINT/.exec(message);
  if (guardHit?.[1]) return { kind: "guard", reason: guardHit[1] };
  return { kind: "other", error };
}

/** Turns guard failures into API errors; anything else is rethrown. */
export function rethrowGuard(failure: BatchFailure): never {
  if (failure.kind === "guard") {
    if (failure.reason === "insufficient_points")
      throw new ApiError("insufficient_points", "The member does not have enough spendable points.");
    if (failure.reason === GUARD.insufficientCredit)
      throw new ApiError("insufficient_points", "The member does not have enough store credit.", [
        { path: "credit", message: "is more than the member's spendable store credit" },
      ]);
    if (failure.reason === GUARD.totalLimit)
      throw new ApiError("unprocessable", `The member's totals would pass ${MAX_TOTAL}, the largest the engine keeps exactly.`, [
        { path: "points", message: `would take a running total past ${MAX_TOTAL}` },
      ]);
    if (failure.reason === GUARD.keyRevoked) throw new ApiError("unauthorized", KEY_REVOKED);
    if (failure.reason === "conflict")
      throw new ApiError("conflict", "The resource was changed by a concurrent request; retry with the same key.");
  }
  throw failure.kind === "other" ? failure.error : new Error(`batch aborted: ${JSON.stringify(failure)}`);
}

export interface D1Stats {
  rowsRead: number;
  rowsWritten: number;
  queries: number;
}

/**
 * Wraps a D1 binding so every query adds its meta.rows_read / rows_written to `stats`. Used only when
 * D1_STATS is on (benchmarks), so production pays nothing for it.
 */
export function meteredD1(db: D1Database, stats: D1Stats): D1Database {
  const targets = new WeakMap<object, D1PreparedStatement>();
  const record = (meta: D1Meta | undefined) => {
    stats.queries += 1;
    stats.rowsRead += meta?.rows_read ?? 0;
    stats.rowsWritten += meta?.rows_written ?? 0;
  };
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args));
        if (prop === "all" || prop === "run")
          return async () => {
            const result = await target.all();
            record(result.meta);
            return result;
          };
        if (prop === "first")
          return async (column?: string) => {
            const result = await target.all<Record<string, unknown>>();
            record(result.meta);
            const row = result.results[0];
            return row === undefined ? null : column === undefined ? row : row[column];
          };
        if (prop === "raw")
          return async (options?: { columnNames?: boolean }) => {
            const result = await target.all<Record<string, unknown>>();
            record(result.meta);
            const rows = result.results.map((row) => Object.values(row));
            return options?.columnNames ? [Object.keys(result.results[0] ?? {}), ...rows] : rows;
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    targets.set(proxy, stmt);
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query));
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => targets.get(s) ?? s));
          for (const r of results) record(r.meta);
          return results;
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

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

/**
 * Runs a batch whose guard `reason` refuses the write as a whole (a bound counted inside the batch): that
 * guard becomes `refusal()`, any other failure is rethrown as it is.
 */
export async function batchRefusing(
  db: D1Database,
  statements: D1PreparedStatement[],
  reason: string,
  refusal: () => ApiError,
): Promise<D1Result[]> {
  try {
    return await db.batch(statements);
  } catch (error) {
    const failure = classifyBatchError(error);
    if (failure.kind === "guard" && failure.reason === reason) throw refusal();
    throw error;
  }
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

function recordMeta(stats: D1Stats, meta: D1Meta | undefined): void {
  stats.queries += 1;
  stats.rowsRead += meta?.rows_read ?? 0;
  stats.rowsWritten += meta?.rows_written ?? 0;
}

/** A statement that adds the meta of each run to `stats`; D1's batch() is given the statement it wraps. */
class MeteredStatement {
  constructor(
    readonly statement: D1PreparedStatement,
    private readonly stats: D1Stats,
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return metered(this.statement.bind(...values), this.stats);
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    const result = await this.statement.all<T>();
    recordMeta(this.stats, result.meta);
    return result;
  }

  run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.all<T>();
  }

  async first<T = unknown>(column?: string): Promise<T | null> {
    const row = (await this.all<Record<string, unknown>>()).results[0];
    return (row === undefined ? null : column === undefined ? row : row[column]) as T | null;
  }

  async raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    const { results } = await this.all<Record<string, unknown>>();
    const rows = results.map((row) => Object.values(row));
    return (options?.columnNames ? [Object.keys(results[0] ?? {}), ...rows] : rows) as T[];
  }
}

const metered = (statement: D1PreparedStatement, stats: D1Stats) =>
  new MeteredStatement(statement, stats) as unknown as D1PreparedStatement;

/**
 * Wraps a D1 binding so every query adds its meta.rows_read / rows_written to `stats`. Used only when
 * D1_STATS is on (benchmarks), so production pays nothing for it; a plain object per statement, not a
 * Proxy, so the benchmark measures the engine rather than the meter.
 */
export function meteredD1(db: D1Database, stats: D1Stats): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => metered(target.prepare(query), stats);
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(
            statements.map((s) => (s instanceof MeteredStatement ? s.statement : s) as D1PreparedStatement),
          );
          for (const r of results) recordMeta(stats, r.meta);
          return results;
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

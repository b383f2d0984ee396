/**
 * Counts D1 round trips of one request: the app runs in the test's own module instance on a D1 binding that
 * records every call, so its isolate caches (configuration, keys, member snapshots) are the test's too.
 */
import { env } from "cloudflare:test";
import { sendThrough } from "./d1-faults";

/**
 * A D1 binding that counts round trips (each batch() and each statement run on its own) and the statements
 * they carried.
 */
function countingD1(db: D1Database) {
  const count = { trips: 0, statements: 0 };
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args));
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          count.trips += 1;
          count.statements += 1;
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query));
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          count.trips += 1;
          count.statements += statements.length;
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: proxy, count };
}

/** The request's reply (body parsed), its D1 round trips and the statements they carried. */
export async function sendCounting(
  request: Request,
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field by the tests
): Promise<{ status: number; trips: number; statements: number; body: any; headers: Headers }> {
  const counting = countingD1(env.DB);
  const response = await sendThrough(counting.db, request);
  const text = await response.text();
  return {
    status: response.status,
    trips: counting.count.trips,
    statements: counting.count.statements,
    body: text ? JSON.parse(text) : undefined,
    headers: response.headers,
  };
}

export async function tripsOf(request: Request): Promise<{ status: number; trips: number }> {
  const { status, trips } = await sendCounting(request);
  return { status, trips };
}

/**
 * D1 bindings for one request that meets a fault: another writer's change landing just before its write batch,
 * or the request dying between two round trips once a write committed. `sendThrough` runs the app on one.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { createApp } from "../../src/app";

/** The SQL text of a prepared statement (for hooks that pick a batch by what it writes). */
export const sqlOf = (statement: D1PreparedStatement) => String((statement as unknown as { statement?: string }).statement);

/** A binding whose every batch first awaits `hook`: a concurrent change that lands between a read and a write. */
export function beforeBatch(db: D1Database, hook: (statements: D1PreparedStatement[]) => Promise<unknown>): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          await hook(statements);
          return target.batch(statements);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * A binding that runs `hook` once, just before the first batch with a statement whose SQL contains `marker`:
 * another request committing between a read and the write batch it planned. `fired()` says whether it ran.
 */
export function onceBefore(db: D1Database, marker: string, hook: () => Promise<unknown>) {
  let fired = false;
  const racing = beforeBatch(db, async (statements) => {
    if (fired || !statements.some((s) => sqlOf(s).includes(marker))) return;
    fired = true;
    await hook();
  });
  return { db: racing, fired: () => fired };
}

/** A JSON POST through the app on `db` with `token` and a fresh Idempotency-Key (see sendThrough). */
export function postThrough(db: D1Database, path: string, token: string, body: unknown): Promise<Response> {
  const key = `through-${crypto.randomUUID()}`;
  return sendThrough(
    db,
    new Request(`http://engine.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "idempotency-key": key, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

/** One request through the app on `db` (the test's module instance, so isolate caches are shared). */
export async function sendThrough(db: D1Database, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await createApp().fetch(request, { ...env, DB: db }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * A D1 binding for a request that dies once a write matching `pattern` has committed: every later call of
 * that request fails, as when the worker is evicted or the connection drops between two round trips.
 */
export function dyingAfter(db: D1Database, pattern: RegExp): D1Database {
  let dead = false;
  const texts = new WeakMap<object, string>();
  const lost = () => Promise.reject(new Error("the request died"));
  const settle = <T>(result: Promise<T>, matched: boolean) =>
    result.then((value) => {
      if (matched) dead = true;
      return value;
    });
  const wrap = (stmt: D1PreparedStatement, text: string): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args), text);
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw")
          return (...args: unknown[]) =>
            dead ? lost() : settle((target[prop] as (...a: unknown[]) => Promise<unknown>)(...args), pattern.test(text));
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    texts.set(proxy, text);
    return proxy;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query), query);
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) =>
          dead
            ? lost()
            : settle(
                target.batch(statements),
                statements.some((s) => pattern.test(texts.get(s) ?? "")),
              );
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Any write but an Idempotency-Key's own claim: what a request has done once it dies after it. */
export const ANY_WRITE = /^\s*(insert|update|delete)\b(?!\s+(into\s+)?"?idempotency_keys\b)/i;

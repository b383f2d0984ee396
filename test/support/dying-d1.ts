/** A request that dies between two of its D1 round trips, after a write committed. */

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

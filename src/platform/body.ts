/**
 * Request bodies must be valid UTF-8 and, once parsed, hold only well-formed strings. Without this, bad
 * bytes become U+FFFD and lone surrogates (`"\ud800"`) are silently altered when stored: data the client
 * never sent. Refusing them keeps what is stored byte-identical to what was accepted.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

function malformed(detail: string, errors = [{ path: "(body)", message: detail }]): ApiError {
  return new ApiError("invalid_request", detail, errors);
}

/** Paths (as in validation errors, e.g. `items.0.sku`) of strings and keys that are not well-formed. */
function illFormedPaths(root: unknown): string[] {
  const found: string[] = [];
  const stack: [unknown, string][] = [[root, ""]];
  while (stack.length > 0 && found.length < 20) {
    const [value, path] = stack.pop()!;
    if (typeof value === "string") {
      if (!value.isWellFormed()) found.push(path || "(body)");
    } else if (value && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        const childPath = path ? `${path}.${key}` : key;
        if (!key.isWellFormed()) found.push(childPath);
        else stack.push([child, childPath]);
      }
    }
  }
  return found;
}

function assertWellFormed(text: string): void {
  // Only bodies that escape a surrogate can produce an ill-formed string; others skip the second parse.
  if (!SURROGATE_ESCAPE.test(text)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return; // malformed JSON is reported by the route's validator
  }
  const paths = illFormedPaths(parsed);
  if (paths.length > 0)
    throw malformed(
      "The body contains a string with an unpaired UTF-16 surrogate.",
      paths.map((path) => ({ path, message: "contains an unpaired UTF-16 surrogate" })),
    );
}

export function wellFormedBody(): MiddlewareHandler<AppEnv> {
  return async function wellFormedBody(c, next) {
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.raw.body === null) return next();
    const bytes = await c.req.arrayBuffer();
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw malformed("The body is not valid UTF-8.");
    }
    assertWellFormed(text);
    // Later readers (validators, idempotency hashing) reuse the decoded text.
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    await next();
  };
}

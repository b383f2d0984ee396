/**
 * Request bodies must be valid UTF-8 and, once parsed, hold only well-formed strings. Without this, bad
 * bytes become U+FFFD and lone surrogates (`"\ud800"`) are silently altered when stored: data the client
 * never sent. Refusing them keeps what is stored byte-identical to what was accepted.
 *
 * No object may repeat a key either (`{"amount":1,"amount":2}`): JSON.parse keeps the last one silently,
 * while other parsers (a proxy, an audit log) may read the first, so the request would mean two things.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/** Largest request body accepted (a 500-item order is far below it). */
export const MAX_BODY_BYTES = 256 * 1024;

/** JSON or a `+json` type (application/merge-patch+json, ...), with or without parameters. */
export const JSON_CONTENT_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

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

/** Most duplicate keys reported for one body. */
const MAX_REPORTED = 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** An open object (its keys so far and the key being read) or array (the index of the current item). */
type Frame = { keys: Set<string>; key: string | null; expectKey: boolean } | { index: number };

/** Index of the quote closing the string that opens at `start`, or -1. Escaped quotes are skipped. */
function stringEnd(text: string, start: number): number {
  for (let from = start + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function pathOf(stack: Frame[], key: string): string {
  const parts = stack.slice(0, -1).map((f) => ("index" in f ? String(f.index) : (f.key ?? "")));
  return [...parts, key].join(".");
}

/**
 * Paths of keys repeated within one object, in one pass over the text (strings are skipped whole; keys
 * with escapes are decoded, so `"\u0061"` repeats `"a"`). Text that is not well-formed JSON yields what was
 * found so far: the route's validator reports the syntax error.
 */
export function duplicateKeyPaths(text: string): string[] {
  const found: string[] = [];
  const stack: Frame[] = [];
  for (let i = 0; i < text.length && found.length < MAX_REPORTED; i++) {
    const ch = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (ch === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) break;
      if (top && "keys" in top && top.expectKey) {
        const raw = text.slice(i + 1, end);
        let key: string;
        try {
          key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
        } catch {
          break;
        }
        if (top.keys.has(key)) found.push(pathOf(stack, key));
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (ch === 0x7b /* { */) stack.push({ keys: new Set(), key: null, expectKey: true });
    else if (ch === 0x5b /* [ */) stack.push({ index: 0 });
    else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) stack.pop();
    else if (ch === 0x2c /* , */ && top) {
      if ("index" in top) top.index++;
      else top.expectKey = true;
    }
  }
  return found;
}

function assertNoDuplicateKeys(text: string): void {
  // Only a body holding an object can repeat a key.
  if (!text.includes("{")) return;
  const paths = duplicateKeyPaths(text);
  if (paths.length > 0)
    throw malformed(
      `The body repeats a key within one object: ${paths.slice(0, 3).join(", ")}.`,
      paths.map((path) => ({ path, message: "appears more than once in the same object" })),
    );
}

export function wellFormedBody(): MiddlewareHandler<AppEnv> {
  return async function wellFormedBody(c, next) {
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.raw.body === null) return next();
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength === 0) return next();
    // A form or text body would otherwise fail as "invalid JSON" or be ignored: name the real problem.
    if (!JSON_CONTENT_TYPE.test(c.req.header("content-type") ?? ""))
      throw new ApiError("unsupported_media_type", "The body must be JSON: send `Content-Type: application/json`.");
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw malformed("The body is not valid UTF-8.");
    }
    assertWellFormed(text);
    assertNoDuplicateKeys(text);
    // Later readers (validators, idempotency hashing) reuse the decoded text.
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    await next();
  };
}

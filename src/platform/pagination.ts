import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";
import { queryInteger } from "./validation";

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export const PageQuery = z.object({
  limit: queryInteger(1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE).openapi({
    param: { name: "limit", in: "query" },
    description: `Page size, 1-${MAX_PAGE_SIZE} in decimal digits (default ${DEFAULT_PAGE_SIZE}).`,
  }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

/** Cursors are opaque to clients: base64url of JSON. */
export function encodeCursor(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

export function decodeCursor<T>(cursor: string, check: (value: unknown) => value is T): T {
  try {
    const value: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (check(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw new ApiError("invalid_request", "The cursor is not valid.", [{ path: "query.cursor", message: "is not a valid cursor" }]);
}

export const isString = (v: unknown): v is string => typeof v === "string";
export const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/** Takes limit + 1 rows: the extra one only tells whether there is a next page. */
export function page<T>(rows: T[], limit: number, cursorOf: (last: T) => unknown): { data: T[]; nextCursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null };
}

export function listSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}

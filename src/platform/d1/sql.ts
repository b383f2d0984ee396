/**
 * One tagged template for raw SQL. It numbers its own parameters (anonymous `?`, in order), so fragments
 * compose without any file knowing another file's parameter numbers, and no value is ever spliced into
 * SQL text. Integers are bound as integers: D1 binds every JS number as REAL (measured), which would
 * leak `128.0` into JSON rendered by SQL and turn integer arithmetic into floating point.
 *
 * @example
 * const owner = sql`merchant_id = ${merchantId} AND member_id = ${memberId}`;
 * prepare(db, sql`UPDATE members SET balance = balance + ${points} WHERE ${owner}`);
 */
import { assert } from "../assert";

export class Sql {
  constructor(
    readonly text: string,
    readonly values: readonly unknown[],
  ) {}
}

function placeholder(value: unknown): string {
  if (typeof value !== "number") return "?";
  assert(Number.isFinite(value), "SQL parameters must be finite numbers");
  if (!Number.isInteger(value)) return "?";
  assert(Number.isSafeInteger(value), `integer parameter ${value} is outside the exact range`);
  return "CAST(? AS INTEGER)";
}

/** A statement or fragment; interpolated `Sql` values are inlined with their own parameters. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  let text = strings[0] ?? "";
  const binds: unknown[] = [];
  values.forEach((value, i) => {
    if (value instanceof Sql) {
      text += value.text;
      binds.push(...value.values);
    } else {
      text += placeholder(value);
      binds.push(typeof value === "boolean" ? (value ? 1 : 0) : value === undefined ? null : value);
    }
    text += strings[i + 1] ?? "";
  });
  return new Sql(text, binds);
}

/** Trusted SQL text (identifiers, keywords, constants of the code): never user input. */
sql.raw = (text: string): Sql => new Sql(text, []);

/** Fragments joined by a separator, e.g. `sql.join(conditions, sql` AND `)`. */
sql.join = (parts: readonly Sql[], separator: Sql): Sql =>
  parts.reduce((joined, part, i) => (i === 0 ? part : sql`${joined}${separator}${part}`), sql.raw(""));

/** A D1 statement from a tagged SQL value. */
export function prepare(db: D1Database, query: Sql): D1PreparedStatement {
  return db.prepare(query.text).bind(...query.values);
}

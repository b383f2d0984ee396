/**
 * The canonical form of request bodies hashed for Idempotency-Key checks (src/platform/idempotency.ts).
 * Stored request hashes depend on it, so it must render exactly what the first version rendered: that
 * version is kept here as the reference.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/platform/idempotency";

function reference(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), (_key, value: unknown) =>
      value && typeof value === "object" && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : value,
    );
  } catch {
    return text;
  }
}

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops whitespace", () => {
    expect(canonicalJson('{ "b": 1, "a": [ {"d": null, "c": "x"} ], "__proto__": {"z": 1, "y": 2} }')).toBe(
      '{"__proto__":{"y":2,"z":1},"a":[{"c":"x","d":null}],"b":1}',
    );
    // Index keys first, in numeric order, as objects list them.
    expect(canonicalJson('{"b":1,"10":2,"2":3,"01":4,"4294967295":5,"a":6}')).toBe(
      '{"2":3,"10":2,"01":4,"4294967295":5,"a":6,"b":1}',
    );
    expect(canonicalJson('{"é":1,"e":2,"Z":3,"😀":4,"\\ud800":5}')).toBe(reference('{"é":1,"e":2,"Z":3,"😀":4,"\\ud800":5}'));
  });

  it("keeps text that is not JSON, or nested too deep to walk, as it is", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    for (const text of ["", "{", "not json", '{"a":1}}', deep]) expect(canonicalJson(text)).toBe(text);
  });

  it("renders what the reference renders, for any document and any key order", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 5 }),
          fc.dictionary(fc.oneof(fc.nat().map(String), fc.string()), fc.jsonValue({ maxDepth: 2 })),
        ),
        fc.boolean(),
        (value, pretty) => {
          const text = JSON.stringify(value, null, pretty ? 2 : undefined);
          expect(canonicalJson(text)).toBe(reference(text));
        },
      ),
      { numRuns: 500 },
    );
  });
});

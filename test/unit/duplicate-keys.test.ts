/** The duplicate-key scanner of request bodies (src/platform/body.ts), against JSON.parse as the oracle. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { duplicateKeyPaths } from "../../src/platform/body";

describe("duplicateKeyPaths", () => {
  it("finds repeated keys at any depth, spelt plainly or with escapes", () => {
    expect(duplicateKeyPaths('{"a":1,"a":2}')).toEqual(["a"]);
    expect(duplicateKeyPaths('{"a":1,"\\u0061":2}')).toEqual(["a"]);
    expect(duplicateKeyPaths('{"x":[{"k":1},{"k":1,"k":2}],"y":{"z":{"q":1,"q":1}}}')).toEqual(["x.1.k", "y.z.q"]);
    expect(duplicateKeyPaths('[{"a":1},{"a":1,"b":{"a":2},"a":3}]')).toEqual(["1.a"]);
  });

  it("ignores look-alikes inside strings and keys repeated across objects", () => {
    expect(duplicateKeyPaths('{"a":"\\",\\"a\\":1","b":"\\\\","a2":{"a":1},"c":[{"a":1},{"a":1}]}')).toEqual([]);
    expect(duplicateKeyPaths('{"a":"x\\\\"}')).toEqual([]);
  });

  it("stops quietly on text that is not JSON", () => {
    for (const text of ['{"a":', '{"a', "}}}]]", '{"\\x":1,"\\x":2}', "not json"])
      expect(() => duplicateKeyPaths(text)).not.toThrow();
  });

  it("agrees with JSON.parse on random documents", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        // JSON.stringify never repeats a key: the scanner must find none, and one repeated key once.
        const text = JSON.stringify(value);
        expect(duplicateKeyPaths(text)).toEqual([]);
        if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
          const [key] = Object.keys(value);
          expect(duplicateKeyPaths(`${text.slice(0, -1)},${JSON.stringify(key)}:null}`)).toEqual([key]);
        }
      }),
      { seed: 20_261_129, numRuns: 300 },
    );
  });

  it("reads a large body with many strings and escapes", () => {
    const big = JSON.stringify({
      items: Array.from({ length: 20_000 }, (_, i) => ({ sku: `s${i}`, quantity: 1, note: 'a "quoted" \\ text' })),
    });
    expect(duplicateKeyPaths(big)).toEqual([]);
    expect(duplicateKeyPaths(`${big.slice(0, -1)},"items":[]}`)).toEqual(["items"]);
  });
});

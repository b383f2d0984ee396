/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";

// The sources as text, bundled by vite at build time (workerd has no file system).
const sources = import.meta.glob<string>(["../../src/orders/*.ts", "../../src/rules/*.ts", "../../src/earning/*.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
});

/** The src/ folders a file imports from (relative imports only). */
function importedFolders(text: string): string[] {
  return [...text.matchAll(/from "\.\.\/([a-z-]+)\/([a-z-]+)"/g)].map((m) => `${m[1]}/${m[2]}`);
}

describe("dependencies of orders, rules and earning", () => {
  it("finds the sources", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(10);
    expect(importedFolders('import { postOrder } from "../orders/service";')).toEqual(["orders/service"]);
  });

  it("orders and rules share earning/ and import neither each other nor another capability's routes or service", () => {
    const offending: string[] = [];
    for (const [path, text] of Object.entries(sources)) {
      const folder = path.split("/").at(-2);
      for (const target of importedFolders(text)) {
        const [capability, file] = target.split("/");
        const crossing =
          (folder === "earning" && (capability === "orders" || capability === "rules")) ||
          (folder === "orders" && capability === "rules") ||
          (folder === "rules" && capability === "orders") ||
          (capability !== folder && (file === "routes" || file === "service"));
        if (crossing) offending.push(`${path} imports ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });
});

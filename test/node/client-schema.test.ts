/** The committed typed client (client/schema.d.ts) is what the current OpenAPI document generates. */
import { describe, expect, it } from "vitest";
import { clientSchemaIsCurrent } from "../../scripts/client-schema.mjs";

describe("typed client", () => {
  it("client/schema.d.ts matches the OpenAPI document (else run `npm run client:generate`)", async () => {
    expect(await clientSchemaIsCurrent()).toBe(true);
  });
});

/**
 * What every operation of /openapi.json must declare, so a new route cannot ship undocumented: an
 * operationId, a summary, a description, a declared tag, and every status the middleware can answer with
 * its headers. Failing here names the route and what it lacks.
 */
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/platform/errors";
import { call } from "./support/api";

type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  requestBody?: unknown;
  parameters?: { in: string; name: string }[];
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
};

async function operations(): Promise<{ doc: any; ops: [string, Operation][] }> {
  const r = await call("GET", "/openapi.json");
  expect(r.status).toBe(200);
  const ops: [string, Operation][] = [];
  for (const [path, item] of Object.entries<Record<string, Operation>>(r.body.paths))
    for (const [method, op] of Object.entries(item)) ops.push([`${method.toUpperCase()} ${path}`, op]);
  return { doc: r.body, ops };
}

describe("OpenAPI contract of every operation", () => {
  it("has an operationId, summary, description and a declared tag", async () => {
    const { doc, ops } = await operations();
    const declaredTags = new Set(doc.tags.map((t: { name: string; description?: string }) => t.name));
    const missing = ops.flatMap(([name, op]) => [
      ...(op.operationId ? [] : [`${name}: operationId`]),
      ...(op.summary ? [] : [`${name}: summary`]),
      ...(op.description ? [] : [`${name}: description`]),
      ...(op.tags?.length ? [] : [`${name}: tags`]),
      ...(op.tags ?? []).filter((t) => !declaredTags.has(t)).map((t) => `${name}: tag "${t}" not in TAGS (src/docs/routes.ts)`),
    ]);
    expect(missing).toEqual([]);
    const ids = ops.map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("lists the statuses its middleware can answer, with their headers", async () => {
    const { ops } = await operations();
    const missing: string[] = [];
    for (const [name, op] of ops) {
      const statuses = Object.keys(op.responses);
      const need = ["500"];
      if ((op.security ?? [{}]).length > 0 && name.includes("/v1/")) need.push("401", "403", "429");
      if (op.requestBody) need.push("400");
      if (op.requestBody || (!name.startsWith("GET ") && name.includes("/v1/"))) need.push("413", "415");
      if (name.includes("{")) need.push("404");
      for (const status of need) if (!statuses.includes(status)) missing.push(`${name}: ${status}`);
      for (const [status, response] of Object.entries(op.responses)) {
        if (!response.headers?.["Request-Id"]) missing.push(`${name} ${status}: Request-Id header`);
        if (status === "429" && !response.headers?.["Retry-After"]) missing.push(`${name} 429: Retry-After header`);
        if (status === "401" && !response.headers?.["WWW-Authenticate"]) missing.push(`${name} 401: WWW-Authenticate`);
      }
      const takesKey = op.parameters?.some((p) => p.in === "header" && p.name === "idempotency-key");
      const success = Object.entries(op.responses).find(([s]) => s.startsWith("2"));
      if (!success) missing.push(`${name}: a 2xx response`);
      else if (takesKey && !success[1].headers?.["Idempotent-Replayed"]) missing.push(`${name}: Idempotent-Replayed header`);
    }
    expect(missing).toEqual([]);
  });

  it("documents the Problem code as the engine's error codes, servers and license", async () => {
    const { doc } = await operations();
    expect(doc.components.schemas.Problem.properties.code.enum).toEqual([...ERROR_CODES]);
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(doc.info.license.name).toBe("MIT");
    for (const code of ERROR_CODES) expect(doc.info.description).toContain(`\`${code}\``);
    for (const header of ["RequestId", "IdempotentReplayed", "RetryAfter", "WwwAuthenticate"])
      expect(doc.components.headers[header]).toBeDefined();
  });

  it("marks timestamps as date-time and leaves fields with defaults optional on input", async () => {
    const { doc } = await operations();
    const untyped: string[] = [];
    for (const [name, schema] of Object.entries<any>(doc.components.schemas))
      for (const [field, prop] of Object.entries<any>(schema.properties ?? {}))
        if (/At$/.test(field) && !JSON.stringify(prop).includes("date-time")) untyped.push(`${name}.${field}`);
    expect(untyped).toEqual([]);
    expect(doc.components.schemas.RuleCreate.required).not.toContain("active");
    expect(doc.components.schemas.RuleCreate.required).not.toContain("priority");
    expect(doc.components.schemas.OrderInput.properties.orderId.example).toBe("order-1001");
    expect(doc.components.schemas.OrderInput.properties.currency.example).toBe("CNY");
  });
});

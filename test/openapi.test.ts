import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "./support/api";

describe("OpenAPI document and docs", () => {
  it("serves an OpenAPI 3.1 document with the bearer scheme and every contract path", async () => {
    const r = await call("GET", "/openapi.json");
    expect(r.status, r.text).toBe(200);
    expect(r.body.openapi).toBe("3.1.0");
    expect(r.body.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const paths = Object.keys(r.body.paths);
    for (const path of [
      "/v1/merchants",
      "/v1/api-keys",
      "/v1/api-keys/{id}",
      "/v1/program",
      "/v1/members/{memberId}",
      "/v1/members/{memberId}/ledger",
      "/v1/members/{memberId}/adjustments",
      "/v1/members/{memberId}/tokens",
      "/v1/members/{memberId}/export",
      "/v1/orders",
      "/v1/orders/quote",
      "/v1/orders/{orderId}/refunds",
      "/v1/redemptions",
      "/v1/redemptions/{id}/capture",
      "/v1/redemptions/{id}/cancel",
      "/v1/rules",
      "/v1/rules/{ruleId}",
      "/v1/rules/simulate",
      "/v1/me",
      "/v1/me/ledger",
    ]) {
      expect(paths).toContain(path);
    }
    // The order body documented is the one validated.
    const orderBody = r.body.paths["/v1/orders"].post.requestBody.content["application/json"].schema;
    expect(JSON.stringify(orderBody)).toContain("OrderInput");
    expect(r.body.components.schemas.OrderInput.required).toEqual(
      expect.arrayContaining(["orderId", "memberId", "amount", "currency"]),
    );
  });

  it("serves the docs UI from this origin only", async () => {
    const r = await call("GET", "/docs");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toContain("default-src 'self'");
    // Every script, stylesheet and icon is a same-origin path.
    const sources = [...r.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.length).toBeGreaterThan(2);
    for (const source of sources) expect(source).toMatch(/^\/docs\//);
    const init = await call("GET", "/docs/init.js");
    expect(init.status).toBe(200);
    expect(init.headers.get("content-type")).toContain("javascript");
    expect(init.text).toContain('"/openapi.json"');
    expect(init.text).toContain("validatorUrl: null");
  });

  it("serves the docs UI's files from the Worker itself, and nothing else under their path", async () => {
    const page = await call("GET", "/docs");
    const files = [...page.text.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(files.sort()).toEqual([
      "/docs/assets/favicon-32x32.png",
      "/docs/assets/swagger-ui-bundle.js",
      "/docs/assets/swagger-ui.css",
    ]);
    const types: Record<string, string> = { js: "text/javascript", css: "text/css", png: "image/png" };
    for (const path of files) {
      const r = await exports.default.fetch(new Request(`http://engine.test${path}`));
      const bytes = new Uint8Array(await r.arrayBuffer());
      expect(r.status, path).toBe(200);
      expect(r.headers.get("content-type")).toContain(types[path.split(".").pop() as string]);
      expect(r.headers.get("cache-control")).toBe("public, max-age=86400");
      expect(bytes.length).toBeGreaterThan(500);
      if (path.endsWith(".png")) expect([...bytes.slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
    }
    expect((await call("GET", "/docs/assets/swagger-ui-bundle.js")).text).toContain("SwaggerUIBundle");
    for (const missing of ["/docs/assets/index.html", "/docs/assets/constructor", "/docs/assets/__proto__"]) {
      const r = await call("GET", missing);
      expect([r.status, r.body.code]).toEqual([404, "not_found"]);
    }
  });

  it("answers health without auth", async () => {
    const r = await call("GET", "/health");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });
});

/**
 * Conventions every response keeps (API.md "Conventions"): Request-Id on every response and in problem
 * bodies, WWW-Authenticate on 401, 415 for bodies that are not JSON, 413 for oversize ones, security headers.
 */
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../src/platform/body";
import { call, createMerchant, uid } from "./support/api";

describe("HTTP conventions", () => {
  it("sends Request-Id on every response and repeats it in problem bodies", async () => {
    const m = await createMerchant();
    const ok = await call("GET", "/v1/program", { token: m.read });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("request-id")).toMatch(/^[\w-]{8,}$/);
    const missing = await call("GET", `/v1/members/${uid("nobody")}`, { token: m.read });
    expect(missing.status).toBe(404);
    expect(missing.body.requestId).toBe(missing.headers.get("request-id"));
    const noRoute = await call("GET", "/v1/nowhere", { token: m.read });
    expect(noRoute.status).toBe(404);
    expect(noRoute.body.requestId).toBe(noRoute.headers.get("request-id"));
    for (const path of ["/health", "/openapi.json", "/docs"])
      expect((await call("GET", path)).headers.get("request-id"), path).toBeTruthy();
    expect(ok.headers.get("request-id")).not.toBe(missing.headers.get("request-id"));
  });

  it("answers 401 with WWW-Authenticate: Bearer", async () => {
    const r = await call("GET", "/v1/program");
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    expect(r.body.code).toBe("unauthorized");
    expect(r.body.requestId).toBe(r.headers.get("request-id"));
    const wrong = await call("GET", "/v1/program", { token: "lk_unknown" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  });

  it("refuses a form-encoded or text body with 415 unsupported_media_type, writing nothing", async () => {
    const m = await createMerchant();
    for (const contentType of ["application/x-www-form-urlencoded", "text/plain", ""]) {
      const r = await call("PUT", "/v1/members/form-member", {
        token: m.admin,
        rawBody: "email=a%40example.com",
        headers: contentType ? { "content-type": contentType } : { "content-type": "application/octet-stream" },
      });
      expect(r.status, contentType).toBe(415);
      expect(r.body.code).toBe("unsupported_media_type");
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    expect((await call("GET", "/v1/members/form-member", { token: m.admin })).status).toBe(404);
    // Also on a route that takes no body: whatever is sent must be JSON.
    const jobRun = await call("POST", "/v1/jobs/expiry/runs", {
      token: m.admin,
      rawBody: "now",
      headers: { "content-type": "text/plain" },
    });
    expect(jobRun.status).toBe(415);
    // A JSON media type with parameters, or a +json type, is JSON.
    const ok = await call("PUT", "/v1/members/form-member", {
      token: m.admin,
      body: { name: "Form" },
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    expect(ok.status).toBe(201);
  });

  it("refuses an oversize body with 413 payload_too_large", async () => {
    const m = await createMerchant();
    const r = await call("PUT", "/v1/members/big", {
      token: m.admin,
      body: { name: "Big", attributes: { pad: "x".repeat(MAX_BODY_BYTES) } },
    });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe("payload_too_large");
    expect(r.body.requestId).toBe(r.headers.get("request-id"));
  });

  it("sets security headers on API responses", async () => {
    const r = await call("GET", "/health");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(r.headers.get("strict-transport-security")).toContain("max-age=");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
  });
});

/**
 * CORS on /v1/me* only: preflights answered without credentials, Access-Control-Allow-Origin on replies
 * only for the origins the token's merchant lists in program settings (`allowedOrigins`).
 */
import { describe, expect, it } from "vitest";
import { call, uid } from "./support/api";
import { merchantWith, PROGRAM_DEFAULTS } from "./support/flows";

const SHOP = "https://shop.example";
const OTHER_SHOP = "https://other-shop.example";

async function memberToken(m: { checkout: string }): Promise<string> {
  expect((await call("PUT", "/v1/members/browser", { token: m.checkout, body: {} })).status).toBe(201);
  const r = await call("POST", "/v1/members/browser/tokens", { token: m.checkout, idempotencyKey: uid("t") });
  expect(r.status, r.text).toBe(201);
  return r.body.token;
}

const preflight = (path: string, origin: string) =>
  call("OPTIONS", path, {
    headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
  });

describe("CORS on the member API", () => {
  it("stores allowedOrigins in program settings and validates them", async () => {
    const m = await merchantWith({ allowedOrigins: [SHOP, "http://localhost:5173", SHOP] });
    const program = await call("GET", "/v1/program", { token: m.read });
    expect(program.body.allowedOrigins).toEqual([SHOP, "http://localhost:5173"]);
    for (const bad of ["http://shop.example", "https://shop.example/", "https://shop.example/path", "*", "shop.example"]) {
      const r = await call("PUT", "/v1/program", { token: m.admin, body: { ...PROGRAM_DEFAULTS, allowedOrigins: [bad] } });
      expect(r.status, bad).toBe(400);
      expect(r.body.errors[0].path).toBe("allowedOrigins.0");
    }
    const tooMany = Array.from({ length: 21 }, (_, i) => `https://s${i}.example`);
    const r = await call("PUT", "/v1/program", { token: m.admin, body: { ...PROGRAM_DEFAULTS, allowedOrigins: tooMany } });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].path).toBe("allowedOrigins");
    // Omitted on a PUT: none.
    await call("PUT", "/v1/program", { token: m.admin, body: PROGRAM_DEFAULTS });
    expect((await call("GET", "/v1/program", { token: m.read })).body.allowedOrigins).toEqual([]);
  });

  it("answers preflights without credentials, allowing only listed origins", async () => {
    await merchantWith({ allowedOrigins: [SHOP] });
    for (const path of ["/v1/me", "/v1/me/ledger"]) {
      const ok = await preflight(path, SHOP);
      expect(ok.status, path).toBe(204);
      expect(ok.headers.get("access-control-allow-origin")).toBe(SHOP);
      expect(ok.headers.get("access-control-allow-methods")).toContain("GET");
      expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
      const unknown = await preflight(path, "https://evil.example");
      expect(unknown.status).toBe(204);
      expect(unknown.headers.get("access-control-allow-origin")).toBeNull();
    }
    // Merchant routes answer no CORS.
    const merchantRoute = await preflight("/v1/program", SHOP);
    expect(merchantRoute.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows the origin on the reply only when the token's merchant lists it", async () => {
    const m = await merchantWith({ allowedOrigins: [SHOP] });
    const other = await merchantWith({ allowedOrigins: [OTHER_SHOP] });
    const token = await memberToken(m);
    const mine = await call("GET", "/v1/me", { token, headers: { origin: SHOP } });
    expect(mine.status).toBe(200);
    expect(mine.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(mine.headers.get("vary")).toContain("Origin");
    // Listed by another merchant only: the preflight passes, the reply is not shared.
    expect((await preflight("/v1/me", OTHER_SHOP)).headers.get("access-control-allow-origin")).toBe(OTHER_SHOP);
    const foreign = await call("GET", "/v1/me", { token, headers: { origin: OTHER_SHOP } });
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    const evil = await call("GET", "/v1/me/ledger", { token, headers: { origin: "https://evil.example" } });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    // An API key on a merchant route gets no CORS header even from a listed origin.
    const keyed = await call("GET", "/v1/program", { token: m.read, headers: { origin: SHOP } });
    expect(keyed.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.id).not.toBe(m.id);
  });
});

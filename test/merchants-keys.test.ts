import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createMerchant, PLATFORM_TOKEN, type Reply, uid } from "./support/api";

/**
 * Parallel copies of one request with one Idempotency-Key: exactly one runs. The others replay its body
 * (secret nulled, `Idempotent-Replayed: true`) or answer 409 conflict (still being processed).
 */
function expectOneRun(replies: Reply[], secretOf: (body: any) => string | null, withoutSecret: (body: any) => unknown): void {
  const fresh = replies.filter((r) => r.status === 201 && r.headers.get("idempotent-replayed") !== "true");
  expect(fresh.map((r) => r.text)).toHaveLength(1);
  expect(secretOf(fresh[0]!.body)).toEqual(expect.any(String));
  for (const r of replies) {
    if (r === fresh[0]) continue;
    if (r.status === 409) {
      expect(r.body.code, r.text).toBe("conflict");
      continue;
    }
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get("idempotent-replayed")).toBe("true");
    expect(secretOf(r.body)).toBeNull();
    expect(withoutSecret(r.body)).toEqual(withoutSecret(fresh[0]!.body));
  }
}

describe("merchants and API keys", () => {
  it("creates a merchant with an admin key shown once and stored as a hash", async () => {
    const r = await call("POST", "/v1/merchants", {
      token: PLATFORM_TOKEN,
      body: { name: "Shop", currency: "CNY", timezone: "Asia/Shanghai" },
    });
    expect(r.status).toBe(201);
    expect(r.body.merchant).toMatchObject({ name: "Shop", currency: "CNY", timezone: "Asia/Shanghai" });
    expect(r.body.merchant.id).toMatch(/^mer_/);
    expect(r.body.apiKey).toMatchObject({ scope: "admin" });
    const list = await call("GET", "/v1/api-keys", { token: r.body.apiKey.secret });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(r.body.apiKey.secret);
    expect(list.body.data[0]).toMatchObject({
      id: r.body.apiKey.id,
      scope: "admin",
      hint: r.body.apiKey.secret.slice(-4),
      revokedAt: null,
    });
    const program = await call("GET", "/v1/program", { token: r.body.apiKey.secret });
    expect(program.body).toEqual({
      pointValue: { points: 100, amount: 100 },
      pendingDays: 0,
      expiry: { policy: "none" },
      autoEnroll: true,
      allowedOrigins: [],
      earnOnPointsPaid: false,
      referral: null,
    });
  });

  it("creates a merchant once per Idempotency-Key", async () => {
    const body = { name: "Once", currency: "CNY", timezone: "UTC" };
    const first = await call("POST", "/v1/merchants", { token: PLATFORM_TOKEN, body, idempotencyKey: "merchant-once" });
    const again = await call("POST", "/v1/merchants", { token: PLATFORM_TOKEN, body, idempotencyKey: "merchant-once" });
    expect(first.status).toBe(201);
    expect(first.body.apiKey.secret).toMatch(/^lk_admin_/);
    // The secret is shown once: the replay is the same merchant and key, without the secret.
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual({ ...first.body, apiKey: { ...first.body.apiKey, secret: null } });
    const stored = await env.DB.prepare("SELECT response FROM idempotency_keys WHERE key = 'merchant-once'").first<{
      response: string;
    }>();
    expect(stored!.response).not.toContain(first.body.apiKey.secret);
    const other = await call("POST", "/v1/merchants", {
      token: PLATFORM_TOKEN,
      body: { ...body, name: "Twice" },
      idempotencyKey: "merchant-once",
    });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe("idempotency_key_reused");
  });

  // Was: the key was stored only after the handler, so 15 parallel copies of one POST /v1/merchants created
  // several merchants, each with a live admin secret.
  it("creates one merchant from 15 parallel copies of one request", async () => {
    const name = uid("parallel-shop");
    const key = uid("merchant-key");
    const body = { name, currency: "CNY", timezone: "UTC" };
    const replies = await Promise.all(
      Array.from({ length: 15 }, () => call("POST", "/v1/merchants", { token: PLATFORM_TOKEN, body, idempotencyKey: key })),
    );
    const created = await env.DB.prepare("SELECT COUNT(*) AS n FROM merchants WHERE name = ?1").bind(name).first<{ n: number }>();
    expect(created!.n).toBe(1);
    expectOneRun(
      replies,
      (b) => b.apiKey.secret,
      (b) => ({ ...b, apiKey: { ...b.apiKey, secret: null } }),
    );
    // Settled: a later copy replays.
    const later = await call("POST", "/v1/merchants", { token: PLATFORM_TOKEN, body, idempotencyKey: key });
    expect(later.headers.get("idempotent-replayed")).toBe("true");
  });

  it("creates one API key from 15 parallel copies of one request", async () => {
    const m = await createMerchant();
    const name = uid("parallel-key");
    const key = uid("api-key-key");
    const replies = await Promise.all(
      Array.from({ length: 15 }, () =>
        call("POST", "/v1/api-keys", { token: m.admin, body: { scope: "read", name }, idempotencyKey: key }),
      ),
    );
    const created = await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE merchant_id = ?1 AND name = ?2")
      .bind(m.id, name)
      .first<{ n: number }>();
    expect(created!.n).toBe(1);
    expectOneRun(
      replies,
      (b) => b.secret,
      (b) => ({ ...b, secret: null }),
    );
  });

  it("frees the Idempotency-Key of a refused request, so it can be retried", async () => {
    const key = uid("retry-key");
    const bad = await call("POST", "/v1/merchants", {
      token: PLATFORM_TOKEN,
      body: { name: "x", currency: "yuan", timezone: "UTC" },
      idempotencyKey: key,
    });
    expect(bad.status).toBe(400);
    const good = await call("POST", "/v1/merchants", {
      token: PLATFORM_TOKEN,
      body: { name: "x", currency: "CNY", timezone: "UTC" },
      idempotencyKey: key,
    });
    expect(good.status, good.text).toBe(201);
    expect(good.headers.get("idempotent-replayed")).toBeNull();
  });

  it("takes over a claim left by a request that died, but not a live one", async () => {
    const m = await createMerchant();
    const claim = (key: string, createdAt: number) =>
      env.DB.prepare(
        "INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, created_at) VALUES (?1, ?2, 'other', NULL, NULL, ?3)",
      )
        .bind(m.id, key, createdAt)
        .run();
    const stale = uid("stale-key");
    await claim(stale, Date.now() - 10 * 60_000);
    const taken = await call("POST", "/v1/api-keys", {
      token: m.admin,
      body: { scope: "read", name: "after crash" },
      idempotencyKey: stale,
    });
    expect(taken.status, taken.text).toBe(201);
    const live = uid("live-key");
    await claim(live, Date.now());
    const refused = await call("POST", "/v1/api-keys", {
      token: m.admin,
      body: { scope: "read", name: "twin" },
      idempotencyKey: live,
    });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.code).toBe("idempotency_key_reused");
  });

  it("refuses merchants with bad currency or time zone, and without the platform token", async () => {
    const bad = await call("POST", "/v1/merchants", {
      token: PLATFORM_TOKEN,
      body: { name: "x", currency: "yuan", timezone: "Mars/Olympus" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.path).sort()).toEqual(["currency", "timezone"]);
    const m = await createMerchant();
    expect(
      (await call("POST", "/v1/merchants", { token: m.admin, body: { name: "x", currency: "CNY", timezone: "UTC" } })).status,
    ).toBe(403);
    expect(
      (await call("POST", "/v1/merchants", { token: "nope", body: { name: "x", currency: "CNY", timezone: "UTC" } })).status,
    ).toBe(401);
  });

  it("scopes keys: read is GET only, checkout cannot manage the program", async () => {
    const m = await createMerchant();
    expect((await call("GET", "/v1/program", { token: m.read })).status).toBe(200);
    const readPut = await call("PUT", "/v1/members/x", { token: m.read, body: {} });
    expect(readPut.status).toBe(403);
    expect(readPut.body.code).toBe("forbidden");
    expect((await call("PUT", "/v1/members/x", { token: m.checkout, body: {} })).status).toBe(201);
    expect((await call("GET", "/v1/api-keys", { token: m.checkout })).status).toBe(403);
    expect((await call("POST", "/v1/rules", { token: m.checkout, body: {} })).status).toBe(403);
  });

  it("revokes a key with immediate effect", async () => {
    const m = await createMerchant();
    const keys = await call("GET", "/v1/api-keys", { token: m.admin });
    const checkoutKey = keys.body.data.find((k: any) => k.scope === "checkout");
    expect((await call("GET", "/v1/members/x", { token: m.checkout })).status).toBe(404);
    expect((await call("DELETE", `/v1/api-keys/${checkoutKey.id}`, { token: m.admin })).status).toBe(204);
    const after = await call("GET", "/v1/members/x", { token: m.checkout });
    expect(after.status).toBe(401);
    expect(after.headers.get("content-type")).toContain("application/problem+json");
    expect((await call("DELETE", "/v1/api-keys/key_missing", { token: m.admin })).status).toBe(404);
  });

  // Was: an admin could revoke the merchant's last admin key, locking the merchant out for good.
  it("refuses to revoke the last active admin key", async () => {
    const m = await createMerchant();
    const keys = await call("GET", "/v1/api-keys", { token: m.admin });
    const adminKey = keys.body.data.find((k: any) => k.scope === "admin");
    const refused = await call("DELETE", `/v1/api-keys/${adminKey.id}`, { token: m.admin });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.code).toBe("conflict");
    expect(refused.body.detail).toMatch(/last active admin key/);
    expect((await call("GET", "/v1/api-keys", { token: m.admin })).status).toBe(200);
    // With a second admin key, the first one can go; then the second is the last.
    const second = await call("POST", "/v1/api-keys", { token: m.admin, body: { scope: "admin", name: "second" } });
    expect((await call("DELETE", `/v1/api-keys/${adminKey.id}`, { token: second.body.secret })).status).toBe(204);
    expect((await call("DELETE", `/v1/api-keys/${second.body.id}`, { token: second.body.secret })).status).toBe(409);
    // Revoking an already revoked key stays a harmless 204.
    expect((await call("DELETE", `/v1/api-keys/${adminKey.id}`, { token: second.body.secret })).status).toBe(204);
  });

  it("keeps one admin key when the last two are revoked at the same time", async () => {
    for (let round = 0; round < 5; round++) {
      const m = await createMerchant();
      const second = await call("POST", "/v1/api-keys", { token: m.admin, body: { scope: "admin", name: "second" } });
      const keys = await call("GET", "/v1/api-keys", { token: m.admin });
      const ids = keys.body.data.filter((k: any) => k.scope === "admin").map((k: any) => k.id as string);
      expect(ids).toHaveLength(2);
      // Each key revokes the other, at once.
      const replies = await Promise.all([
        call("DELETE", `/v1/api-keys/${second.body.id}`, { token: m.admin }),
        call("DELETE", `/v1/api-keys/${ids.find((id: string) => id !== second.body.id)}`, { token: second.body.secret }),
      ]);
      expect(replies.map((r) => r.status).filter((s) => s === 204)).toHaveLength(1);
      for (const r of replies) expect([204, 401, 409], r.text).toContain(r.status);
      const active = await env.DB.prepare(
        "SELECT COUNT(*) AS n FROM api_keys WHERE merchant_id = ?1 AND scope = 'admin' AND revoked_at IS NULL",
      )
        .bind(m.id)
        .first<{ n: number }>();
      expect(active!.n).toBe(1);
    }
  });

  it("401 without or with a malformed Authorization header", async () => {
    expect((await call("GET", "/v1/program")).status).toBe(401);
    expect((await call("GET", "/v1/program", { headers: { authorization: "Basic abc" } })).status).toBe(401);
  });
});

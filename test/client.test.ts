/**
 * The typed client (client/) against the engine: the example checkout runs, POSTs carry one Idempotency-Key
 * per call, and retries after a lost response, a 5xx or a 429 reuse it, so a write happens once.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkout } from "../client/examples/checkout";
import { createLoyaltyClient, type ErrorCode } from "../client/index";
import { call, createMerchant, member } from "./support/api";

const engineFetch = (request: Request) => exports.default.fetch(request);

/** A fetch that records what it sends, and can fail or lose responses on chosen attempts. */
function flakyFetch(plan: ("lose" | "503" | "429" | "ok")[]) {
  const sent: { method: string; url: string; key: string | null }[] = [];
  const fetcher = async (request: Request) => {
    sent.push({ method: request.method, url: request.url, key: request.headers.get("idempotency-key") });
    const step = plan.shift() ?? "ok";
    if (step === "503") return new Response("unavailable", { status: 503 });
    if (step === "429") return new Response("slow down", { status: 429, headers: { "retry-after": "2" } });
    const response = await engineFetch(request);
    if (step === "lose") throw new TypeError("network connection lost");
    return response;
  };
  return { sent, fetcher };
}

describe("typed client", () => {
  it("runs the example checkout: enrol, order, redeem, refund", async () => {
    const m = await createMerchant();
    const rule = { id: "base", name: "1 point per 1.00", effect: { kind: "per_amount", points: 1, per: 100 } };
    expect((await call("POST", "/v1/rules", { token: m.admin, body: rule })).status).toBe(201);
    const engine = createLoyaltyClient({ baseUrl: "http://engine.test", token: m.checkout, fetch: engineFetch });
    const summary = await checkout(engine, { memberId: "member-42", orderId: "order-1001" });
    expect(summary).toMatchObject({ pointsEarned: 128, pointsRedeemed: 100, pointsReversed: 64, balance: 128 - 100 - 64 });
    expect((await member(m, "member-42")).balance).toBe(-36);
  });

  it("retries a lost response, a 503 and a 429 with the same key, writing once", async () => {
    const m = await createMerchant();
    const waits: number[] = [];
    const { sent, fetcher } = flakyFetch(["lose", "503", "429", "ok"]);
    const engine = createLoyaltyClient({
      baseUrl: "http://engine.test",
      token: m.admin,
      fetch: fetcher,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect((await call("PUT", "/v1/members/retried", { token: m.admin, body: {} })).status).toBe(201);
    const { data, response } = await engine.POST("/v1/members/{memberId}/adjustments", {
      params: { path: { memberId: "retried" } },
      body: { points: 50, reason: "goodwill" },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("idempotent-replayed")).toBe("true");
    expect(data?.points).toBe(50);
    expect(sent.length).toBe(4);
    expect(new Set(sent.map((s) => s.key)).size).toBe(1);
    expect(sent[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(waits[2]).toBe(2000); // Retry-After: 2
    expect((await member(m, "retried")).balance).toBe(50);
  });

  it("makes a new key for each call, gives up after its attempts, and types problem codes", async () => {
    const m = await createMerchant();
    const { sent, fetcher } = flakyFetch([]);
    const engine = createLoyaltyClient({ baseUrl: "http://engine.test", token: m.admin, fetch: fetcher });
    expect(
      (await engine.PUT("/v1/members/{memberId}", { params: { path: { memberId: "twice" } }, body: {} })).response.status,
    ).toBe(201);
    for (const points of [1, 2])
      await engine.POST("/v1/members/{memberId}/adjustments", {
        params: { path: { memberId: "twice" } },
        body: { points, reason: "goodwill" },
      });
    expect(sent[0]?.method).toBe("PUT");
    expect(sent[0]?.key).toBeNull(); // PUT is idempotent by itself
    expect(sent[1]?.key).not.toBe(sent[2]?.key);
    expect((await member(m, "twice")).balance).toBe(3);

    const down = createLoyaltyClient({
      baseUrl: "http://engine.test",
      token: m.admin,
      maxAttempts: 3,
      sleep: async () => {},
      fetch: async () => new Response("down", { status: 503 }),
    });
    const failed = await down.GET("/v1/program");
    expect(failed.response.status).toBe(503);

    const { error } = await engine.POST("/v1/redemptions", { body: { memberId: "twice", points: 500 } });
    const code: ErrorCode | undefined = error?.code;
    expect(code).toBe("insufficient_points");
  });
});

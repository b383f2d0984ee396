/**
 * Rate limits per API key and per member token (wrangler.toml `[[ratelimits]]`, src/platform/rate-limit.ts).
 * The other suites run with RATE_LIMITS off; here the app runs with them on, against the real limiter
 * binding (member tokens) or a limiter that can be switched (API keys), and the real local D1.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { MEMBER_TOKEN_LIMIT_PER_MINUTE, RATE_LIMIT_PERIOD_SECONDS } from "../src/platform/rate-limit";
import { call, createMerchant, member, uid } from "./support/api";

const app = createApp();

/** A request through the app with the rate limits on (and optionally another API key limiter). */
async function limited(
  method: string,
  path: string,
  token: string,
  options: { body?: unknown; key?: string; limiter?: RateLimit } = {},
) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.key) headers["idempotency-key"] = options.key;
  const request = new Request(`http://engine.test${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const bindings = { ...env, RATE_LIMITS: "on", ...(options.limiter ? { API_KEY_RATE_LIMITER: options.limiter } : {}) };
  const response = await app.fetch(request, bindings);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
}

/** A limiter that allows while `open` is true. */
function switchableLimiter() {
  const state = { open: true, calls: 0 };
  const limiter: RateLimit = {
    limit: async () => {
      state.calls++;
      return { success: state.open };
    },
  };
  return { state, limiter };
}

describe("rate limits", () => {
  it("limits one member token to its budget per minute with 429 rate_limited and Retry-After", async () => {
    const m = await createMerchant();
    expect((await call("PUT", "/v1/members/limited", { token: m.checkout, body: {} })).status).toBe(201);
    const mint = async () =>
      (await call("POST", "/v1/members/limited/tokens", { token: m.checkout, idempotencyKey: uid("t") })).body.token as string;
    const token = await mint();
    let allowed = 0;
    let refused: Awaited<ReturnType<typeof limited>> | undefined;
    for (let i = 0; i < MEMBER_TOKEN_LIMIT_PER_MINUTE + 5 && !refused; i++) {
      const r = await limited("GET", "/v1/me", token);
      if (r.status === 200) allowed++;
      else refused = r;
    }
    expect(allowed, refused?.text).toBe(MEMBER_TOKEN_LIMIT_PER_MINUTE);
    expect(refused?.status).toBe(429);
    expect(refused?.body.code).toBe("rate_limited");
    expect(refused?.headers.get("retry-after")).toBe(String(RATE_LIMIT_PERIOD_SECONDS));
    expect(refused?.body.requestId).toBe(refused?.headers.get("request-id"));
    // Another token of the same member has a budget of its own.
    expect((await limited("GET", "/v1/me", await mint())).status).toBe(200);
  });

  it("a limited write writes nothing, and its retry with the same key runs once or replays", async () => {
    const m = await createMerchant();
    const { state, limiter } = switchableLimiter();
    const order = { orderId: "order-1001", memberId: "carol", amount: 12800, currency: "CNY" };
    const first = await limited("POST", "/v1/orders", m.checkout, { body: order, key: "key-1", limiter });
    expect(first.status, first.text).toBe(201);

    state.open = false;
    // A retry of a committed request is refused before it is read: no replay, no second write.
    const retried = await limited("POST", "/v1/orders", m.checkout, { body: order, key: "key-1", limiter });
    expect(retried.status).toBe(429);
    expect(retried.headers.get("retry-after")).toBeTruthy();
    // A new request is refused before anything is written.
    const second = { ...order, orderId: "order-1002" };
    expect((await limited("POST", "/v1/orders", m.checkout, { body: second, key: "key-2", limiter })).status).toBe(429);

    state.open = true;
    const replay = await limited("POST", "/v1/orders", m.checkout, { body: order, key: "key-1", limiter });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.text).toBe(first.text);
    expect((await call("GET", "/v1/orders/order-1002", { token: m.read })).status).toBe(404);
    const runs = await limited("POST", "/v1/orders", m.checkout, { body: second, key: "key-2", limiter });
    expect(runs.status).toBe(201);
    expect(runs.headers.get("idempotent-replayed")).toBeNull();
    expect((await member(m, "carol")).lifetimeEarned).toBe(first.body.pointsEarned + runs.body.pointsEarned);
    expect(state.calls).toBe(5);
  });

  it("limits unknown secrets too, before they reach the database", async () => {
    const { state, limiter } = switchableLimiter();
    state.open = false;
    const r = await limited("GET", "/v1/program", "lk_not-a-key", { limiter });
    expect(r.status).toBe(429);
  });
});

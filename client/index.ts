/**
 * Typed client of the loyalty engine: openapi-fetch over the types generated from /openapi.json
 * (`npm run client:generate` writes schema.d.ts; a test fails when it is out of date).
 *
 * Safe retries: every POST is sent with an Idempotency-Key, made once per call and reused on each retry, so a
 * retried write runs once or replays the first response. Network failures, 5xx and 429 are retried a bounded
 * number of times, waiting Retry-After when the engine sends it, else backing off exponentially.
 *
 * @example
 * const engine = createLoyaltyClient({ baseUrl: "http://localhost:8787", token: process.env.KEY });
 * const { data, error } = await engine.POST("/v1/orders", {
 *   body: { orderId: "order-1001", memberId: "member-42", amount: 12800, currency: "CNY" },
 * });
 * if (error) console.log(error.code); // an ErrorCode
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

/** Every `code` a problem body can carry. */
export type ErrorCode = components["schemas"]["Problem"]["code"];
/** An application/problem+json body. */
export type Problem = components["schemas"]["Problem"];
export type { components, paths };

/** Operations whose Idempotency-Key header the client fills in: callers may still pass their own. */
type WithOptionalKey<Op> = Op extends { parameters: { header: infer H } }
  ? Omit<Op, "parameters"> & {
      parameters: Omit<Op["parameters"], "header"> & {
        header?: Omit<H, "idempotency-key"> & { "idempotency-key"?: string };
      };
    }
  : Op;

/** The engine's paths as the client takes them: a required Idempotency-Key becomes optional. */
export type ClientPaths = { [P in keyof paths]: { [M in keyof paths[P]]: WithOptionalKey<paths[P][M]> } };

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  maxAttempts?: number;
  /** First backoff when the engine sends no Retry-After, doubled on each retry (ms, default 200). */
  baseDelayMs?: number;
  /** Longest wait the client accepts; a longer Retry-After ends the retries (ms, default 60,000). */
  maxDelayMs?: number;
  /** How to wait (tests pass one that records instead of sleeping). */
  sleep?: (ms: number) => Promise<void>;
}

export interface LoyaltyClientOptions extends RetryOptions {
  baseUrl: string;
  /** An API key, a member token or the platform token. */
  token?: string;
  /** The fetch to send with (default: the global fetch). */
  fetch?: (request: Request) => Promise<Response>;
  /** Makes Idempotency-Keys (default: a random UUID). */
  newKey?: () => string;
}

const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);

/** A client for the engine's API, typed by its OpenAPI document. */
export function createLoyaltyClient(options: LoyaltyClientOptions): Client<ClientPaths> {
  const send = options.fetch ?? ((request: Request) => fetch(request));
  return createClient<ClientPaths>({
    baseUrl: options.baseUrl,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    fetch: (request) => retrying(request, send, options),
  });
}

/** Sends `request`, retrying network failures, 5xx and 429 with the same Idempotency-Key. */
export async function retrying(
  request: Request,
  send: (request: Request) => Promise<Response>,
  options: RetryOptions & { newKey?: () => string } = {},
): Promise<Response> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const keyed = withIdempotencyKey(request, options.newKey ?? (() => crypto.randomUUID()));
  for (let attempt = 1; ; attempt++) {
    let response: Response | undefined;
    try {
      response = await send(keyed.clone());
    } catch (error) {
      if (attempt >= maxAttempts) throw error;
    }
    if (response && (!RETRIED_STATUSES.has(response.status) || attempt >= maxAttempts)) return response;
    const delay = retryDelay(response, attempt, options);
    if (delay === null) return response as Response;
    await response?.body?.cancel();
    await sleep(delay);
  }
}

/** POSTs get an Idempotency-Key (once, here: every retry of this call reuses it); other methods are idempotent. */
function withIdempotencyKey(request: Request, newKey: () => string): Request {
  if (request.method !== "POST" || request.headers.has("idempotency-key")) return request;
  const headers = new Headers(request.headers);
  headers.set("idempotency-key", newKey());
  return new Request(request, { headers });
}

/** How long to wait before the next attempt, or null when the wait asked for is longer than allowed. */
function retryDelay(response: Response | undefined, attempt: number, options: RetryOptions): number | null {
  const maxDelay = options.maxDelayMs ?? 60_000;
  const retryAfter = Number(response?.headers.get("retry-after") ?? Number.NaN);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return retryAfter * 1000 <= maxDelay ? retryAfter * 1000 : null;
  const backoff = (options.baseDelayMs ?? 200) * 2 ** (attempt - 1);
  // Jitter spreads the retries of many clients that failed together.
  return Math.min(maxDelay, backoff / 2 + Math.random() * (backoff / 2));
}

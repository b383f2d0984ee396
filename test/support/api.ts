/**
 * HTTP helpers: every integration test goes through the Worker's fetch with real local D1, and every 2xx
 * JSON reply is parsed with its route's documented zod schema (see `checkReply`).
 */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { checkReply } from "./replies";

export const PLATFORM_TOKEN = "test-platform-token";

export interface Reply<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as-is (for malformed-JSON tests). */
  rawBody?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

export async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
  const response = await exports.default.fetch(new Request(`http://engine.test${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  const reply = { status: response.status, body: parsed as T, text, headers: response.headers };
  const problem = checkReply(method, path, reply);
  expect(problem, problem ?? "").toBeNull();
  return reply;
}

let counter = 0;
/** A unique id for this test file's isolated storage. */
export function uid(prefix = "id"): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface TestMerchant {
  id: string;
  admin: string;
  checkout: string;
  read: string;
}

export async function createMerchant(
  overrides: { currency?: string; timezone?: string; name?: string } = {},
): Promise<TestMerchant> {
  const created = await call("POST", "/v1/merchants", {
    token: PLATFORM_TOKEN,
    body: {
      name: overrides.name ?? "Test shop",
      currency: overrides.currency ?? "CNY",
      timezone: overrides.timezone ?? "Asia/Shanghai",
    },
  });
  if (created.status !== 201) throw new Error(`merchant: ${created.status} ${created.text}`);
  const admin: string = created.body.apiKey.secret;
  const key = async (scope: string) => {
    const r = await call("POST", "/v1/api-keys", { token: admin, body: { scope, name: scope } });
    if (r.status !== 201) throw new Error(`key: ${r.status} ${r.text}`);
    return r.body.secret as string;
  };
  return { id: created.body.merchant.id, admin, checkout: await key("checkout"), read: await key("read") };
}

export async function createRule(m: TestMerchant, rule: Record<string, unknown>) {
  const r = await call("POST", "/v1/rules", { token: m.admin, body: rule });
  if (r.status !== 201) throw new Error(`rule: ${r.status} ${r.text}`);
  return r.body;
}

/** 1 point per 1.00 spent: the simplest program. */
export const BASE_RULE = { id: "base", name: "1 point per 1.00", effect: { kind: "per_amount", points: 1, per: 100 } };

export async function postOrder(m: TestMerchant, order: Record<string, unknown>, key = uid("order-key")) {
  return call("POST", "/v1/orders", { token: m.checkout, idempotencyKey: key, body: { currency: "CNY", ...order } });
}

export async function member(m: TestMerchant, memberId: string) {
  const r = await call("GET", `/v1/members/${memberId}`, { token: m.admin });
  if (r.status !== 200) throw new Error(`member: ${r.status} ${r.text}`);
  return r.body;
}

/** Every ledger entry of a member, oldest first. */
export async function ledger(m: TestMerchant, memberId: string): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const r: Reply = await call("GET", `/v1/members/${memberId}/ledger?limit=200${cursor ? `&cursor=${cursor}` : ""}`, {
      token: m.admin,
    });
    if (r.status !== 200) throw new Error(`ledger: ${r.status} ${r.text}`);
    all.push(...r.body.data);
    cursor = r.body.nextCursor;
  } while (cursor);
  return all.reverse();
}

/** Shared helpers of the reliability suites: raw requests and problem+json checks that collect failures. */
import { exports } from "cloudflare:workers";
import type { Reply } from "../support/api";

/** JSON text inserted verbatim by `encodeJson` (1e999, 9007199254740993, deep nesting...). */
export class RawJson {
  constructor(readonly text: string) {}
}
export const raw = (text: string) => new RawJson(text);

/** JSON.stringify that lets `RawJson` values through untouched. */
export function encodeJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(encodeJson).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}:${encodeJson(v)}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

export interface RawRequest {
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  /** Bytes or text sent as-is; content-type defaults to application/json when a body is given. */
  body?: string | Uint8Array;
}

/** Like `call`, but the body goes out byte for byte (invalid UTF-8, unusual content types). */
export async function send(request: RawRequest): Promise<Reply> {
  const headers = new Headers(request.headers);
  if (request.token !== undefined) headers.set("authorization", `Bearer ${request.token}`);
  if (request.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const response = await exports.default.fetch(
    new Request(`http://engine.test${request.path}`, { method: request.method, headers, body: request.body }),
  );
  const text = await response.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: response.status, body, text, headers: response.headers };
}

/**
 * Problems with a 4xx problem+json reply, as readable strings (empty: the reply is a proper problem).
 * `status` narrows the accepted statuses; `field` demands that a 400's `errors` name that field (with
 * `strict`, that every error names it); `unknownKey` that an error message names that unknown key.
 */
export function problemIssues(
  reply: Reply,
  expect: { status?: number | number[]; code?: string; field?: string; unknownKey?: string; strict?: boolean } = {},
): string[] {
  const issues: string[] = [];
  const allowed = expect.status === undefined ? undefined : Array.isArray(expect.status) ? expect.status : [expect.status];
  if (allowed ? !allowed.includes(reply.status) : reply.status < 400 || reply.status > 499)
    issues.push(`status ${reply.status}, expected ${allowed ? allowed.join("|") : "4xx"}`);
  if (reply.status >= 500) issues.push("5xx");
  const contentType = reply.headers.get("content-type") ?? "";
  if (!contentType.startsWith("application/problem+json")) issues.push(`content-type ${JSON.stringify(contentType)}`);
  const body = reply.body;
  if (!body || typeof body !== "object") {
    issues.push("body is not a JSON object");
    return issues;
  }
  for (const key of ["type", "title", "code", "detail"] as const)
    if (typeof body[key] !== "string" || body[key] === "") issues.push(`${key} missing`);
  if (body.status !== reply.status) issues.push(`body.status ${body.status} != ${reply.status}`);
  if (expect.code && body.code !== expect.code) issues.push(`code ${body.code}, expected ${expect.code}`);
  if (reply.status === 400 && body.code === "invalid_request") {
    const errors = body.errors;
    if (!Array.isArray(errors) || errors.length === 0) issues.push("invalid_request without errors[]");
    else {
      for (const e of errors)
        if (typeof e?.path !== "string" || typeof e?.message !== "string")
          issues.push(`malformed errors entry ${JSON.stringify(e)}`);
      if (expect.field !== undefined) {
        const field = expect.field;
        const names = (e: { path: string; message: string }) =>
          expect.unknownKey !== undefined
            ? e.message.includes(expect.unknownKey)
            : e.path === field || e.path.startsWith(`${field}.`);
        if (expect.strict ? !errors.every(names) : !errors.some(names))
          issues.push(
            `errors do not ${expect.strict ? "all " : ""}name ${expect.unknownKey ?? field}: ${JSON.stringify(errors)}`,
          );
      }
    }
  }
  return issues;
}

/** Collects labelled failures across many requests so one assertion reports them all. */
export class Failures {
  readonly list: string[] = [];
  count = 0;
  check(label: string, reply: Reply, issues: string[]): void {
    this.count += 1;
    if (issues.length > 0) this.list.push(`${label}: ${issues.join("; ")} -> ${reply.status} ${reply.text.slice(0, 300)}`);
  }
  add(message: string): void {
    this.list.push(message);
  }
}

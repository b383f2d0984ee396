/**
 * Replies checked against their documented schemas. The routes come from the app's own OpenAPI registry
 * (every `createRoute` config with its zod schemas), so a new route is checked without a table to update.
 */
import type { z } from "@hono/zod-openapi";
import { createApp } from "../../src/app";

export interface DocumentedRoute {
  method: string;
  /** The OpenAPI path template, `/v1/members/{memberId}` style. */
  path: string;
  /** 2xx statuses answered with application/json, and their schemas. */
  json: Map<number, z.ZodType>;
  /** Every documented 2xx status (JSON or not). */
  success: Set<number>;
  pattern: RegExp;
  /** Literal segments count first, so `/v1/orders/quote` wins over `/v1/orders/{orderId}`. */
  params: number;
}

interface RouteDefinition {
  type: string;
  route?: {
    method: string;
    path: string;
    responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  };
}

function isZod(value: unknown): value is z.ZodType {
  return typeof value === "object" && value !== null && typeof (value as z.ZodType).safeParse === "function";
}

function templatePattern(path: string): RegExp {
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

let cached: DocumentedRoute[] | undefined;

/** Every route of createApp()'s OpenAPI registry. */
export function documentedRoutes(): DocumentedRoute[] {
  if (cached) return cached;
  const definitions = createApp().openAPIRegistry.definitions as RouteDefinition[];
  cached = definitions.flatMap((d) => {
    if (d.type !== "route" || !d.route) return [];
    const json = new Map<number, z.ZodType>();
    const success = new Set<number>();
    for (const [code, response] of Object.entries(d.route.responses ?? {})) {
      const status = Number(code);
      if (!(status >= 200 && status < 300)) continue;
      success.add(status);
      const schema = response.content?.["application/json"]?.schema;
      if (isZod(schema)) json.set(status, schema);
    }
    const path = d.route.path;
    return [
      {
        method: d.route.method.toUpperCase(),
        path,
        json,
        success,
        pattern: templatePattern(path),
        params: (path.match(/\{/g) ?? []).length,
      },
    ];
  });
  return cached;
}

/** The documented route a request reaches, if any. */
export function routeOf(method: string, url: string): DocumentedRoute | undefined {
  const path = url.split("?")[0]!;
  return documentedRoutes()
    .filter((r) => r.method === method.toUpperCase() && r.pattern.test(path))
    .sort((a, b) => a.params - b.params)[0];
}

export const routeKey = (route: Pick<DocumentedRoute, "method" | "path">, status: number) =>
  `${route.method} ${route.path} ${status}`;

/**
 * Replies known not to match their documented schema, by `METHOD /path/{template} status`. Each entry is a
 * defect of src to fix, not of the test: the reply is still recorded (in `allowedMismatches`), and the
 * sweep in test/openapi-replies.test.ts fails when an entry no longer mismatches, so the list only shrinks.
 */
export const KNOWN_SCHEMA_MISMATCHES: ReadonlySet<string> = new Set<string>([]);

/** `METHOD /path status` of every 2xx JSON reply checked in this test file (storage is per file). */
export const checkedReplies = new Set<string>();
/** Allowlisted mismatches actually seen, with their zod issues. */
export const allowedMismatches = new Map<string, string>();

interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  valueType?: z.ZodType;
  in?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Keys a reply carries that its schema does not document. zod objects strip unknown keys when parsing, so
 * a parse alone would let an undocumented field through; this walks the schema beside the value.
 */
export function undocumentedKeys(schema: z.ZodType, value: unknown, path = ""): string[] {
  const def = defOf(schema);
  const at = (key: string | number) => (path ? `${path}.${key}` : String(key));
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      return value === null || value === undefined || !def.innerType ? [] : undocumentedKeys(def.innerType, value, path);
    case "pipe":
      return def.in ? undocumentedKeys(def.in, value, path) : [];
    case "lazy":
      return def.getter ? undocumentedKeys(def.getter(), value, path) : [];
    case "object": {
      if (!isObject(value) || !def.shape) return [];
      const shape = def.shape;
      const open = def.catchall !== undefined && defOf(def.catchall).type !== "never";
      return Object.keys(value).flatMap((key) =>
        Object.hasOwn(shape, key) ? undocumentedKeys(shape[key] as z.ZodType, value[key], at(key)) : open ? [] : [at(key)],
      );
    }
    case "array":
      return Array.isArray(value) && def.element
        ? value.flatMap((item, i) => undocumentedKeys(def.element as z.ZodType, item, at(i)))
        : [];
    case "record":
      return isObject(value) && def.valueType
        ? Object.keys(value).flatMap((key) => undocumentedKeys(def.valueType as z.ZodType, value[key], at(key)))
        : [];
    case "union": {
      // The option that accepts the value with the fewest undocumented keys.
      const fits = (def.options ?? []).filter((o) => o.safeParse(value).success).map((o) => undocumentedKeys(o, value, path));
      return fits.length === 0 ? [] : fits.reduce((best, k) => (k.length < best.length ? k : best));
    }
    default:
      return [];
  }
}

interface CheckedReply {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

/**
 * Checks a reply against its route's documented response: null when it conforms (or is not a 2xx of a
 * documented route), else a message naming the route, the status and the zod issues.
 */
export function checkReply(method: string, url: string, reply: CheckedReply): string | null {
  if (reply.status < 200 || reply.status >= 300) return null;
  const route = routeOf(method, url);
  if (!route) return null;
  const key = routeKey(route, reply.status);
  const where = `${method.toUpperCase()} ${url} (route ${route.method} ${route.path}) answered ${reply.status}`;
  if (!route.success.has(reply.status))
    return `${where}, which the route does not document (documented: ${[...route.success].join(", ")})`;
  const schema = route.json.get(reply.status);
  if (!schema) return null;
  const contentType = reply.headers.get("content-type") ?? "";
  if (!contentType.startsWith("application/json"))
    return `${where} with content-type ${JSON.stringify(contentType)}, documented as application/json`;
  checkedReplies.add(key);
  const parsed = schema.safeParse(reply.body);
  const extra = parsed.success ? undocumentedKeys(schema, reply.body) : [];
  if (parsed.success && extra.length === 0) return null;
  const issues = parsed.success
    ? `undocumented keys ${extra.join(", ")}`
    : parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`).join("; ");
  if (KNOWN_SCHEMA_MISMATCHES.has(key)) {
    allowedMismatches.set(key, issues);
    return null;
  }
  return `${where}: the reply does not match its documented schema: ${issues}\nbody: ${reply.text.slice(0, 500)}`;
}

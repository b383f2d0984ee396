// Shapes shared by the benchmark's modules; the .mjs files refer to them in JSDoc (`@import`).

/** Command-line switches of `npm run bench`. */
export interface Options {
  quick: boolean;
  keep: boolean;
  write: boolean;
  live: boolean;
  skipJobs: boolean;
  ref: string | null;
  /** Run one section alone (`--only rebates`), print it, and leave bench/RESULTS.md alone. */
  only: string | null;
  argv: string[];
}

/** Sizes and durations of one run (quick or full mode). */
export interface Config {
  mode: "quick" | "full";
  duration: number;
  rounds: number;
  warmup: number;
  /** Seconds of unrecorded load at the start of each round, before its measured window. */
  lead: number;
  connections: number[];
  members: number;
  seedConcurrency: number;
  historySmall: number;
  historyBig: number;
  historyConcurrency: number;
  contentionOrders: number;
  historyBudgetMs: number;
  totalBudgetMs: number;
  jobsReserveMs: number;
  costRepeats: number;
}

export interface Problem {
  where: string;
  detail: string;
}

/** What every phase of a run shares: its settings, its start, and the problems and notes for the report. */
export interface Run {
  cfg: Config;
  opts: Options;
  t0: number;
  log: (msg: string) => void;
  problems: Problem[];
  notes: string[];
}

export interface CallRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  body?: unknown;
}

export interface CallResult {
  status: number;
  headers: Headers | null;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any route; callers read the fields they expect
  json: any;
  ms: number;
  error?: string;
  request: CallRequest;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  key?: string;
  timeoutMs?: number;
}

/** D1 rows and queries of one request, from the x-d1-* response headers. */
export interface D1Cost {
  read: number;
  written: number;
  queries: number;
}

export type Server = { ok: true; base: string; args: string[]; pid: number } | { ok: false; reason: string };

export interface Servers {
  baseline: Server;
  engine: Server;
}

export interface Seed {
  admin: string;
  checkout: string;
  checkoutKey: boolean;
  program: string;
  rulesCreated: number;
  tiers: string;
  members: number;
  orders: { orderId: string; memberId: string }[];
  funded: string[];
  ms: number;
}

export interface BaselineSeed {
  rows: number;
}

/** One request of a load run or a probe. */
export interface RequestSpec {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface LoadOp {
  id: string;
  label: string;
  target: "baseline" | "engine";
  /** The baseline operation this one is compared with. */
  vs?: string;
  /** Why the operation cannot run, when it cannot. */
  requires?: string | null;
  make: (n: number) => RequestSpec;
}

export interface Sample {
  status: number;
  body: string;
  request: RequestSpec;
}

/** One autocannon run (one round of one operation at one connection count). */
export interface RoundResult {
  connections: number;
  duration: number;
  ok: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  samples: Sample[];
  latencies: number[];
  /** CPU (ms) the server's processes used during the round, null when not readable. */
  cpuMs: number | null;
}

/** The rounds of one operation at one connection count, merged. */
export interface LoadResult {
  connections: number;
  rounds: number;
  roundRps: number[];
  roundP99: (number | null)[];
  duration: number;
  ok: number;
  total: number;
  rps: number;
  p50: number | null;
  p99: number | null;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  samples: Sample[];
  /** Server CPU (ms, all its processes) per response, over every round; null when not readable. */
  cpuPerRequest: number | null;
}

/** A figure that was not measured, and why. */
export interface NotMeasured {
  na: string;
}

export interface Load {
  ops: LoadOp[];
  /** results[opId][connections] */
  results: Record<string, Record<number, LoadResult | NotMeasured>>;
}

export interface CostOp {
  id: string;
  label: string;
  requires?: string | null;
  req: (r: number) => { method: string; path: string; key?: string; body?: unknown };
}

export interface OpCost {
  label: string;
  stats?: D1Cost[];
  na?: string | null;
}

/** Cost per operation for one member and the history it had. */
export interface HistoryCost {
  member: string;
  orders: number;
  entries: number | null | undefined;
  buildMs?: number;
  ops: Record<string, OpCost>;
}

export interface RowsCost {
  small: HistoryCost | null;
  big: HistoryCost | null;
}

export interface BaselineCost {
  upsert: D1Cost | null;
  select: D1Cost | null;
}

export interface Contention {
  member: string;
  orders: number;
  concurrency: number;
  statuses: Record<string, number>;
  ms: number;
  ok: number;
  sample: CallResult | null;
}

/** Where and how the run took place (the report's Environment table). */
export interface Environment {
  date: string;
  finished: string;
  elapsedS: number;
  machine: string;
  loadavg: { start: number; end: number };
  node: string;
  nodeForWrangler: string;
  wrangler: string;
  engineRevision: string;
  engineSnapshot: boolean;
  autocannon: string;
  command: string;
  devArgs: { engine: string[] | null; baseline: string[] };
}

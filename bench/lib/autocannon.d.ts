// The part of autocannon's programmatic API that bench/lib/load.mjs uses: the package ships no types.
declare module "autocannon" {
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | undefined;
  }

  interface RequestHooks {
    // biome-ignore lint/suspicious/noExplicitAny: per-connection scratch object that autocannon hands back untouched
    setupRequest?(req: Request, context: Record<string, any>): Request;
    // biome-ignore lint/suspicious/noExplicitAny: as above
    onResponse?(status: number, body: string, context: Record<string, any>): void;
  }

  interface Options {
    url: string;
    connections: number;
    duration: number;
    timeout: number;
    requests: RequestHooks[];
  }

  interface Result {
    duration: number;
    "2xx"?: number;
    non2xx?: number;
    errors?: number;
    timeouts?: number;
    statusCodeStats?: Record<string, { count: number }>;
  }

  interface Instance {
    on(event: "response", listener: (client: unknown, status: number, bytes: number, responseTime: number) => void): Instance;
  }

  function autocannon(options: Options, callback: (err: Error | null, result: Result) => void): Instance;
  export default autocannon;
}

// Upstreams for the traffic-management tests, on 127.0.0.1:0, recording what
// they receive:
// - /fail/<n>/<status>?id=X  answers <status> to the first n attempts of each
//   request id X, then 200 (a backend that fails the first N attempts);
// - /slow/<ms>               answers after <ms>;
// - /stream/<chunks>/<ms>    a body of <chunks> pieces, one every <ms>;
// - anything else            200 with a JSON echo of method, path, headers, body size.
// A "black hole" accepts connections and never answers; a closed port refuses them.
import type { Server } from "bun";
import { gatewayWithRoutes } from "./config.ts";

export interface Seen {
  backend: string;
  method: string;
  path: string;
  host: string;
  attemptCount: string | null;
  id: string | null;
  bodyBytes: number;
  headers: Record<string, string>;
}

export interface TrafficBackend {
  name: string;
  port: number;
  seen: Seen[];
  stop(): void;
}

/** Attempts per request id, shared by every backend of the process (retries may go to another one). */
const attempts = new Map<string, number>();

/** Forget the attempts counted so far: a file's beforeAll calls it, so that its ids count from 0 again when it runs again (bun test --rerun-each). */
export function forgetAttempts(): void {
  attempts.clear();
}

export function startTrafficBackend(name: string): TrafficBackend {
  const seen: Seen[] = [];
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    development: false,
    async fetch(req) {
      const url = new URL(req.url);
      const p = url.pathname;
      const body = req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array(0);
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => (headers[k] = v));
      const id = url.searchParams.get("id");
      seen.push({ backend: name, method: req.method, path: p + url.search, host: headers.host ?? "", attemptCount: headers["x-envoy-attempt-count"] ?? null, id, bodyBytes: body.length, headers });
      const common = { "x-backend": name };
      const fail = /^\/fail\/([0-9]+)\/([0-9]{3})$/.exec(p);
      if (fail !== null) {
        const key = id ?? "";
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (n <= Number(fail[1])) return new Response(`attempt ${n} failed`, { status: Number(fail[2]), headers: common });
        return new Response(`attempt ${n} ok`, { headers: common });
      }
      const slow = /^\/slow\/([0-9]+)$/.exec(p);
      if (slow !== null) {
        await Bun.sleep(Number(slow[1]));
        return new Response("slow", { headers: common });
      }
      const stream = /^\/stream\/([0-9]+)\/([0-9]+)$/.exec(p);
      if (stream !== null) {
        const chunks = Number(stream[1]);
        const every = Number(stream[2]);
        let i = 0;
        return new Response(
          new ReadableStream({
            async pull(c) {
              if (i >= chunks) return c.close();
              if (i > 0) await Bun.sleep(every);
              c.enqueue(new TextEncoder().encode(`chunk ${i++}\n`));
            },
          }),
          { headers: common },
        );
      }
      return Response.json({ backend: name, method: req.method, path: p + url.search, headers, bodyBytes: body.length }, { headers: common });
    },
  });
  return { name, port: server.port!, seen, stop: () => server.stop(true) };
}

/** Accepts connections, reads, never answers. */
export function startBlackHole(): { port: number; connections: () => number; stop(): void } {
  let n = 0;
  const l = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        n++;
      },
      data() {},
    },
  });
  return { port: l.port, connections: () => n, stop: () => l.stop(true) };
}

/** Wait until `pred` holds (bounded), polling. */
export async function until(pred: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** A ServiceEntry `name` (STATIC) whose endpoints are 127.0.0.1 at these ports, on service port 80. */
export function staticService(name: string, ports: number[]): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.test]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
${ports.map((p) => `  - address: 127.0.0.1\n    ports: {http: ${p}}`).join("\n")}
---`;
}

/** A Gateway on port 80 for every host, and a VirtualService with `http` (YAML, indented 2): config.ts's gatewayWithRoutes after a newline. */
export function gatewayWith(http: string): string {
  return `\n${gatewayWithRoutes(http)}`;
}

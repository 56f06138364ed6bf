// A small httpbin look-alike for the demo and the tests: /status/N, /headers,
// /get, /anything, /post, /delay/N, /bytes/N, /stream-bytes/N, /ip. Every
// response says who answered in `x-backend` so load-balancing tests can count.
import type { Server } from "bun";

export interface Backend {
  name: string;
  port: number;
  hostname: string;
  server: Server<undefined>;
  stop(): Promise<void>;
}

export interface BackendOptions {
  port?: number;
  hostname?: string;
  /** Reported in `x-backend` and in helloworld bodies. */
  name?: string;
}

const TEAPOT = `
    -=[ teapot ]=-

       _...._
     .'  _ _ \`.
    | ."\` ^ \`". _,
    \\_;\`"---"\`|//
      |       ;/
      \\_     _/
        \`"""\`
`;

function titleCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

function headerObject(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    out[titleCase(k)] = v;
  });
  return out;
}

function json(body: unknown, name: string, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: {
      "content-type": "application/json",
      "access-control-allow-origin": "*",
      "access-control-allow-credentials": "true",
      "x-backend": name,
    },
  });
}

function args(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  url.searchParams.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

/** Deterministic bytes, so tests can compare checksums. */
export function patternBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

async function handle(req: Request, server: Server<undefined>, name: string): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  const parts = path.split("/").filter(Boolean);
  const ip = server.requestIP(req)?.address ?? "";
  const common = { "access-control-allow-origin": "*", "access-control-allow-credentials": "true", "x-backend": name };
  if (parts[0] === "status" && parts[1] !== undefined) {
    const code = Number(parts[1].split(",")[0]);
    if (!Number.isInteger(code) || code < 100 || code > 599) return json({ error: "invalid status" }, name, 400);
    if (code === 418) return new Response(TEAPOT, { status: 418, headers: { ...common, "x-more-info": "http://tools.ietf.org/html/rfc2324" } });
    const noBody = code === 204 || code === 304 || (code >= 100 && code < 200);
    return new Response(noBody ? null : "", { status: code, headers: { ...common, "content-type": "text/html; charset=utf-8" } });
  }
  switch (parts[0]) {
    case undefined:
      return new Response(`httpbin look-alike (${name})\n`, { headers: { ...common, "content-type": "text/plain" } });
    case "headers":
      return json({ headers: headerObject(req) }, name);
    case "ip":
      return json({ origin: ip }, name);
    case "get":
      return json({ args: args(url), headers: headerObject(req), origin: ip, url: req.url }, name);
    case "anything":
    case "post":
    case "put":
    case "patch":
    case "delete": {
      const data = req.body ? await req.text() : "";
      return json({ method: req.method, args: args(url), data, headers: headerObject(req), origin: ip, url: req.url }, name);
    }
    case "echo": {
      // streams the request body back unchanged (binary-safe)
      return new Response(req.body, { headers: { ...common, "content-type": "application/octet-stream" } });
    }
    case "delay": {
      const s = Math.min(Number(parts[1] ?? 0) || 0, 60);
      server.timeout(req, 0);
      await Bun.sleep(s * 1000);
      return json({ args: args(url), headers: headerObject(req), origin: ip, url: req.url, delayed: s }, name);
    }
    case "bytes": {
      const n = Math.min(Number(parts[1] ?? 0) || 0, 512 * 1024 * 1024);
      return new Response(patternBytes(n), { headers: { ...common, "content-type": "application/octet-stream" } });
    }
    case "stream-bytes": {
      const total = Math.min(Number(parts[1] ?? 0) || 0, 512 * 1024 * 1024);
      const chunk = patternBytes(65536);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (sent >= total) return ctl.close();
          const n = Math.min(chunk.length, total - sent);
          ctl.enqueue(chunk.subarray(0, n));
          sent += n;
        },
      });
      return new Response(stream, { headers: { ...common, "content-type": "application/octet-stream" } });
    }
    case "hello":
      return new Response(`Hello version: ${name}, instance: ${name}\n`, { headers: { ...common, "content-type": "text/plain" } });
    default:
      return new Response("Not Found\n", { status: 404, headers: { ...common, "content-type": "text/plain" } });
  }
}

export function startHttpbin(opts: BackendOptions = {}): Backend {
  const name = opts.name ?? "httpbin";
  const hostname = opts.hostname ?? "127.0.0.1";
  const server: Server<undefined> = Bun.serve({
    port: opts.port ?? 0,
    hostname,
    development: false,
    // never share the port (Bun.serve with development:false sets SO_REUSEPORT unless told not
    // to): a second demo's backend would split the first one's requests silently
    reusePort: false,
    idleTimeout: 0,
    fetch: (req, srv) => handle(req, srv, name),
  });
  return {
    name,
    port: server.port!,
    hostname,
    server,
    stop: async () => {
      await server.stop(true);
    },
  };
}

// x-envoy-expected-rq-timeout-ms: Envoy's router tells the upstream the time it
// has (FilterUtility::setTimeoutHeaders) whenever a timeout applies, since istiod
// leaves the router's suppress_envoy_headers off; a retry is told what is left.
// A client's own x-envoy-upstream-rq-timeout-ms / -per-try-timeout-ms /
// x-envoy-expected-rq-timeout-ms are removed before the router reads them (the
// connection manager's cleanInternalHeaders for a request from outside), so they
// neither change the timeout nor reach the upstream. Real sockets: a worker, an
// HTTP/1.1 backend and an HTTP/2 (h2c) backend that echo the headers they got.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { Server } from "bun";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { applyYamlOnFreePort } from "./apply-config.ts";
import { raw, WorkerHarness } from "./harness.ts";

const NAME = "x-envoy-expected-rq-timeout-ms";
let w: WorkerHarness;
let h1: Server<undefined>;
let h2: http2.Http2Server;
let port = 0;
/** Tries each backend saw per path, for the paths that fail their first try. */
const tries = new Map<string, number>();

/** `.../fail-once<any>/<ms>/...`: the first try waits <ms> then answers 503; later ones echo. */
function failFirst(path: string): number {
  const m = /\/fail-once[a-z-]*\/(\d+)\//.exec(path);
  if (m === null) return -1;
  const n = (tries.get(path) ?? 0) + 1;
  tries.set(path, n);
  return n === 1 ? Number(m[1]) : -1;
}

beforeAll(async () => {
  h1 = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const wait = failFirst(path);
      if (wait >= 0) {
        await Bun.sleep(wait);
        return new Response("again", { status: 503 });
      }
      if (path.includes("/delay/")) await Bun.sleep(50);
      return Response.json(Object.fromEntries(req.headers));
    },
  });
  h2 = http2.createServer();
  h2.on("session", (s) => s.on("error", () => {}));
  h2.on("stream", (st: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    st.on("error", () => {});
    const path = String(headers[":path"]);
    const wait = failFirst(path);
    if (wait >= 0) {
      setTimeout(() => {
        st.respond({ ":status": 503 });
        st.end("again");
      }, wait);
      return;
    }
    setTimeout(() => {
      st.respond({ ":status": 200, "content-type": "application/json" });
      st.end(JSON.stringify(headers));
    }, path.includes("/delay/") ? 50 : 0);
  });
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  const h2Port = (h2.address() as AddressInfo).port;
  const route = (prefix: string, extra: string) =>
    `  - match: [{uri: {prefix: ${prefix}}}]\n    route: [{destination: {host: ${prefix.startsWith("/h2") ? "h2" : "h1"}.internal, port: {number: 80}}}]${extra}\n`;
  const routes = (p: string) =>
    route(`${p}/none/`, "") +
    route(`${p}/timeout/`, "\n    timeout: 3s") +
    route(`${p}/both/`, "\n    timeout: 3s\n    retries: {attempts: 1, perTryTimeout: 1s}") +
    route(`${p}/pertry-longer/`, "\n    timeout: 2s\n    retries: {attempts: 1, perTryTimeout: 5s}") +
    route(`${p}/pertry/`, "\n    retries: {attempts: 1, perTryTimeout: 1500ms}") +
    route(`${p}/set-by-route/`, `\n    timeout: 3s\n    headers: {request: {set: {${NAME}: "42"}}}`) +
    route(`${p}/fail-once/`, "\n    timeout: 3s\n    retries: {attempts: 2, retryOn: 5xx}") +
    route(`${p}/fail-once-pertry/`, "\n    timeout: 10s\n    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}");
  const yaml =
    gatewayWithRoutes(routes("") + routes("/h2")) +
    loopbackServiceEntry({ name: "h1", host: "h1.internal", port: 80, targetPort: h1.port! }) +
    loopbackServiceEntry({ name: "h2", host: "h2.internal", port: 80, targetPort: h2Port, portName: "http2", protocol: "HTTP2" });
  w = new WorkerHarness();
  port = await applyYamlOnFreePort(w, yaml);
});
afterAll(() => {
  w.stop();
  h1.stop(true);
  h2.close();
});

/** GET `path` through the gateway over HTTP/1.1 (`extra` header lines); the status and the headers the backend echoed. */
async function get(path: string, extra = ""): Promise<{ status: number; seen: Record<string, string> }> {
  const r = await raw(port, `GET ${path} HTTP/1.1\r\nhost: a.example\r\n${extra}connection: close\r\n\r\n`, undefined, 10_000);
  const status = Number(r.text.slice(9, 12));
  const at = r.text.indexOf("\r\n\r\n");
  let body = r.text.slice(at + 4);
  // an HTTP/2 upstream's answer without content-length comes chunked: one chunk here, then the last
  if (/\r\ntransfer-encoding: chunked\r\n/i.test(r.text.slice(0, at + 2))) body = body.slice(body.indexOf("\r\n") + 2, body.lastIndexOf("\r\n0\r\n"));
  return { status, seen: status === 200 ? JSON.parse(body) : {} };
}

for (const [proto, p] of [
  ["HTTP/1.1", ""],
  ["HTTP/2", "/h2"],
] as const) {
  describe(`${proto} upstream: the time a try has, as Envoy's router tells it`, () => {
    test("no route timeout, no per-try timeout (Istio's default): no header", async () => {
      const r = await get(`${p}/none/x`);
      expect(r.status).toBe(200);
      expect(r.seen[NAME]).toBeUndefined();
      expect(r.seen["x-envoy-attempt-count"]).toBe("1");
    });

    test("a route timeout of 3s: 3000", async () => {
      expect((await get(`${p}/timeout/x`)).seen[NAME]).toBe("3000");
    });

    test("a per-try timeout shorter than the route's: the per-try timeout", async () => {
      expect((await get(`${p}/both/x`)).seen[NAME]).toBe("1000");
    });

    test("a per-try timeout at or above the route's is ignored: the route timeout", async () => {
      expect((await get(`${p}/pertry-longer/x`)).seen[NAME]).toBe("2000");
    });

    test("a per-try timeout without a route timeout: the per-try timeout", async () => {
      expect((await get(`${p}/pertry/x`)).seen[NAME]).toBe("1500");
    });

    test("the route's header operations set it: theirs, once (Envoy applies them after the router)", async () => {
      const r = await get(`${p}/set-by-route/x`);
      expect(r.seen[NAME]).toBe("42");
    });

    test("a client's timeout headers are removed unread: the route's timeout applies, the upstream sees none of them", async () => {
      const r = await get(`${p}/timeout/delay/x`, `x-envoy-upstream-rq-timeout-ms: 1\r\nx-envoy-upstream-rq-per-try-timeout-ms: 1\r\n${NAME}: 7\r\n`);
      expect(r.status).toBe(200); // a 1 ms timeout honoured would have been a 504 (the backend takes 50 ms)
      expect(r.seen[NAME]).toBe("3000");
      expect(r.seen["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
      expect(r.seen["x-envoy-upstream-rq-per-try-timeout-ms"]).toBeUndefined();
    });

    test("a gRPC request: its grpc-timeout is the route timeout (capped by the route's), told in both headers", async () => {
      const grpc = "content-type: application/grpc\r\ngrpc-timeout: 2S\r\n";
      const free = await get(`${p}/none/g`, grpc);
      expect([free.seen[NAME], free.seen["grpc-timeout"]]).toEqual(["2000", "2000m"]);
      const capped = await get(`${p}/timeout/g`, grpc.replace("2S", "10S"));
      expect([capped.seen[NAME], capped.seen["grpc-timeout"]]).toEqual(["3000", "3000m"]);
    });

    test("a retry is told what is left of the route timeout since the request ended (Envoy's doRetry)", async () => {
      // the first try takes 200 ms before its 503: the second has at most 2800 ms left
      const r = await get(`${p}/fail-once/200/x`);
      expect(r.status).toBe(200);
      expect(r.seen["x-envoy-attempt-count"]).toBe("2");
      const left = Number(r.seen[NAME]);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(2800);
    });

    test("a retry with a per-try timeout shorter than what is left: the per-try timeout again", async () => {
      const r = await get(`${p}/fail-once-pertry/100/x`);
      expect(r.status).toBe(200);
      expect(r.seen["x-envoy-attempt-count"]).toBe("2");
      expect(r.seen[NAME]).toBe("1000");
    });
  });
}

// gangway's data plane for the HTTP proxy benchmark: N workers (default 2)
// on LISTEN_PORT, one catch-all route to the upstream on UPSTREAM_PORT.
// Usage: bun bench/http-proxy-gangway.ts [listenPort=18081] [upstreamPort=18080] [workers=2] [accessLog=off]
import type { FromWorker } from "../src/snapshot/messages.ts";
import type { Listener, PathIndex, Snapshot } from "../src/snapshot/types.ts";

const listenPort = Number(process.argv[2] ?? 18081);
const upstreamPort = Number(process.argv[3] ?? 18080);
const workers = Number(process.argv[4] ?? 2);
const accessLog = process.argv[5] ?? "off";

const snapshot: Snapshot = {
  version: 1,
  hash: "bench",
  createdAt: new Date().toISOString(),
  findings: [],
  listeners: [
    <Listener>(<unknown>{
      name: "0.0.0.0_80",
      port: 80,
      bindPort: listenPort,
      bindAddress: "127.0.0.1",
      protocol: "HTTP",
      sources: [],
      tls: null,
      tcpRoutes: null,
      routeTable: {
        name: "http.80",
        exactHosts: new Map(),
        wildcardHosts: [],
        catchAll: 0,
        virtualHosts: [
          {
            name: "*:80",
            domains: ["*"],
            routes: [
              {
                name: "hello",
                source: "bench",
                matches: [],
                action: {
                  kind: "forward",
                  destinations: [{ cluster: "outbound|80||hello", weight: 100, host: "hello", port: 80, subset: "" }],
                  totalWeight: 100,
                  rewriteUri: null,
                  rewriteAuthority: null,
                },
                timeoutMs: 0,
                requestHeaders: { set: [], add: [], remove: [] },
                responseHeaders: { set: [], add: [], remove: [] },
              },
            ],
            pathIndex: {
              exact: new Map(),
              prefixTrie: { children: new Map(), routes: [] },
              always: [0],
              packed: "",
              literals: [],
              literalRoutes: [],
              uriOnly: [0],
            } as PathIndex,
          },
        ],
      },
    }),
  ],
  credentials: new Map(),
  clusters: new Map([
    [
      "outbound|80||hello",
      {
        name: "outbound|80||hello",
        serviceHost: "hello",
        port: 80,
        subset: "",
        type: "STATIC",
        lbPolicy: "LEAST_REQUEST",
        connectTimeoutMs: 10000,
        endpoints: [{ address: "127.0.0.1", port: upstreamPort, weight: 1, labels: {} }],
      },
    ],
  ]),
};

let applied = 0;
for (let i = 0; i < workers; i++) {
  const w = new Worker(new URL("../workers/worker.ts", import.meta.url).href);
  w.addEventListener("message", (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    if (m.type === "log") console.error(m.message);
    if (m.type === "applied" && ++applied === workers) console.log(`gangway on ${listenPort} (${workers} workers) → ${upstreamPort}`);
  });
  w.postMessage({ type: "init", options: { workerId: i, accessLog, logFormat: "text", serverHeader: "istio-envoy" } });
  w.postMessage({ type: "snapshot", snapshot });
}

// Profiling aid: the worker's data plane in the main thread (no Worker), for
// `bun --cpu-prof-md bench/http-proxy-inproc.ts` while wrk runs. Exits after SECONDS.
// Usage: bun bench/http-proxy-inproc.ts [listenPort=18083] [upstreamPort=18080] [seconds=12]
import type { Listener, PathIndex, Snapshot } from "../src/snapshot/types.ts";
import { setPost, startClock } from "../workers/context.ts";
import { applyClusters } from "../workers/http/clusters.ts";
import { applyListeners } from "../workers/listeners.ts";

const listenPort = Number(process.argv[2] ?? 18083);
const upstreamPort = Number(process.argv[3] ?? 18080);
const seconds = Number(process.argv[4] ?? 12);

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

setPost((m) => console.error(JSON.stringify(m)));
startClock();
applyClusters(snapshot);
console.log(JSON.stringify(applyListeners(snapshot)));
setTimeout(() => process.exit(0), seconds * 1000);

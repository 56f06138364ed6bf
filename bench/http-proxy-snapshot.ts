// The one-route snapshot the HTTP proxy benchmarks serve: a catch-all virtual
// host forwarding to a single upstream endpoint.
import type { Listener, PathIndex, Snapshot } from "../src/snapshot/types.ts";

export function benchSnapshot(listenPort: number, upstreamPort: number): Snapshot {
  return {
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
}

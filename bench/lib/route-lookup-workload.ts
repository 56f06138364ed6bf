// The workload of the route lookup benchmarks (route-lookup.bench.ts,
// route-lookup-ab.ts): a Gateway and a VirtualService per host
// svc{i}.example.com; requests for those hosts (a quarter with a port, some
// unknown), paths their routes match, now and then a POST, drawn from one
// seeded generator, so every run draws the same requests.
import type { RequestView } from "../../src/route/lookup.ts";

/** How many hosts (VirtualServices) the benchmark configurations have. */
export const HOSTS = 10_000;

export interface LookupRequest extends RequestView {
  /** The Host header as sent; `host` is filled from it by the lookup under test. */
  rawHost: string;
}

/** The Gateway gw: port 80, every host. */
export const GATEWAY_DOC = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]`;

/** HOSTS VirtualServices vs-{i} on gw for svc{i}.example.com, with the http routes `routes(i)` (block lines, indented 2). */
export function virtualServiceDocs(routes: (i: number) => string): string[] {
  const docs: string[] = [];
  for (let i = 0; i < HOSTS; i++) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs-${i}}
spec:
  hosts: [svc${i}.example.com]
  gateways: [gw]
  http:
${routes(i)}`);
  }
  return docs;
}

const PATHS = ["/healthz", "/api/v1/users/42", "/api/v1/orders", "/api/v2/things", "/items/123", "/static/app.js", "/login", "/docs/intro", "/", "/nothing/here"];
let seed = 7;
const noHeader = (): undefined => undefined;

/** The next number in [0, n) from the seeded generator. */
export function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}

/** `count` requests, each for host number pick() (below HOSTS: a configured host; else an unknown one). */
export function requests(pick: () => number, count = 10_000): LookupRequest[] {
  const out: LookupRequest[] = [];
  for (let i = 0; i < count; i++) {
    const h = pick();
    const rawHost = h < HOSTS ? `svc${h}.example.com${rnd(4) === 0 ? ":31194" : ""}` : `unknown${h}.example.org`;
    const path = rnd(10) === 0 ? `/svc${h}/x` : PATHS[rnd(PATHS.length)]!;
    out.push({ rawHost, authority: rawHost, port: 80, host: "", path, query: "", method: rnd(5) === 0 ? "POST" : "GET", scheme: "http", header: noHeader });
  }
  return out;
}

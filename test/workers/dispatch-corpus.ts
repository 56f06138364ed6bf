// A seeded generator of gateway configurations and requests for the
// differential test (dispatch-differential.test.ts): Istio YAML with every
// match kind, redirects, direct responses, rewrites, weighted routes,
// destinations without endpoints and (removed after compile) missing
// clusters; requests with methods including CONNECT/OPTIONS/unknown, hosts
// with ports, upper case and a trailing dot, and TLS SNI differing from Host.

/** mulberry32: small, seeded, reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number): boolean => r() < p;

/** Services with a backend (the backend answers with its name), one without endpoints, one whose cluster is deleted. */
export const LIVE = ["svc-a", "svc-b"] as const;
export const EMPTY = "svc-empty";
export const GONE = "svc-gone";

const VS_HOSTS = ["a.example.com", "b.example.com", "*.wild.example.com", "*"];
const PATHS = ["/p1", "/api", "/items/[0-9]+", "/", "/new"];

function stringMatch(r: Rand, values: string[]): string {
  const v = pick(r, values);
  switch (pick(r, ["exact", "prefix", "regex"] as const)) {
    case "exact":
      return `{exact: "${v}"}`;
    case "prefix":
      return `{prefix: "${v}"}`;
    default:
      return `{regex: "${v}.*"}`;
  }
}

function uriMatch(r: Rand): string {
  const p = pick(r, PATHS);
  if (p.includes("[")) return `uri: {regex: "${p}"}`;
  return `uri: {${pick(r, ["exact", "prefix"])}: "${p}"}`;
}

function matchEntry(r: Rand): string {
  const parts: string[] = [];
  if (chance(r, 0.8)) parts.push(uriMatch(r));
  if (chance(r, 0.2)) parts.push("ignoreUriCase: true");
  if (chance(r, 0.25)) parts.push(`method: ${stringMatch(r, ["GET", "POST", "P"])}`);
  if (chance(r, 0.25)) parts.push(`headers: {x-a: ${chance(r, 0.2) ? "{}" : stringMatch(r, ["1", "v", "abc"])}}`);
  if (chance(r, 0.1)) parts.push(`withoutHeaders: {x-b: {}}`);
  if (chance(r, 0.15)) parts.push(`queryParams: {q: ${chance(r, 0.3) ? "{}" : `{exact: "1"}`}}`);
  if (chance(r, 0.1)) parts.push(`authority: {prefix: "a."}`);
  if (chance(r, 0.2)) parts.push(`scheme: {exact: "https"}`);
  if (chance(r, 0.1)) parts.push(`port: ${pick(r, [80, 443])}`);
  return `{${parts.join(", ")}}`;
}

function destination(host: string, weight?: number): string {
  const w = weight === undefined ? "" : `, weight: ${weight}`;
  return `{destination: {host: ${host}.default.svc.cluster.local, port: {number: 8000}}${w}}`;
}

function action(r: Rand): string {
  const k = r();
  if (k < 0.15) return `    redirect: {uri: /new, redirectCode: ${pick(r, [301, 302, 308])}}`;
  if (k < 0.28) return `    directResponse: {status: ${pick(r, [200, 204, 403, 418, 503])}, body: {string: "direct"}}`;
  if (k < 0.4) return `    route: [${destination(pick(r, LIVE), 60)}, ${destination(pick(r, LIVE), 40)}]`;
  if (k < 0.5) return `    route: [${destination(pick(r, [EMPTY, GONE]))}]`;
  const rewrite = chance(r, 0.2) ? `\n    rewrite: {uri: /rewritten}` : "";
  return `    route: [${destination(pick(r, LIVE))}]${rewrite}`;
}

function virtualService(r: Rand, i: number): string {
  const hosts = VS_HOSTS.filter(() => chance(r, 0.45));
  if (hosts.length === 0) hosts.push(pick(r, VS_HOSTS));
  const routes: string[] = [];
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const m = chance(r, 0.85) ? `    match: [${Array.from({ length: 1 + Math.floor(r() * 2) }, () => matchEntry(r)).join(", ")}]\n` : "";
    routes.push(`  - name: r${i}-${k}\n${m}${action(r)}`);
  }
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs${i}}
spec:
  hosts: [${hosts.map((h) => `"${h}"`).join(", ")}]
  gateways: [gw]
  http:
${routes.join("\n")}`;
}

/** One configuration: Gateway (HTTP 80; HTTPS 443 with two servers), VirtualServices, services. */
export function configYaml(r: Rand, backends: Record<string, number>, secret: string): string {
  const plainHosts = ["a.example.com", "b.example.com", "*.wild.example.com", "*"].filter(() => chance(r, 0.6));
  if (plainHosts.length === 0) plainHosts.push("a.example.com");
  const docs = [
    `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [${plainHosts.map((h) => `"${h}"`).join(", ")}]
  - port: {number: 443, name: https-a, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: cred}
    hosts: [a.example.com, "*.wild.example.com"]
  - port: {number: 443, name: https-b, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: cred}
    hosts: [b.example.com]`,
    secret,
  ];
  const nvs = 1 + Math.floor(r() * 3);
  for (let i = 0; i < nvs; i++) docs.push(virtualService(r, i));
  for (const name of [...LIVE, GONE]) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.default.svc.cluster.local]
  ports: [{number: 8000, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${backends[name] ?? backends["svc-a"]}}}]`);
  }
  return docs.join("\n---\n");
}

export type Proto = "h1" | "h2c" | "tls";

export interface CorpusRequest {
  proto: Proto;
  method: string;
  host: string;
  /** Path and query, or "*" (OPTIONS), ignored for CONNECT. */
  path: string;
  headers: Record<string, string>;
  sni: string;
}

const HOSTS = ["a.example.com", "A.Example.COM", "a.example.com:80", "a.example.com.", "b.example.com", "b.example.com:443", "x.wild.example.com", "wild.example.com", "other.org"];
const REQ_PATHS = ["/", "/p1", "/P1", "/p1/x", "/api", "/api/v1?q=1", "/items/42", "/items/x", "/new", "/p1?q=1", "/x?q=2&z"];
const METHODS = ["GET", "GET", "GET", "POST", "HEAD", "OPTIONS", "CONNECT", "PATCH", "FOO"];

export function request(r: Rand): CorpusRequest {
  const proto = pick(r, ["h1", "h1", "h2c", "tls"] as const);
  const method = pick(r, METHODS);
  const headers: Record<string, string> = {};
  if (chance(r, 0.5)) headers["x-a"] = pick(r, ["1", "v2", "abc"]);
  if (chance(r, 0.2)) headers["x-b"] = "y";
  let path = pick(r, REQ_PATHS);
  if (method === "OPTIONS" && proto !== "h2c" && chance(r, 0.3)) path = "*";
  return { proto, method, host: pick(r, HOSTS), path, headers, sni: pick(r, ["a.example.com", "b.example.com", "x.wild.example.com", "zzz.example.com"]) };
}

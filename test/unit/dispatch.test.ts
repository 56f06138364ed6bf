// dispatch(): the one decision for every request, and the reply table it
// names rows of. Pure: snapshots compiled from YAML, no sockets.
import { describe, expect, test } from "bun:test";
import { Decision, type DispatchRequest } from "../../src/dispatch/decision.ts";
import { dispatch, dispatchTcp, listenerFor, pickWeighted, selectChain } from "../../src/dispatch/dispatch.ts";
import { REPLIES, type ReplyCode } from "../../src/dispatch/replies.ts";
import { normalizeHost } from "../../src/route/lookup.ts";
import type { Snapshot, WeightedDestination } from "../../src/snapshot/types.ts";
import { secretYaml } from "../../src/cli/certs.ts";
import { walkthroughPki } from "../helpers/pki.ts";
import { trace } from "../../src/trace.ts";
import { compileYaml } from "./pipeline-helpers.ts";

const pki = await walkthroughPki();


function yaml(dest: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  http:
  - name: moved
    match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: b.example.com, redirectCode: 308}
  - name: teapot
    match: [{uri: {prefix: /tea}}]
    directResponse: {status: 418, body: {string: short and stout}}
  - name: split
    match: [{uri: {prefix: /split}}]
    route:
    - {destination: {host: one.default.svc.cluster.local, port: {number: 80}}, weight: 25}
    - {destination: {host: two.default.svc.cluster.local, port: {number: 80}}, weight: 75}
  - name: rw
    match: [{uri: {prefix: /api/}}]
    rewrite: {uri: /v2/, authority: api.internal}
    route: [{destination: {host: ${dest}.default.svc.cluster.local, port: {number: 80}}}]
  - name: rest
    route: [{destination: {host: ${dest}.default.svc.cluster.local, port: {number: 80}}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se}
spec:
  hosts: [one.default.svc.cluster.local, two.default.svc.cluster.local, ${dest}.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
`;
}

function req(host: string, path: string, method = "GET"): DispatchRequest {
  const q = path.indexOf("?");
  return { port: 80, host: normalizeHost(host), authority: host, path: q < 0 ? path : path.slice(0, q), query: q < 0 ? "" : path.slice(q + 1), method, scheme: "http", header: () => undefined };
}

const s: Snapshot = compileYaml(yaml("app"));
const conn = { listener: listenerFor(s, 80)!, sni: null };

describe("dispatch", () => {
  test("forward: route, virtual host, destination, cluster, authority as sent, path unchanged", () => {
    const d = dispatch(s, conn, req("A.example.com:80", "/x?y=1"));
    expect([d.kind, d.reply, d.route?.name, d.virtualHost?.name, d.cluster?.name, d.authority, d.path, d.originalPath]).toEqual([
      "forward",
      null,
      "rest",
      "a.example.com:80",
      "outbound|80||app.default.svc.cluster.local",
      "A.example.com:80",
      null,
      "",
    ]);
  });

  test("rewrite: the path to send keeps the query, the original is kept for x-envoy-original-path; authority rewritten", () => {
    const d = dispatch(s, conn, req("a.example.com", "/api/users?id=7"));
    expect([d.route?.name, d.path, d.originalPath, d.authority]).toEqual(["rw", "/v2/users?id=7", "/api/users?id=7", "api.internal"]);
  });

  test("weighted pick with an injected random: 25/75", () => {
    const at = (x: number) => dispatch(s, conn, req("a.example.com", "/split"), () => x).destination?.host;
    expect([at(0), at(0.249), at(0.25), at(0.999)]).toEqual(["one.default.svc.cluster.local", "one.default.svc.cluster.local", "two.default.svc.cluster.local", "two.default.svc.cluster.local"]);
  });

  test("explain of a weighted route: the heaviest destination by default, or the pick it is given", () => {
    expect(trace(s, { port: 80, host: "a.example.com", path: "/split" }).cluster).toBe("outbound|80||two.default.svc.cluster.local");
    expect(trace(s, { port: 80, host: "a.example.com", path: "/split", random: 0.1 }).cluster).toBe("outbound|80||one.default.svc.cluster.local");
  });

  test("redirect and direct response are replies with the route's status, Location and body", () => {
    const r = dispatch(s, conn, req("a.example.com:8080", "/old?q=1"));
    // Envoy's newUri: a redirect authority is used as written, the request's port is not carried over
    expect([r.kind, r.reply?.code, r.status, r.location]).toEqual(["reply", "redirect", 308, "http://b.example.com/new?q=1"]);
    const t = dispatch(s, conn, req("a.example.com", "/tea"));
    expect([t.reply?.code, t.status, t.body, t.route?.name]).toEqual(["direct_response", 418, "short and stout", "teapot"]);
  });

  test("no virtual host and no route: 404 NR; CONNECT is never routed (Envoy without connect_matcher)", () => {
    expect(dispatch(s, conn, req("other.org", "/")).reply?.code).toBe("no_route");
    const c = dispatch(s, conn, req("a.example.com", "/", "CONNECT"));
    expect([c.reply?.code, c.status, c.virtualHost?.name, c.route]).toEqual(["no_route", 404, "a.example.com:80", null]);
  });

  test("a missing cluster is 503 NC; a cluster without endpoints 503 UH", () => {
    const gone = structuredClone(s);
    gone.clusters.delete("outbound|80||app.default.svc.cluster.local");
    const d = dispatch(gone, { listener: listenerFor(gone, 80)!, sni: null }, req("a.example.com", "/"));
    expect([d.kind, d.reply?.code, d.status, d.reply?.flag, d.destination?.host]).toEqual(["reply", "cluster_not_found", 503, "NC", "app.default.svc.cluster.local"]);
    const empty = structuredClone(s);
    empty.clusters.get("outbound|80||app.default.svc.cluster.local")!.endpoints = [];
    const e = dispatch(empty, { listener: listenerFor(empty, 80)!, sni: null }, req("a.example.com", "/"));
    expect([e.reply?.code, e.status, e.reply?.flag, e.body]).toEqual(["no_healthy_upstream", 503, "UH", "no healthy upstream"]);
  });

  test("a reload that renames the destination: the same request forwards to the new cluster", () => {
    const s2 = compileYaml(yaml("renamed"));
    const d = dispatch(s2, { listener: listenerFor(s2, 80)!, sni: null }, req("a.example.com", "/"));
    expect(d.cluster?.name).toBe("outbound|80||renamed.default.svc.cluster.local");
  });
});

describe("TLS and TCP decisions", () => {
  const tls = compileYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https-a, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: cred}
    hosts: [a.example.com]
  - port: {number: 443, name: https-b, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: cred}
    hosts: [b.example.com]
  - port: {number: 8443, name: tls, protocol: TLS}
    tls: {mode: PASSTHROUGH}
    hosts: [p.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [gw]
  http: [{directResponse: {status: 200}}]
---
${secretYaml("cred", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key)}
`);
  const l443 = listenerFor(tls, 443)!;

  test("the chain follows the SNI; a Host another chain serves is 421; a kept-alive connection whose SNI no chain serves any more is 421", () => {
    expect(selectChain(l443, "zzz.example.com")).toMatchObject({ kind: "refuse", reason: "unknown_sni" });
    expect(dispatch(tls, { listener: l443, sni: "a.example.com" }, req("a.example.com", "/")).status).toBe(200);
    expect(dispatch(tls, { listener: l443, sni: "a.example.com" }, req("b.example.com", "/")).reply?.code).toBe("misdirected");
    expect(dispatch(tls, { listener: l443, sni: "gone.example.com" }, req("a.example.com", "/")).reply?.code).toBe("misdirected");
  });

  test("a passthrough chain without routes takes no SNI (istiod builds its chains per tls route); its TCP decision is no_route", () => {
    const l = listenerFor(tls, 8443)!;
    const c = selectChain(l, "p.example.com");
    expect(c.kind).toBe("refuse");
    const chain = l.tls!.chains.find((x) => x.mode === "PASSTHROUGH")!;
    expect(dispatchTcp(tls, chain.tcpRoutes, "p.example.com").reply?.code).toBe("no_route");
  });
});

describe("pickWeighted", () => {
  const d = (cluster: string, weight: number): WeightedDestination => ({ cluster, weight, host: cluster, port: 80, subset: "" });
  test("by cumulative weight; the last one for a random at the top; null for none", () => {
    const ds = [d("a", 10), d("b", 0), d("c", 90)];
    expect([0, 0.099, 0.1, 0.9999].map((x) => pickWeighted(ds, 100, () => x)?.cluster)).toEqual(["a", "a", "c", "c"]);
    expect(pickWeighted([], 0, () => 0)).toBeNull();
  });
});

describe("the reply table", () => {
  test("each row is keyed by its code; statuses follow the source (downstream 4xx, upstream 5xx or none)", () => {
    for (const [k, row] of Object.entries(REPLIES)) {
      expect(row.code).toBe(k as ReplyCode);
      if (row.source === "downstream" && row.status !== 0 && k !== "http_version") expect([k, row.status >= 400 && row.status < 500]).toEqual([k, true]);
      if (row.source === "upstream" && row.status !== 0) expect([k, row.status >= 500]).toEqual([k, true]);
      expect(row.flag).toMatch(/^(-|[A-Z]{2,4})$/);
    }
  });
  test("Envoy's flags and details for the common ones", () => {
    const pairs = (["no_route", "no_healthy_upstream", "cluster_not_found", "connect_failure", "response_timeout", "upstream_protocol_error"] as const).map((c) => [
      REPLIES[c].status,
      REPLIES[c].flag,
      REPLIES[c].details,
    ]);
    expect(pairs).toEqual([
      [404, "NR", "route_not_found"],
      [503, "UH", "no_healthy_upstream"],
      [503, "NC", "cluster_not_found"],
      [503, "UF", "upstream_reset_before_response_started{connection_failure}"],
      [504, "UT", "response_timeout"],
      [502, "UPE", "upstream_reset_before_response_started{protocol_error}"],
    ]);
  });
});

describe("dispatch into a reused Decision (the workers' exchanges keep one each)", () => {
  const faulty = compileYaml(
    yaml("app").replace(
      "  - name: rest\n",
      `  - name: cors
    match: [{uri: {prefix: /cors}}]
    corsPolicy: {allowOrigins: [{exact: "https://o.example"}], allowMethods: [GET]}
    route: [{destination: {host: app.default.svc.cluster.local, port: {number: 80}}}]
  - name: abort
    match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 429, percentage: {value: 100}}, delay: {fixedDelay: 2s, percentage: {value: 100}}}
    route: [{destination: {host: app.default.svc.cluster.local, port: {number: 80}}}]
  - name: rest\n`,
    ),
  );
  const fconn = { listener: listenerFor(faulty, 80)!, sni: null };
  const preflight = (path: string): DispatchRequest => ({
    ...req("a.example.com", path, "OPTIONS"),
    header: (n: string) => (n === "origin" ? "https://o.example" : n === "access-control-request-method" ? "GET" : undefined),
  });
  const cases: [Snapshot, typeof conn, DispatchRequest][] = [
    [s, conn, req("a.example.com", "/old?x=1")],
    [s, conn, req("a.example.com", "/tea")],
    [s, conn, req("a.example.com", "/split")],
    [s, conn, req("a.example.com:8080", "/api/users?id=7")],
    [s, conn, req("a.example.com", "/anything")],
    [s, conn, req("nobody.example.com", "/")],
    [s, conn, req("a.example.com", "/", "CONNECT")],
    [faulty, fconn, preflight("/cors")],
    [faulty, fconn, req("a.example.com", "/abort")],
    [faulty, fconn, req("a.example.com", "/rest")],
  ];

  test("every case, in any order after any other, decides as a new Decision does, field by field", () => {
    const reused = new Decision() as unknown as Record<string, unknown>;
    for (const k of Object.keys(reused)) reused[k] = { dirty: k };
    const order = [...cases.keys(), ...[...cases.keys()].reverse(), 7, 0, 8, 1, 9, 2];
    for (const i of order) {
      const [snap, c, r] = cases[i]!;
      const d = dispatch(snap, c, r, () => 0.5, () => 0.1, reused as unknown as Decision);
      expect(d).toBe(reused as unknown as Decision);
      const fresh = dispatch(snap, c, r, () => 0.5, () => 0.1) as unknown as Record<string, unknown>;
      expect(Object.keys(reused).sort()).toEqual(Object.keys(fresh).sort());
      for (const k of Object.keys(fresh)) expect([i, k, reused[k]]).toEqual([i, k, fresh[k]]);
    }
    const kinds = cases.map(([snap, c, r]) => [dispatch(snap, c, r, () => 0.5, () => 0.1).reply?.code ?? "forward"]);
    expect(kinds.flat()).toEqual(["redirect", "direct_response", "forward", "forward", "forward", "no_route", "no_route", "cors_preflight", "fault_abort", "forward"]);
  });
});

describe("the exchange state machine", () => {
  test("legal transitions, in one table", async () => {
    const { CONNECTING, DONE, FINISHED, legal, NEW, STREAMING, TUNNEL, WAITING } = await import("../../workers/http/exchange-state.ts");
    const ok: [number, number][] = [
      [NEW, CONNECTING],
      [NEW, DONE],
      [CONNECTING, WAITING],
      [WAITING, CONNECTING], // retry on a fresh connection
      [CONNECTING, CONNECTING], // retry after a connect failure (the route's retry policy)
      [WAITING, STREAMING],
      [WAITING, TUNNEL],
      [WAITING, DONE],
      [STREAMING, DONE],
      [TUNNEL, FINISHED],
      [DONE, FINISHED],
    ];
    for (const [a, b] of ok) expect([a, b, legal(a as never, b as never)]).toEqual([a, b, true]);
    const bad: [number, number][] = [
      [NEW, STREAMING],
      [CONNECTING, STREAMING],
      [STREAMING, WAITING],
      [DONE, STREAMING],
      [TUNNEL, DONE],
      [FINISHED, DONE],
      [FINISHED, FINISHED],
    ];
    for (const [a, b] of bad) expect([a, b, legal(a as never, b as never)]).toEqual([a, b, false]);
  });
});

// Semantic mutations (test/unit/config-fuzz.test.ts, bench/config-fuzz.ts
// --mode semantic): values of the schema's own types at odd points, so that the
// configuration passes decode and reaches compile — ports 1/65535 and the same
// port twice, overlapping and wildcard hosts, valid but heavy regexes, weights 0
// or over 100, retries and timeouts 0 or huge, header operations on pseudo
// headers and `host`, mirrors and delegates to missing or looping targets,
// DestinationRule subsets and traffic-policy extremes, every field of an
// AuthorizationPolicy rule, odd JWT rules, Gateway API routes with many parents
// and zero weights, and references to an existing name of the wrong kind; the
// mesh config, tracing and locality load balancing (config-mutate-mesh.ts; one
// Istio case in twelve without a mesh config gets one).
// Deterministic: case N of `semanticCase` is always the same (a stream apart
// from `mutatedCase`'s, whose case numbers keep reproducing).
import { parseAllDocuments, stringify } from "yaml";
import { pickGroup, prng, type MutatedCase, type SeedGroup } from "./config-mutate.ts";
import { isGatewayFlagsFile, isMeshConfigFile } from "./config-invariants.ts";
import { destinationRuleLocality, endpointLocality, endpointSliceLocality, gatewayFlags, meshConfig, newMeshConfig, serviceLocality, telemetryTracing } from "./config-mutate-mesh.ts";
import { destinationRuleSubsets, manyServers, gatewayClass, grpcRoute, ingressClass, ingressMeta, newIngressClass, newIstioDocs, referenceGrant, secret, serviceEntry, telemetry, vsL4, workloadEntry } from "./config-mutate-kinds.ts";
import { isObj, item, list, pick, type Doc, type Rand } from "./config-mutate-pick.ts";


/** What a mutation may point at: every object of the case by kind, with its name and namespace. */
interface Ctx {
  all: { doc: Doc; kind: string; name: string; ns: string }[];
  hosts: string[];
}

const HEAVY_RE2 = [
  "(a|aa|aaa|aaaa)*b", "(.*){1,50}x", "([a-z]+)+/([0-9]*)*$", "(?i)(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p)+z", "[\\s\\S]{0,1000}end",
  "^(/[^/]*){1,30}$", "(x+x+)+y", ".*.*.*.*.*.*.*.*=", "\\p{L}+\\p{N}*", "(?s).+", "^$", "|", "a{0,1000}", "((((((((((a))))))))))*",
];
const DUR_ODD = ["0s", "0.001s", "1ms", "315360000s", "87600h", "0.000001s", "1h", "1s"];
const ODD_HOSTS = ["*", "*.com", "*.example.com", "example.com", "EXAMPLE.com", "a.b.c.d.e.example.com", "xn--bcher-kva.example", "localhost", "10.1.2.3", "*.svc.cluster.local", "httpbin.default.svc.cluster.local"];
const PSEUDO = [":authority", ":path", ":method", ":scheme", ":status", "host", "Host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "x-forwarded-for", "x-envoy-original-path"];
const PORTS = [1, 65535, 80, 443, 8080, 15021, 15090, 1024];

/** The ports other Gateways' servers or listeners use (a duplicate across objects). */
function portsIn(ctx: Ctx): number[] {
  const out: number[] = [];
  for (const o of ctx.all) {
    for (const s of list(o.doc.spec?.servers)) if (typeof s?.port?.number === "number") out.push(s.port.number);
    for (const l of list(o.doc.spec?.listeners)) if (typeof l?.port === "number") out.push(l.port);
  }
  return out.length > 0 ? out : [80];
}

/** A name of an object of another kind than `not` (a reference that resolves to the wrong kind). */
function wrongKindName(r: Rand, ctx: Ctx, not: string): string {
  const others = ctx.all.filter((o) => o.kind !== not && o.name !== "");
  return others.length > 0 ? pick(r, others).name : "no-such-thing";
}

const namesOf = (ctx: Ctx, kind: string) => ctx.all.filter((o) => o.kind === kind).map((o) => o.name);

type Op = (r: Rand, d: Doc, ctx: Ctx) => string | null;


const istioGateway: Op[] = [
  (r, d, ctx) => {
    const s = item(r, d.spec?.servers);
    if (s === null || !isObj(s.port)) return null;
    s.port.number = pick(r, [...PORTS, ...portsIn(ctx)]);
    return `servers[].port.number = ${s.port.number}`;
  },
  (r, d) => {
    const s = item(r, d.spec?.servers);
    if (s === null || !isObj(s.port)) return null;
    const copy = structuredClone(s);
    copy.port.protocol = pick(r, ["HTTP", "HTTPS", "HTTP2", "GRPC", "TCP", "TLS", "MONGO"]);
    copy.port.name = `${copy.port.name ?? "p"}-2`;
    d.spec.servers.push(copy);
    return `a server again on port ${copy.port.number} as ${copy.port.protocol}`;
  },
  (r, d) => {
    const s = item(r, d.spec?.servers);
    if (s === null) return null;
    s.hosts = pick(r, [["*"], ["*/*"], ["./*"], ["*", "*.example.com", "example.com"], ["default/*.example.com"], ["istio-system/*"], ODD_HOSTS.slice(0, 6)]);
    return `servers[].hosts = ${JSON.stringify(s.hosts)}`;
  },
  (r, d, ctx) => {
    const s = item(r, d.spec?.servers);
    if (s === null) return null;
    const mode = pick(r, ["SIMPLE", "MUTUAL", "PASSTHROUGH", "ISTIO_MUTUAL", "AUTO_PASSTHROUGH", "OPTIONAL_MUTUAL"]);
    s.tls = { ...(isObj(s.tls) ? s.tls : {}), mode };
    if (r() < 0.5) s.tls.credentialName = pick(r, [...namesOf(ctx, "Secret"), wrongKindName(r, ctx, "Secret")]);
    if (r() < 0.3) s.tls.minProtocolVersion = pick(r, ["TLSV1_0", "TLSV1_2", "TLSV1_3", "TLS_AUTO"]), (s.tls.maxProtocolVersion = pick(r, ["TLSV1_0", "TLSV1_2", "TLSV1_3", "TLS_AUTO"]));
    if (r() < 0.4) s.tls.cipherSuites = pick(r, [["NOPE"], ["ECDHE-RSA-AES128-GCM-SHA256"], [], ["TLS_AES_128_GCM_SHA256"], ["ECDHE-ECDSA-AES128-GCM-SHA256"], ["ALL"], ["-ALL"], ["!ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"], ["DES-CBC3-SHA"], ["AES128-SHA", "+AES128-SHA"]]);
    if (r() < 0.3) s.tls.httpsRedirect = true;
    return `servers[].tls = ${JSON.stringify(s.tls)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.selector = pick(r, [{}, { istio: "nope" }, { app: "istio-ingressgateway", istio: "ingressgateway" }]);
    return `selector = ${JSON.stringify(d.spec.selector)}`;
  },
];

/** A route destination somewhere in a VirtualService. */
function destinations(d: Doc): Doc[] {
  const out: Doc[] = [];
  for (const sect of ["http", "tcp", "tls"]) for (const rule of list(d.spec?.[sect])) for (const rt of list(rule?.route)) if (isObj(rt)) out.push(rt);
  return out;
}

const virtualService: Op[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.hosts = pick(r, [["*"], ["*.example.com", "example.com"], [pick(r, ODD_HOSTS)], ODD_HOSTS.slice(0, 5), ["httpbin"], ["httpbin.default.svc.cluster.local"]]);
    return `hosts = ${JSON.stringify(d.spec.hosts)}`;
  },
  (r, d) => {
    const h = item(r, d.spec?.http);
    if (h === null) return null;
    const kind = pick(r, ["uri", "authority", "scheme", "method"]);
    const m = { [kind]: { regex: pick(r, HEAVY_RE2) } } as Doc;
    if (r() < 0.4) m.headers = { [pick(r, PSEUDO)]: { regex: pick(r, HEAVY_RE2) } };
    if (r() < 0.3) m.queryParams = { q: { regex: pick(r, HEAVY_RE2) } };
    if (r() < 0.2) m.port = pick(r, PORTS);
    h.match = [...list(h.match), m];
    return `http[].match += ${JSON.stringify(m)}`;
  },
  (r, d) => {
    const ds = destinations(d);
    if (ds.length === 0) return null;
    const w = pick(r, [[0], [0, 0], [100, 100], [1, 99, 0], [150], [2 ** 31 - 1, 1]]);
    ds.forEach((x, i) => (x.weight = w[i % w.length]));
    return `route weights = ${JSON.stringify(ds.map((x) => x.weight))}`;
  },
  (r, d) => {
    const ds = destinations(d);
    if (ds.length === 0) return null;
    const x = pick(r, ds.map((_, i) => i));
    ds[x]!.destination = { ...(isObj(ds[x]!.destination) ? ds[x]!.destination : {}), host: pick(r, ["missing", "*.example.com", "httpbin", "missing.default.svc.cluster.local", "10.0.0.1"]) };
    if (r() < 0.5) ds[x]!.destination.port = { number: pick(r, PORTS) };
    if (r() < 0.3) ds[x]!.destination.subset = pick(r, ["v1", "missing", ""]);
    return `route destination = ${JSON.stringify(ds[x]!.destination)}`;
  },
  (r, d) => {
    const h = item(r, d.spec?.http);
    if (h === null) return null;
    if (r() < 0.5) h.timeout = pick(r, DUR_ODD);
    if (r() < 0.7) h.retries = { attempts: pick(r, [0, 1, 1000, 2 ** 31 - 1]), perTryTimeout: pick(r, DUR_ODD), retryOn: pick(r, ["", "5xx,gateway-error,connect-failure,refused-stream,retriable-4xx,reset,cancelled,deadline-exceeded,unavailable", "nope", "503"]) };
    return `http[] timeout=${h.timeout} retries=${JSON.stringify(h.retries)}`;
  },
  (r, d) => {
    const h = item(r, d.spec?.http);
    if (h === null) return null;
    const op = pick(r, ["set", "add", "remove"]);
    const where = pick(r, ["request", "response"]);
    const names = [pick(r, PSEUDO), pick(r, PSEUDO)];
    h.headers = { [where]: op === "remove" ? { remove: names } : { [op]: Object.fromEntries(names.map((n) => [n, pick(r, ["", "x", "a\u00e9b", "%DOWNSTREAM_REMOTE_ADDRESS%", "v".repeat(9000)])])) } };
    return `http[].headers = ${JSON.stringify(h.headers).slice(0, 120)}`;
  },
  (r, d) => {
    const h = item(r, d.spec?.http);
    if (h === null) return null;
    h.mirror = { host: pick(r, ["missing", "httpbin", "missing.default.svc.cluster.local"]), ...(r() < 0.5 ? { port: { number: pick(r, PORTS) } } : {}) };
    if (r() < 0.5) h.mirrorPercentage = { value: pick(r, [0, 0.0001, 100, 150]) };
    if (r() < 0.3) h.mirrors = [{ destination: { host: "missing" }, percentage: { value: pick(r, [0, 100]) } }, { destination: { host: "httpbin" } }];
    return `http[].mirror = ${JSON.stringify(h.mirror)}`;
  },
  (r, d, ctx) => {
    const h = item(r, d.spec?.http);
    if (h === null) return null;
    const vss = ctx.all.filter((o) => o.kind === "VirtualService");
    h.delegate = { name: r() < 0.6 ? d.metadata?.name : pick(r, [...vss.map((o) => o.name), wrongKindName(r, ctx, "VirtualService")]), ...(r() < 0.5 ? { namespace: d.metadata?.namespace ?? "default" } : {}) };
    delete h.route;
    delete h.redirect;
    delete h.directResponse;
    return `http[].delegate = ${JSON.stringify(h.delegate)}`;
  },
  (r, d) => {
    const h = item(r, d.spec?.http);
    if (h === null) return null;
    const which = pick(r, ["redirect", "direct", "rewrite", "fault", "cors"]);
    if (which === "redirect") h.redirect = { uri: pick(r, ["", "/", "//x", "/a?b"]), authority: pick(r, ["", ":80", "x:0"]), redirectCode: pick(r, [300, 301, 308, 399, 200]), ...(r() < 0.5 ? { port: pick(r, [1, 65535]) } : {}) }, delete h.route;
    if (which === "direct") h.directResponse = { status: pick(r, [100, 200, 204, 304, 599]), ...(r() < 0.5 ? { body: { string: pick(r, ["", "x".repeat(70000)]) } } : {}) }, delete h.route;
    if (which === "rewrite") h.rewrite = pick(r, [{ uri: "" }, { uri: "/" }, { authority: "" }, { uriRegexRewrite: { match: pick(r, HEAVY_RE2), rewrite: "\\1\\9" } }]);
    if (which === "fault") h.fault = { delay: { fixedDelay: pick(r, DUR_ODD), percentage: { value: pick(r, [0, 100, 100.0001]) } }, abort: { httpStatus: pick(r, [200, 599, 100]), percentage: { value: pick(r, [0, 100]) } } };
    if (which === "cors") h.corsPolicy = { allowOrigins: [{ regex: pick(r, HEAVY_RE2) }, { exact: "*" }], allowMethods: ["*", "get"], allowHeaders: [":authority"], maxAge: pick(r, DUR_ODD), allowCredentials: true };
    return `http[] gets a ${which}`;
  },
  (r, d, ctx) => {
    if (!isObj(d.spec)) return null;
    d.spec.gateways = pick(r, [["mesh"], [wrongKindName(r, ctx, "Gateway")], ["istio-system/" + (namesOf(ctx, "Gateway")[0] ?? "gw")], [...namesOf(ctx, "Gateway"), ...namesOf(ctx, "Gateway")], ["default/missing"]]);
    return `gateways = ${JSON.stringify(d.spec.gateways)}`;
  },
];

const destinationRule: Op[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.subsets = pick(r, [[{ name: "v1", labels: {} }], [{ name: "v1", labels: { v: "1" } }, { name: "v1", labels: { v: "2" } }], [{ name: "v1" }], [{ name: "v1", labels: { "": "" } }]]);
    return `subsets = ${JSON.stringify(d.spec.subsets)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    const big = pick(r, [0, 1, 2 ** 31 - 1]);
    d.spec.trafficPolicy = {
      connectionPool: { tcp: { maxConnections: big, connectTimeout: pick(r, DUR_ODD), ...(r() < 0.3 ? { tcpKeepalive: { time: pick(r, DUR_ODD), interval: pick(r, DUR_ODD), probes: big } } : {}) }, http: { http1MaxPendingRequests: big, http2MaxRequests: big, maxRequestsPerConnection: big, maxRetries: big, idleTimeout: pick(r, DUR_ODD) } },
      outlierDetection: { consecutive5xxErrors: pick(r, [0, 1, 2 ** 31 - 1]), consecutiveGatewayErrors: pick(r, [0, 1]), interval: pick(r, DUR_ODD), baseEjectionTime: pick(r, DUR_ODD), maxEjectionPercent: pick(r, [0, 100]), minHealthPercent: pick(r, [0, 100]) },
      ...(r() < 0.5 ? { loadBalancer: pick(r, [{ simple: "PASSTHROUGH" }, { simple: "LEAST_REQUEST" }, { simple: "RANDOM" }, { consistentHash: { httpHeaderName: pick(r, PSEUDO) } }, { consistentHash: { httpCookie: { name: "c", ttl: "0s" } } }, { consistentHash: { useSourceIp: true }, simple: "ROUND_ROBIN" }, { consistentHash: { ringHash: { minimumRingSize: 2 ** 31 - 1 } } }]) } : {}),
    };
    return `trafficPolicy extremes (${big})`;
  },
  (r, d, ctx) => {
    if (!isObj(d.spec)) return null;
    d.spec.trafficPolicy = { ...(isObj(d.spec.trafficPolicy) ? d.spec.trafficPolicy : {}), tls: { mode: pick(r, ["SIMPLE", "MUTUAL", "ISTIO_MUTUAL", "DISABLE"]), sni: pick(r, ["", "*", "x.example.com"]), ...(r() < 0.5 ? { credentialName: pick(r, [...namesOf(ctx, "Secret"), wrongKindName(r, ctx, "Secret")]) } : {}), ...(r() < 0.3 ? { insecureSkipVerify: true, subjectAltNames: [""] } : {}) } };
    return `trafficPolicy.tls = ${JSON.stringify(d.spec.trafficPolicy.tls)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.trafficPolicy = { ...(isObj(d.spec.trafficPolicy) ? d.spec.trafficPolicy : {}), portLevelSettings: [{ port: { number: pick(r, PORTS) }, loadBalancer: { simple: "RANDOM" } }, { port: { number: pick(r, PORTS) }, connectionPool: { tcp: { maxConnections: 0 } } }] };
    return "trafficPolicy.portLevelSettings with odd ports";
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.host = pick(r, ["*", "*.example.com", "missing", "httpbin", "*.svc.cluster.local"]);
    return `host = ${d.spec.host}`;
  },
];

const RULE_EVERY_FIELD = {
  from: [{ source: { principals: ["*"], notPrincipals: ["cluster.local/ns/x/sa/y"], requestPrincipals: ["*"], notRequestPrincipals: ["a/b"], namespaces: ["*"], notNamespaces: ["x"], ipBlocks: ["10.0.0.0/8", "::/0"], notIpBlocks: ["10.0.0.1"], remoteIpBlocks: ["0.0.0.0/0"], notRemoteIpBlocks: ["1.2.3.4/32"] } }],
  to: [{ operation: { hosts: ["*", "Example.com:80"], notHosts: ["*.x"], ports: ["1", "65535"], notPorts: ["80"], methods: ["GET", "*", "get"], notMethods: ["CONNECT"], paths: ["*", "/a/*", "*/b", "/{*}/x", "/a/{**}"], notPaths: ["/x"] } }],
  when: [{ key: "request.headers[:authority]", values: ["*"] }, { key: "source.ip", values: ["10.0.0.0/8"] }, { key: "request.auth.claims[iss]", notValues: [""] }, { key: "destination.port", values: ["65535"] }, { key: "connection.sni", values: ["*"] }, { key: "experimental.envoy.filters.x", values: ["y"] }],
};

const authorizationPolicy: Op[] = [
  (r, d) => {
    if (!isObj(d.spec)) d.spec = {};
    d.spec.action = pick(r, ["ALLOW", "DENY", "AUDIT", "CUSTOM"]);
    if (d.spec.action === "CUSTOM" && r() < 0.6) d.spec.provider = { name: pick(r, ["missing", ""]) };
    d.spec.rules = pick(r, [[], [{}], [RULE_EVERY_FIELD], [{ from: [] }, { to: [{}] }], [{ when: [{ key: "request.headers[x]" }] }], [RULE_EVERY_FIELD, {}]]);
    return `action ${d.spec.action} rules ${JSON.stringify(d.spec.rules).slice(0, 80)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) d.spec = {};
    const s = pick(r, [{ selector: {} }, { selector: { matchLabels: {} } }, { selector: { matchLabels: { istio: "ingressgateway" } } }, { targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "missing" }] }, { targetRef: { kind: "Service", group: "", name: "httpbin" } }]);
    delete d.spec.selector;
    Object.assign(d.spec, s);
    return `scope ${JSON.stringify(s)}`;
  },
];

const requestAuthentication: Op[] = [
  (r, d) => {
    if (!isObj(d.spec)) d.spec = {};
    const rule: Doc = { issuer: pick(r, ["", "https://x", "a b", "\u00e9", "x".repeat(2000)]) };
    const src = pick(r, ["jwks", "uri", "none"]);
    if (src === "jwks") rule.jwks = pick(r, ["", "{}", '{"keys":[]}', '{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}', "not json", '{"keys":[{"kty":"EC","crv":"P-999"}]}']);
    if (src === "uri") rule.jwksUri = pick(r, ["http://missing.invalid/jwks", "https://127.0.0.1:1/jwks", "file:///etc/passwd", ""]);
    if (r() < 0.5) rule.fromHeaders = [{ name: pick(r, PSEUDO), prefix: pick(r, ["", "Bearer "]) }];
    if (r() < 0.3) rule.fromParams = ["", "access_token"];
    if (r() < 0.3) rule.fromCookies = [""];
    if (r() < 0.3) rule.outputPayloadToHeader = pick(r, PSEUDO);
    if (r() < 0.3) rule.outputClaimToHeaders = [{ header: pick(r, PSEUDO), claim: "sub" }];
    if (r() < 0.3) rule.audiences = [];
    if (r() < 0.3) rule.forwardOriginalToken = true;
    d.spec.jwtRules = r() < 0.3 ? [rule, structuredClone(rule)] : [rule];
    return `jwtRules = ${JSON.stringify(d.spec.jwtRules).slice(0, 120)}`;
  },
];

// ---- Gateway API ---------------------------------------------------------------

const gapiGateway: Op[] = [
  (r, d, ctx) => {
    const l = item(r, d.spec?.listeners);
    if (l === null) return null;
    l.port = pick(r, [...PORTS, ...portsIn(ctx)]);
    return `listeners[].port = ${l.port}`;
  },
  (r, d) => {
    const l = item(r, d.spec?.listeners);
    if (l === null) return null;
    const copy = structuredClone(l);
    copy.name = `${l.name ?? "l"}-b`;
    if (r() < 0.5) copy.protocol = pick(r, ["HTTP", "HTTPS", "TLS", "TCP", "UDP"]);
    if (r() < 0.5) copy.hostname = pick(r, ["*.example.com", "example.com", "a.example.com"]);
    d.spec.listeners.push(copy);
    return `a listener again on ${copy.port} ${copy.protocol} ${copy.hostname ?? ""}`;
  },
  (r, d) => {
    const l = item(r, d.spec?.listeners);
    if (l === null) return null;
    l.hostname = pick(r, ["*.example.com", "example.com", "*.com", "a.b.example.com", "EXAMPLE.COM"]);
    return `listeners[].hostname = ${l.hostname}`;
  },
  (r, d, ctx) => {
    const l = item(r, d.spec?.listeners);
    if (l === null) return null;
    l.protocol = pick(r, ["HTTPS", "TLS"]);
    l.tls = { mode: pick(r, ["Terminate", "Passthrough"]), ...(r() < 0.7 ? { certificateRefs: [{ name: pick(r, [...namesOf(ctx, "Secret"), wrongKindName(r, ctx, "Secret")]), ...(r() < 0.3 ? { kind: pick(r, ["ConfigMap", "Service"]) } : {}) }] } : {}) };
    if (r() < 0.3) l.tls.options = pick(r, [{ "gateway.istio.io/tls-cipher-suites": "TLS_AES_128_GCM_SHA256" }, { "gateway.istio.io/tls-cipher-suites": "ECDHE-ECDSA-AES128-GCM-SHA256,,NOPE" }, { "gateway.istio.io/tls-terminate-mode": pick(r, ["MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL", "ISTIO_SIMPLE", "nope"]) }]);
    return `listeners[] ${l.protocol} tls ${JSON.stringify(l.tls)}`;
  },
  (r, d) => {
    const l = item(r, d.spec?.listeners);
    if (l === null) return null;
    l.allowedRoutes = pick(r, [{ namespaces: { from: "All" } }, { namespaces: { from: "Selector", selector: {} } }, { kinds: [{ kind: "TCPRoute" }] }, { kinds: [{ kind: "Service", group: "" }] }, { kinds: [] }]);
    return `listeners[].allowedRoutes = ${JSON.stringify(l.allowedRoutes)}`;
  },
];

function backendRefs(d: Doc): Doc[] {
  return list(d.spec?.rules).flatMap((rule: any) => list(rule?.backendRefs).filter(isObj));
}

const gapiRoute: Op[] = [
  (r, d, ctx) => {
    if (!isObj(d.spec)) return null;
    const gws = ctx.all.filter((o) => o.kind === "Gateway" && String(o.doc.apiVersion).startsWith("gateway."));
    const refs: Doc[] = [];
    for (let i = 0; i < 1 + Math.floor(r() * 6); i++) {
      const g = gws.length > 0 ? pick(r, gws) : null;
      refs.push({ name: g?.name ?? "missing", ...(g !== null ? { namespace: g.ns } : {}), ...(r() < 0.4 ? { sectionName: pick(r, [...list(g?.doc.spec?.listeners).map((l: any) => String(l?.name)), "missing"]) } : {}), ...(r() < 0.2 ? { port: pick(r, PORTS) } : {}) });
    }
    if (r() < 0.2) refs.push({ name: wrongKindName(r, ctx, "Gateway"), kind: pick(r, ["Service", "Gateway", "ListenerSet"]) });
    d.spec.parentRefs = refs;
    return `parentRefs = ${JSON.stringify(refs).slice(0, 120)}`;
  },
  (r, d) => {
    const bs = backendRefs(d);
    if (bs.length === 0) return null;
    const w = pick(r, [[0], [0, 0, 1], [1_000_000, 1], [0, 1000000]]);
    bs.forEach((b, i) => (b.weight = w[i % w.length]));
    if (r() < 0.4) bs.push(...structuredClone(bs));
    return `backendRefs weights ${JSON.stringify(bs.map((b) => b.weight))}`;
  },
  (r, d, ctx) => {
    const bs = backendRefs(d);
    if (bs.length === 0) return null;
    const b = bs[Math.floor(r() * bs.length)]!;
    const op = r();
    if (op < 0.4) b.name = wrongKindName(r, ctx, "Service");
    else if (op < 0.7) b.port = pick(r, PORTS);
    else Object.assign(b, pick(r, [{ kind: "ServiceImport", group: "multicluster.x-k8s.io" }, { kind: "Secret", group: "" }, { namespace: "other" }]));
    return `a backendRef = ${JSON.stringify(b)}`;
  },
  (r, d) => {
    const rule = item(r, d.spec?.rules);
    if (rule === null) return null;
    const which = pick(r, ["headers", "mirror", "rewrite", "regex", "timeouts", "redirect"]);
    const filters = list(rule.filters);
    if (which === "headers") filters.push({ type: pick(r, ["RequestHeaderModifier", "ResponseHeaderModifier"]), [r() < 0.5 ? "requestHeaderModifier" : "responseHeaderModifier"]: { set: [{ name: pick(r, PSEUDO), value: "x" }], add: [{ name: pick(r, PSEUDO), value: "" }], remove: [pick(r, PSEUDO)] } });
    if (which === "mirror") filters.push({ type: "RequestMirror", requestMirror: { backendRef: { name: pick(r, ["missing", "infra-backend-v1"]), port: pick(r, PORTS) }, ...(r() < 0.5 ? { percent: pick(r, [0, 100]) } : {}) } });
    if (which === "rewrite") filters.push({ type: "URLRewrite", urlRewrite: { hostname: pick(r, ["x", "a.b"]), path: pick(r, [{ type: "ReplacePrefixMatch", replacePrefixMatch: "/" }, { type: "ReplaceFullPath", replaceFullPath: "//" }]) } });
    if (which === "redirect") filters.push({ type: "RequestRedirect", requestRedirect: { scheme: pick(r, ["http", "https"]), port: pick(r, PORTS), statusCode: pick(r, [301, 302]), hostname: pick(r, ["x.example.com", "a"]) } });
    if (which === "regex") rule.matches = [...list(rule.matches), { path: { type: "RegularExpression", value: `/${pick(r, HEAVY_RE2)}` }, headers: [{ type: "RegularExpression", name: pick(r, ["x", "host"]), value: pick(r, HEAVY_RE2) }] }];
    if (which === "timeouts") rule.timeouts = pick(r, [{ request: "0s" }, { request: "1ms", backendRequest: "1ms" }, { request: "87600h" }, { request: "1s", backendRequest: "2s" }]);
    if (filters.length > 0) rule.filters = filters;
    return `rules[] gets ${which}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.hostnames = pick(r, [["*.example.com", "example.com"], ["*.com"], ["a.example.com", "a.example.com"], [pick(r, ODD_HOSTS.filter((h) => h !== "*" && !/^\d/.test(h)))]]);
    return `hostnames = ${JSON.stringify(d.spec.hostnames)}`;
  },
];

const ingress: Op[] = [
  (r, d) => {
    const rule = item(r, d.spec?.rules);
    if (rule === null) return null;
    rule.host = pick(r, ["*.example.com", "example.com", "a.example.com", "*.com"]);
    if (r() < 0.5) d.spec.rules.push(structuredClone(rule));
    return `rules[].host = ${rule.host}`;
  },
  (r, d, ctx) => {
    const rule = item(r, d.spec?.rules);
    const p = rule === null ? null : item(r, rule.http?.paths);
    if (p === null) return null;
    p.pathType = pick(r, ["Exact", "Prefix", "ImplementationSpecific"]);
    p.path = pick(r, ["/", "/a/", "/a//b", "/.*", "/" + pick(r, HEAVY_RE2), "/a b"]);
    const svc = pick(r, [wrongKindName(r, ctx, "Service"), "missing"]);
    // networking.k8s.io/v1 names a service and port; v1beta1 serviceName/servicePort
    if (r() < 0.5) p.backend = "serviceName" in (p.backend ?? {}) ? { serviceName: svc, servicePort: pick(r, [...PORTS, "missing"]) } : { service: { name: svc, port: r() < 0.5 ? { number: pick(r, PORTS) } : { name: "missing" } } };
    return `paths[] = ${JSON.stringify(p)}`;
  },
];

const service: Op[] = [
  (r, d) => {
    const p = item(r, d.spec?.ports);
    if (p === null) return null;
    p.port = pick(r, PORTS);
    if (r() < 0.5) p.targetPort = pick(r, [1, 65535, "missing"]);
    if (r() < 0.3) {
      // a second port needs names on both (the schema's rule): same number, another name
      p.name ??= "p";
      d.spec.ports.push({ ...structuredClone(p), name: `${p.name}-2` });
    }
    return `ports[] = ${JSON.stringify(p)}`;
  },
];

/** The kind a file's documents are by its name: the mesh config and the gateway's flags have none of their own. */
const fileKind = (path: string) => (isMeshConfigFile(path) ? "MeshConfig" : isGatewayFlagsFile(path) ? "GatewayFlags" : null);

/** The operations for an object of `kind` (`apiVersion` tells a Gateway API Gateway from Istio's; `MeshConfig`, `GatewayFlags`: those files). */
function opsFor(d: Doc, kind: string): Op[] {
  const api = String(d.apiVersion ?? "");
  switch (kind) {
    case "MeshConfig":
      return meshConfig;
    case "GatewayFlags":
      return gatewayFlags;
    case "EndpointSlice":
      return endpointSliceLocality;
    case "Gateway":
      return api.startsWith("gateway.") ? gapiGateway : [...istioGateway, ...manyServers];
    case "ListenerSet":
    case "XListenerSet":
      return gapiGateway;
    case "VirtualService":
      return list(d.spec?.tls).length + list(d.spec?.tcp).length > 0 ? [...virtualService, ...vsL4, ...vsL4] : virtualService;
    case "DestinationRule":
      return [...destinationRule, ...destinationRuleSubsets, ...destinationRuleLocality];
    case "ServiceEntry":
      return [...serviceEntry, ...endpointLocality];
    case "WorkloadEntry":
      return [...workloadEntry, ...endpointLocality];
    case "Telemetry":
      return [...telemetry, ...telemetryTracing];
    case "Secret":
      return secret;
    case "IngressClass":
      return ingressClass;
    case "ReferenceGrant":
      return referenceGrant;
    case "GatewayClass":
      return gatewayClass;
    case "AuthorizationPolicy":
      return authorizationPolicy;
    case "RequestAuthentication":
      return requestAuthentication;
    case "GRPCRoute":
      return [...gapiRoute, ...grpcRoute];
    case "HTTPRoute":
    case "TLSRoute":
    case "TCPRoute":
      return gapiRoute;
    case "Ingress":
      return [...ingress, ...ingressMeta];
    case "Service":
      return [...service, ...serviceLocality];
    default:
      return [];
  }
}

/** Policies a seed may lack: added to a file of the case, then mutated. */
const NEW_DOCS = (ns: string): Doc[] => [
  { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: "fuzz-authz", namespace: ns }, spec: { selector: { matchLabels: { istio: "ingressgateway" } }, action: "ALLOW", rules: [{}] } },
  { apiVersion: "security.istio.io/v1", kind: "RequestAuthentication", metadata: { name: "fuzz-jwt", namespace: ns }, spec: { selector: { matchLabels: { istio: "ingressgateway" } }, jwtRules: [{ issuer: "https://x" }] } },
  { apiVersion: "networking.istio.io/v1", kind: "DestinationRule", metadata: { name: "fuzz-dr", namespace: "default" }, spec: { host: "httpbin", subsets: [{ name: "v1", labels: { version: "v1" } }] } },
];

const parsedSeeds = new Map<string, Doc[] | null>();
function parseDocs(text: string): Doc[] | null {
  if (!parsedSeeds.has(text)) {
    try {
      const docs = parseAllDocuments(text);
      parsedSeeds.set(text, !Array.isArray(docs) || docs.some((x) => x.errors.length > 0) ? null : docs.map((x) => JSON.parse(JSON.stringify(x.toJS()) ?? "null")));
    } catch {
      parsedSeeds.set(text, null);
    }
  }
  const d = parsedSeeds.get(text)!;
  return d === null ? null : structuredClone(d);
}

/** Lets the parsed seeds go. */
export function forgetSemanticSeeds(): void {
  parsedSeeds.clear();
}

/**
 * Semantic case `seed` of `groups`: one group, one to four semantic mutations on
 * any of its objects (sometimes a policy added first). Every file of the group
 * is rewritten (YAML), the changed ones only differ.
 */
export function semanticCase(groups: SeedGroup[], seed: number): MutatedCase {
  const r = prng(seed ^ 0x5e3a471c);
  const istio = groups.filter((x) => !x.name.startsWith("test/gatewayapi/"));
  const gapi = groups.filter((x) => x.name.startsWith("test/gatewayapi/"));
  const from = istio.length > 0 && (gapi.length === 0 || r() < 0.5) ? istio : gapi;
  const g = pickGroup(r, from);
  const files = g.files.map((f) => ({ ...f, docs: parseDocs(f.text), changed: false }));
  const mutations: string[] = [];
  const ctx: Ctx = { all: [], hosts: [] };
  const refresh = () => {
    ctx.all = [];
    for (const f of files) for (const doc of f.docs ?? []) if (isObj(doc)) ctx.all.push({ doc, kind: fileKind(f.path) ?? String(doc.kind ?? ""), name: String(doc.metadata?.name ?? ""), ns: String(doc.metadata?.namespace ?? "default") });
  };
  refresh();
  let added: Doc[] = [];
  const add = files[0]?.docs != null ? r() : 1;
  if (add < 0.2) added = [pick(r, NEW_DOCS(pick(r, ["istio-system", "default"])))];
  else if (add < 0.45 && from === istio) added = newIstioDocs(r, ctx);
  else if (add < 0.5 && ctx.all.some((o) => o.kind === "Ingress")) added = [newIngressClass(r)];
  // one Istio case in twelve without a mesh config gets one (tracing, locality, providers), the others keep running without
  if (from === istio && !files.some((f) => isMeshConfigFile(f.path)) && r() < 1 / 12) {
    const m = newMeshConfig(r);
    files.push({ path: "fuzz.mesh-config.yaml", text: "", docs: [m], changed: true });
    mutations.push(`fuzz.mesh-config.yaml: added ${JSON.stringify(m).slice(0, 300)}`);
    refresh();
  }
  if (added.length > 0) {
    files[0]!.docs!.push(...added);
    files[0]!.changed = true;
    mutations.push(`${files[0]!.path}: added ${added.map((d) => `${d.kind}/${d.metadata.name}`).join(", ")}`);
    refresh();
  }
  const n = 1 + Math.floor(r() * r() * 4);
  for (let i = 0; i < n; i++) {
    const targets = ctx.all.filter((o) => opsFor(o.doc, o.kind).length > 0);
    if (targets.length === 0) break;
    // the objects the case added are the likeliest targets (else they stay as the seed wrote them)
    const fresh = targets.filter((o) => added.includes(o.doc));
    // a kind first, then an object of it: the many Services of the Gateway API seeds would outnumber their routes
    // (a changed GatewayClass mostly leaves nothing served: less often)
    const kinds = [...new Set(targets.map((o) => o.kind))].filter((k, _, all) => k !== "GatewayClass" || all.length === 1 || r() < 0.25);
    const kind = kinds[Math.floor(r() * kinds.length)]!;
    const ofKind = targets.filter((o) => o.kind === kind);
    const t = fresh.length > 0 && i === 0 ? fresh[Math.floor(r() * fresh.length)]! : ofKind[Math.floor(r() * ofKind.length)]!;
    const ops = opsFor(t.doc, t.kind);
    if (ops.length === 0) continue;
    const what = ops[Math.floor(r() * ops.length)]!(r, t.doc, ctx);
    if (what === null) continue;
    const f = files.find((x) => x.docs?.includes(t.doc))!;
    f.changed = true;
    if (t.doc.__companion !== undefined) {
      f.docs!.push(t.doc.__companion);
      delete t.doc.__companion;
    }
    mutations.push(`${f.path}: ${t.kind}/${t.name}: ${what}`);
  }
  return {
    seed,
    group: g.name,
    files: files.map((f) => ({ path: f.path, text: f.changed && f.docs !== null ? f.docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n") : f.text })),
    mutations,
  };
}

// Semantic mutations of the kinds and fields the first semantic operations
// (config-mutate-semantic.ts) did not reach, and the objects a case adds so that
// they are there to mutate (the seeds have no ServiceEntry, WorkloadEntry,
// Telemetry, VirtualService tls/tcp route, PEM in every Secret format):
// - VirtualService `tls` (sniHosts) and `tcp` routes, with a Gateway of
//   PASSTHROUGH/TLS/TCP servers and a ServiceEntry behind them;
// - ServiceEntry (hosts, addresses, ports, resolution, endpoints,
//   workloadSelector) and WorkloadEntry;
// - Telemetry access logging;
// - Secrets in every format (tls.crt/tls.key/ca.crt, cert/key/cacert, a
//   companion `-cacert` Secret, generic CA only, ca.crl) with broken PEM and DER,
//   served by a MUTUAL Gateway server;
// - Ingress annotations and IngressClass; ReferenceGrant and GatewayClass; a
//   GRPCRoute's method matches; DestinationRule subsets with their own policy.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isObj, item, list, pick, type Doc, type Rand } from "./config-mutate-pick.ts";


/** What an operation may look at: the case's objects. */
export interface KindCtx {
  all: { doc: Doc; kind: string; name: string; ns: string }[];
}
export type KindOp = (r: Rand, d: Doc, ctx: KindCtx) => string | null;

const CERTS = join(import.meta.dir, "..", "..", "config", "certs");
const certPem = (f: string) => readFileSync(join(CERTS, f), "utf8");
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

/** Revocation lists a caller adds once (made asynchronously: config-fuzz-pki.ts), PEM. */
export const EXTRA_CRLS: string[] = [];

/** PEM text of the demo PKI (config/certs) by file name. */
let demo: Map<string, string> | null = null;
const demoPki = () => (demo ??= new Map(readdirSync(CERTS).filter((f) => /\.(crt|key)$/.test(f)).map((f) => [f, certPem(f)])));

/** PEM (or DER) that is broken in one way each: what a Secret's value may hold. */
function brokenPem(r: Rand): string {
  const cert = demoPki().get("httpbin.example.com.crt")!;
  const key = demoPki().get("httpbin.example.com.key")!;
  const body = cert.replace(/-----[A-Z ]+-----|\s/g, "");
  return pick(r, [
    b64(Buffer.from(body, "base64")), // DER, no PEM armour
    b64(cert.replace(/\n/g, "\r\n")), // CRLF line ends (fine)
    b64(cert.slice(0, Math.floor(cert.length / 2))), // cut in the middle
    b64(cert.replace(body.slice(40, 60), "!!!!!!!!!!!!!!!!!!!!")), // not base64 inside
    b64(cert.replace(/^-----BEGIN CERTIFICATE-----/, "-----BEGIN CERTIFICAT-----")), // bad armour
    b64(`garbage before\n${cert}garbage after\n`), // text around (fine for OpenSSL)
    b64(key + cert), // key first
    b64(cert + cert), // the same certificate twice
    b64(cert.replace(/-----BEGIN CERTIFICATE-----\n/, "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n")), // headers
    b64(key.replace(/PRIVATE KEY/g, "ENCRYPTED PRIVATE KEY")), // an "encrypted" key that is not
    b64(key.replace(/PRIVATE KEY/g, "RSA PRIVATE KEY")), // PKCS#8 body under a PKCS#1 label
    b64(`-----BEGIN CERTIFICATE-----\n${b64(new Uint8Array(300).fill(0x30))}\n-----END CERTIFICATE-----\n`), // DER of nothing
    b64(`-----BEGIN X509 CRL-----\n${b64("not a crl")}\n-----END X509 CRL-----\n`),
    b64(cert.replace(/\n-----END CERTIFICATE-----\n$/, "")), // no end line
    b64("\uFEFF" + cert), // a BOM
    b64(demoPki().get("example.com.crt")!), // the CA where a leaf is wanted
    b64(demoPki().get("client.example.com.crt")!), // a client certificate as a server's
  ]);
}

/** A Secret's data, in one of the formats Istio reads (or none), from the demo PKI: `host`'s pair, the demo CA. */
function secretData(r: Rand, host: string): { data: Doc; format: string } {
  const crt = b64(demoPki().get(`${host}.crt`)!);
  const key = b64(demoPki().get(`${host}.key`)!);
  const ca = b64(demoPki().get("example.com.crt")!);
  const format = pick(r, ["tls", "tls+ca", "generic", "generic+cacert", "ca only", "cacert only", "tls+ca+crl", "tls+cacert+ca", "empty", "key only"]);
  const data: Doc = {};
  if (format.startsWith("tls")) Object.assign(data, { "tls.crt": crt, "tls.key": key });
  if (format.startsWith("generic")) Object.assign(data, { cert: crt, key });
  if (format.includes("+ca") || format === "ca only") data["ca.crt"] = ca;
  if (format.includes("cacert")) data.cacert = ca;
  if (format === "key only") data["tls.key"] = key;
  if (format.includes("crl")) data["ca.crl"] = EXTRA_CRLS.length > 0 ? b64(pick(r, EXTRA_CRLS)) : b64("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
  return { data, format };
}

// ---- the objects a case adds -----------------------------------------------------

/** A first Istio Gateway of the case (name, namespace) to attach routes to, or null. */
const istioGateway = (ctx: KindCtx) => ctx.all.find((o) => o.kind === "Gateway" && String(o.doc.apiVersion).startsWith("networking.istio.io"));

/**
 * Objects to add to an Istio case (one group each, mutated next): L4 routes
 * behind PASSTHROUGH/TLS/TCP servers; a ServiceEntry with a WorkloadEntry and an
 * HTTP route to it; a Telemetry; a MUTUAL server with a Secret in some format.
 */
export function newIstioDocs(r: Rand, ctx: KindCtx): Doc[] {
  const gw = istioGateway(ctx);
  const gwRef = gw === undefined ? "istio-system/fuzz-l4" : `${gw.ns}/${gw.name}`;
  const which = pick(r, ["l4", "serviceentry", "telemetry", "secret"]);
  const se = (name: string, extra: Doc = {}): Doc => ({
    apiVersion: "networking.istio.io/v1",
    kind: "ServiceEntry",
    metadata: { name, namespace: "default" },
    spec: { hosts: [`${name}.fuzz.example`], ports: [{ number: 443, name: "tls", protocol: "TLS" }, { number: 8000, name: "tcp", protocol: "TCP" }, { number: 8080, name: "http", protocol: "HTTP" }], location: "MESH_EXTERNAL", resolution: "STATIC", endpoints: [{ address: "10.0.0.5" }], ...extra },
  });
  if (which === "l4") {
    return [
      { apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "fuzz-l4", namespace: "istio-system" }, spec: { selector: { istio: "ingressgateway" }, servers: [
        { port: { number: 9443, name: "tls-pass", protocol: "TLS" }, tls: { mode: "PASSTHROUGH" }, hosts: ["*.l4.example.com", "nginx.example.com"] },
        { port: { number: 9400, name: "tcp", protocol: "TCP" }, hosts: ["*"] },
        { port: { number: 9444, name: "https-pass", protocol: "HTTPS" }, tls: { mode: "PASSTHROUGH" }, hosts: ["pass.example.com"] },
      ] } },
      { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "fuzz-l4", namespace: "default" }, spec: {
        hosts: ["*.l4.example.com", "nginx.example.com", "pass.example.com"],
        gateways: ["istio-system/fuzz-l4"],
        tls: [
          { match: [{ port: 9443, sniHosts: ["a.l4.example.com", "nginx.example.com"] }], route: [{ destination: { host: "l4.fuzz.example", port: { number: 443 } } }] },
          { match: [{ sniHosts: ["*.l4.example.com"] }], route: [{ destination: { host: "l4.fuzz.example", port: { number: 443 } }, weight: 50 }, { destination: { host: "l4.fuzz.example", port: { number: 443 } }, weight: 50 }] },
          { match: [{ port: 9444, sniHosts: ["pass.example.com"] }], route: [{ destination: { host: "l4.fuzz.example", port: { number: 443 } } }] },
        ],
        tcp: [{ match: [{ port: 9400 }], route: [{ destination: { host: "l4.fuzz.example", port: { number: 8000 } } }] }],
      } },
      se("l4"),
    ];
  }
  if (which === "serviceentry") {
    return [
      se("svc", { resolution: "STATIC", endpoints: [], workloadSelector: { labels: { app: "fuzz" } } }),
      { apiVersion: "networking.istio.io/v1", kind: "WorkloadEntry", metadata: { name: "fuzz-we", namespace: "default" }, spec: { address: "10.0.0.7", ports: { http: 8080, tcp: 8000 }, labels: { app: "fuzz" }, weight: 2 } },
      { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "fuzz-se", namespace: "default" }, spec: { hosts: ["se.example.com"], gateways: [gwRef], http: [{ route: [{ destination: { host: "svc.fuzz.example", port: { number: 8080 } } }] }] } },
      ...(gw === undefined ? [] : [{ apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "fuzz-se-gw", namespace: gw.ns }, spec: { selector: { istio: "ingressgateway" }, servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["se.example.com"] }] } }]),
    ];
  }
  if (which === "telemetry") {
    return [{ apiVersion: "telemetry.istio.io/v1", kind: "Telemetry", metadata: { name: "fuzz-telemetry", namespace: pick(r, ["istio-system", "default"]) }, spec: { accessLogging: [{ providers: [{ name: "envoy" }] }] } }];
  }
  const { data, format } = secretData(r, "httpbin.example.com");
  return [
    { apiVersion: "v1", kind: "Secret", metadata: { name: "fuzz-cred", namespace: "istio-system", annotations: { "fuzz/format": format } }, type: format.startsWith("tls") ? "kubernetes.io/tls" : "Opaque", data },
    { apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "fuzz-mtls", namespace: "istio-system" }, spec: { selector: { istio: "ingressgateway" }, servers: [{ port: { number: 9445, name: "https-mtls", protocol: "HTTPS" }, tls: { mode: pick(r, ["MUTUAL", "MUTUAL", "OPTIONAL_MUTUAL", "SIMPLE"]), credentialName: "fuzz-cred" }, hosts: ["httpbin.example.com", "mtls.example.com"] }] } },
    { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "fuzz-mtls", namespace: "default" }, spec: { hosts: ["httpbin.example.com", "mtls.example.com"], gateways: ["istio-system/fuzz-mtls"], http: [{ route: [{ destination: { host: "httpbin", port: { number: 8000 } } }] }] } },
  ];
}

/** An IngressClass (Istio's controller or another, maybe the default class) to add to a case with an Ingress. */
export function newIngressClass(r: Rand): Doc {
  return { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name: pick(r, ["istio", "fuzz-class", "nginx"]), ...(r() < 0.4 ? { annotations: { "ingressclass.kubernetes.io/is-default-class": pick(r, ["true", "false", "TRUE", ""]) } } : {}) }, spec: { controller: pick(r, ["istio.io/ingress-controller", "k8s.io/ingress-nginx", "istio.io/gateway-controller", ""]) } };
}

// ---- operations -------------------------------------------------------------------

const SNI = ["*", "*.l4.example.com", "a.l4.example.com", "A.L4.EXAMPLE.COM", "nginx.example.com", "pass.example.com", "*.example.com", "unrelated.example.org", "*.com", "xn--bcher-kva.example"];
const L4_PORTS = [9443, 9444, 9400, 443, 1, 65535];

const l4Destination = (r: Rand): Doc => ({ host: pick(r, ["l4.fuzz.example", "svc.fuzz.example", "missing.fuzz.example", "httpbin", "*.fuzz.example"]), ...(r() < 0.8 ? { port: { number: pick(r, [443, 8000, 8080, 1]) } } : {}), ...(r() < 0.2 ? { subset: pick(r, ["v1", "missing"]) } : {}) });

/** VirtualService `tls`/`tcp` routes: SNI names, ports, subnets, weights, destinations, the same rule twice. */
export const vsL4: KindOp[] = [
  (r, d) => {
    const t = item(r, d.spec?.tls);
    if (t === null) return null;
    t.match = pick(r, [[{ sniHosts: [pick(r, SNI)] }], [{ sniHosts: [pick(r, SNI), pick(r, SNI)], port: pick(r, L4_PORTS) }], [{ sniHosts: [pick(r, SNI)], destinationSubnets: [pick(r, ["10.0.0.0/8", "::/0", "1.2.3.4"])] }], [{ sniHosts: [pick(r, SNI)], sourceLabels: { app: "x" } }], [{ sniHosts: [pick(r, SNI)], gateways: [pick(r, ["istio-system/fuzz-l4", "mesh", "missing"])] }], [{ sniHosts: [pick(r, SNI)] }, { sniHosts: [pick(r, SNI)], port: pick(r, L4_PORTS) }]]);
    return `tls[].match = ${JSON.stringify(t.match)}`;
  },
  (r, d) => {
    const t = item(r, d.spec?.tls) ?? item(r, d.spec?.tcp);
    if (t === null) return null;
    const n = 1 + Math.floor(r() * 3);
    t.route = Array.from({ length: n }, () => ({ destination: l4Destination(r), ...(n > 1 || r() < 0.3 ? { weight: pick(r, [0, 1, 50, 100, 2 ** 31 - 1]) } : {}) }));
    return `l4 route = ${JSON.stringify(t.route)}`;
  },
  (r, d) => {
    const c = item(r, d.spec?.tcp);
    if (c === null) return null;
    c.match = pick(r, [[], [{ port: pick(r, L4_PORTS) }], [{ destinationSubnets: ["0.0.0.0/0"] }], [{ port: 9400, sourceSubnet: "10.0.0.0/8" }], [{ gateways: ["missing"] }]]);
    return `tcp[].match = ${JSON.stringify(c.match)}`;
  },
  (r, d) => {
    const sect = pick(r, ["tls", "tcp"]);
    const rule = item(r, d.spec?.[sect]);
    if (rule === null) return null;
    d.spec[sect].push(structuredClone(rule));
    return `${sect}[] rule repeated`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.hosts = pick(r, [["*"], ["*.l4.example.com"], ["nginx.example.com"], ["a.l4.example.com", "*.l4.example.com", "*"], ["other.example.org"]]);
    return `hosts = ${JSON.stringify(d.spec.hosts)} (tls routes: sniHosts must be among them)`;
  },
];

const SE_HOSTS = ["*.fuzz.example", "*", "svc.fuzz.example", "httpbin", "httpbin.default.svc.cluster.local", "10.1.2.3", "l4.fuzz.example", "UPPER.fuzz.example", "a.b"];

export const serviceEntry: KindOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.hosts = pick(r, [[pick(r, SE_HOSTS)], [pick(r, SE_HOSTS), pick(r, SE_HOSTS)], [...d.spec.hosts ?? [], ...d.spec.hosts ?? []]]);
    return `hosts = ${JSON.stringify(d.spec.hosts)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.addresses = pick(r, [["10.0.0.0/8"], ["0.0.0.0/0"], ["::/0", "fe80::1"], ["10.0.0.1", "10.0.0.1"], ["240.0.0.1/32"]]);
    return `addresses = ${JSON.stringify(d.spec.addresses)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    const p = item(r, d.spec.ports);
    if (p !== null && r() < 0.6) {
      p.protocol = pick(r, ["HTTP", "HTTPS", "HTTP2", "GRPC", "TCP", "TLS", "MONGO", "UDP", "http"]);
      if (r() < 0.5) p.targetPort = pick(r, [1, 65535, 8443]);
      if (r() < 0.3) p.number = pick(r, [443, 8000, 8080, 1, 65535]);
      return `ports[] = ${JSON.stringify(p)}`;
    }
    d.spec.ports = pick(r, [[{ number: 8080, name: "a", protocol: "HTTP" }, { number: 8080, name: "b", protocol: "TCP" }], [{ number: 8080, name: "http", protocol: "HTTP" }, { number: 8081, name: "http", protocol: "HTTP" }], [{ number: 1, name: "x", protocol: "TCP" }]]);
    return `ports = ${JSON.stringify(d.spec.ports)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.resolution = pick(r, ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"]);
    d.spec.endpoints = pick(r, [[], [{ address: "10.0.0.5" }], [{ address: "backend.example.org" }], [{ address: "10.0.0.5", ports: { tls: 9443, http: 1 }, weight: pick(r, [0, 1, 2 ** 31 - 1]) }, { address: "10.0.0.6", labels: { version: "v1" } }], [{ address: "unix:///var/run/x.sock" }], [{ address: "::1" }], [{ address: "10.0.0.5", network: "n2", locality: "r/z/s" }]]);
    if (r() < 0.3) d.spec.workloadSelector = { labels: { app: pick(r, ["fuzz", "none"]) } };
    return `resolution ${d.spec.resolution} endpoints ${JSON.stringify(d.spec.endpoints)}${d.spec.workloadSelector ? ` workloadSelector ${JSON.stringify(d.spec.workloadSelector)}` : ""}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    if (r() < 0.5) d.spec.location = pick(r, ["MESH_INTERNAL", "MESH_EXTERNAL"]);
    else d.spec.exportTo = pick(r, [["."], ["*"], ["istio-system"], ["~"]]);
    if (r() < 0.3) d.spec.subjectAltNames = ["", "spiffe://x"];
    return `location ${d.spec.location} exportTo ${JSON.stringify(d.spec.exportTo)}`;
  },
];

export const workloadEntry: KindOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.address = pick(r, ["10.0.0.8", "::1", "backend.example.org", "unix:///x.sock", "0.0.0.0", "255.255.255.255"]);
    return `address = ${d.spec.address}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.ports = pick(r, [{}, { http: 1 }, { http: 65535, tcp: 65535 }, { missing: 8080 }, { http: 8080, tls: 8080 }]);
    if (r() < 0.5) d.spec.weight = pick(r, [0, 1, 2 ** 31 - 1]);
    return `ports = ${JSON.stringify(d.spec.ports)} weight ${d.spec.weight}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.labels = pick(r, [{}, { app: "none" }, { app: "fuzz", version: "v1" }]);
    if (r() < 0.3) Object.assign(d.spec, { network: "n2", locality: pick(r, ["", "r", "r/z/s/x"]), serviceAccount: pick(r, ["", "sa"]) });
    if (r() < 0.3) d.metadata.namespace = pick(r, ["istio-system", "other"]);
    return `labels ${JSON.stringify(d.spec.labels)}`;
  },
];

export const telemetry: KindOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) d.spec = {};
    d.spec.accessLogging = pick(r, [[], [{}], [{ disabled: true }], [{ providers: [{ name: pick(r, ["envoy", "missing", "otel", ""]) }], filter: { expression: pick(r, ["response.code >= 400", "true", "1 +", "request.headers['x'] == 'y'", "size(request.path) > 10000000"]) } }], [{ match: { mode: pick(r, ["CLIENT", "SERVER", "CLIENT_AND_SERVER"]) }, providers: [{ name: "envoy" }] }, { disabled: false }]]);
    return `accessLogging = ${JSON.stringify(d.spec.accessLogging)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) d.spec = {};
    const s = pick(r, [{ selector: { matchLabels: { istio: "ingressgateway" } } }, { selector: { matchLabels: {} } }, { targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "missing" }] }, { tracing: [{ randomSamplingPercentage: 100 }] }, { metrics: [{ providers: [{ name: "prometheus" }] }] }]);
    Object.assign(d.spec, s);
    return `spec += ${JSON.stringify(s)}`;
  },
];

export const secret: KindOp[] = [
  (r, d) => {
    if (!isObj(d.data)) d.data = {};
    const k = pick(r, [...Object.keys(d.data), "tls.crt", "tls.key", "ca.crt", "cert", "key", "cacert", "ca.crl"]);
    d.data[k] = brokenPem(r);
    return `data.${k} = broken PEM/DER`;
  },
  (r, d) => {
    const { data, format } = secretData(r, pick(r, ["httpbin.example.com", "helloworld-v1.example.com", "nginx.example.com", "client.example.com"]));
    d.data = data;
    delete d.stringData;
    if (r() < 0.3) d.type = pick(r, ["kubernetes.io/tls", "Opaque", "istio.io/key-and-cert", "x"]);
    return `data in format ${format}`;
  },
  (r, d) => {
    if (!isObj(d.data)) return null;
    // the same values as text (stringData), or both
    const key = pick(r, Object.keys(d.data));
    if (key === undefined) return null;
    d.stringData = { [key]: r() < 0.5 ? Buffer.from(String(d.data[key]), "base64").toString("utf8") : "not pem" };
    if (r() < 0.5) delete d.data[key];
    return `stringData.${key} instead of data`;
  },
  (r, d, ctx) => {
    // a companion <name>-cacert Secret with the CA (or garbage, or a CRL)
    if (!isObj(d.metadata) || String(d.metadata.name ?? "").endsWith("-cacert")) return null;
    const doc: Doc = { apiVersion: "v1", kind: "Secret", metadata: { name: `${d.metadata.name}-cacert`, namespace: d.metadata.namespace ?? "default" }, data: { cacert: r() < 0.6 ? b64(demoPki().get("example.com.crt")!) : brokenPem(r) } };
    if (r() < 0.3) doc.data["ca.crl"] = EXTRA_CRLS.length > 0 ? b64(pick(r, EXTRA_CRLS)) : brokenPem(r);
    ctx.all.push({ doc, kind: "Secret", name: doc.metadata.name, ns: doc.metadata.namespace });
    // semanticCase moves it into this Secret's file (an operation changes one document)
    (d as Doc).__companion = doc;
    return `companion ${doc.metadata.name}`;
  },
];

export const ingressMeta: KindOp[] = [
  (r, d) => {
    if (!isObj(d.metadata)) return null;
    const a = pick(r, [{ "kubernetes.io/ingress.class": pick(r, ["istio", "nginx", "", "ISTIO"]) }, { "nginx.ingress.kubernetes.io/rewrite-target": "/$1" }, { "nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8" }, { "kubernetes.io/ingress.allow-http": "false" }, { "ingress.kubernetes.io/ssl-redirect": "true" }, { "": "x" }]);
    d.metadata.annotations = { ...(isObj(d.metadata.annotations) ? d.metadata.annotations : {}), ...a };
    return `annotations += ${JSON.stringify(a)}`;
  },
  (r, d, ctx) => {
    if (!isObj(d.spec)) return null;
    const classes = ctx.all.filter((o) => o.kind === "IngressClass").map((o) => o.name);
    const v = pick(r, [...classes, "missing", "istio", null]);
    if (v === null) delete d.spec.ingressClassName;
    else d.spec.ingressClassName = v;
    return `ingressClassName = ${v}`;
  },
  (r, d, ctx) => {
    if (!isObj(d.spec)) return null;
    d.spec.tls = pick(r, [[{ hosts: ["httpbin.example.com"], secretName: pick(r, [...ctx.all.filter((o) => o.kind === "Secret").map((o) => o.name), "missing"]) }], [{ hosts: [], secretName: "" }], [{ hosts: ["*.example.com"] }]]);
    return `tls = ${JSON.stringify(d.spec.tls)}`;
  },
];

export const ingressClass: KindOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.controller = pick(r, ["istio.io/ingress-controller", "k8s.io/ingress-nginx", "", "istio.io/gateway-controller"]);
    if (r() < 0.5) d.metadata.annotations = { "ingressclass.kubernetes.io/is-default-class": pick(r, ["true", "false"]) };
    if (r() < 0.3) d.spec.parameters = { kind: "ConfigMap", name: "x" };
    return `controller ${d.spec.controller}`;
  },
];

export const referenceGrant: KindOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.from = pick(r, [[{ group: "gateway.networking.k8s.io", kind: pick(r, ["HTTPRoute", "Gateway", "TLSRoute", "GRPCRoute", "TCPRoute"]), namespace: pick(r, ["gateway-conformance-infra", "gateway-conformance-web-backend", "default", "*"]) }], [], [{ group: "", kind: "Service", namespace: "default" }]]);
    return `from = ${JSON.stringify(d.spec.from)}`;
  },
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.to = pick(r, [[{ group: "", kind: "Service" }], [{ group: "", kind: "Secret" }], [{ group: "", kind: "Service", name: pick(r, ["missing", "infra-backend-v1", ""]) }], [{ group: "core", kind: "Service" }], []]);
    return `to = ${JSON.stringify(d.spec.to)}`;
  },
];

export const gatewayClass: KindOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.controllerName = pick(r, ["istio.io/gateway-controller", "example.com/other", "istio.io/unmanaged-gateway", "istio.io/ingress-controller"]);
    if (r() < 0.3) d.spec.parametersRef = { group: "", kind: "ConfigMap", name: "missing" };
    return `controllerName = ${d.spec.controllerName}`;
  },
];

export const grpcRoute: KindOp[] = [
  (r, d) => {
    const rule = item(r, d.spec?.rules);
    if (rule === null) return null;
    rule.matches = pick(r, [[{ method: { service: "", method: "" } }], [{ method: { type: "RegularExpression", service: "(a|aa)*", method: ".*" } }], [{ method: { service: "grpc.health.v1.Health" } }], [{ method: { method: "Check" } }], [{ headers: [{ name: ":authority", value: "x" }] }]]);
    return `rules[].matches = ${JSON.stringify(rule.matches)}`;
  },
];

/** DestinationRule subsets with their own traffic policy (port-level settings, TLS, load balancer). */
export const destinationRuleSubsets: KindOp[] = [
  (r, d) => {
    if (!isObj(d.spec)) return null;
    d.spec.subsets = [{ name: "v1", labels: { version: "v1" }, trafficPolicy: { portLevelSettings: [{ port: { number: pick(r, [8000, 80, 1, 65535]) }, loadBalancer: { simple: pick(r, ["RANDOM", "PASSTHROUGH", "LEAST_REQUEST"]) }, ...(r() < 0.5 ? { tls: { mode: pick(r, ["SIMPLE", "DISABLE"]) } } : {}) }, { port: { number: 8000 }, connectionPool: { http: { maxRequestsPerConnection: 1 } } }] } }, { name: "v2", labels: { version: "v2" }, trafficPolicy: { loadBalancer: { consistentHash: { httpQueryParameterName: "" } }, tls: { mode: "MUTUAL", credentialName: "missing" } } }];
    return "subsets with their own trafficPolicy and portLevelSettings";
  },
];

/** Many servers on ports of their own (more listeners than a seed has: each is bound and sent traffic). */
export const manyServers: KindOp[] = [
  (r, d, ctx) => {
    if (!isObj(d.spec) || !Array.isArray(d.spec.servers)) return null;
    const n = 9 + Math.floor(r() * 16);
    const secrets = ctx.all.filter((o) => o.kind === "Secret").map((o) => o.name);
    const base = 20000 + Math.floor(r() * 100) * 100;
    for (let k = 0; k < n; k++) {
      const protocol = pick(r, ["HTTP", "HTTP", "HTTPS", "TCP", "HTTP2", "GRPC"]);
      const hosts = pick(r, [["*"], [`h${k}.example.com`], ["*.example.com"], ["httpbin.example.com"]]);
      const tls = protocol === "HTTPS" ? { mode: pick(r, ["SIMPLE", "MUTUAL", "PASSTHROUGH"]), ...(secrets.length > 0 ? { credentialName: pick(r, secrets) } : {}) } : undefined;
      d.spec.servers.push({ port: { number: base + k, name: `p${base + k}`, protocol }, hosts, ...(tls !== undefined ? { tls } : {}) });
    }
    return `${n} servers on ports ${base}..${base + n - 1}`;
  },
];

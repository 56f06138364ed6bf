// For each CEL rule of the CRDs gangway reads (test/unit/fixtures/cel-rules.json, made by
// bench/cel-rules.ts from the originals): one object violating it and the nearest
// object satisfying it. Read by test/unit/cel-rules.test.ts and bench/cel-audit.ts.

/** One distinct rule: kind (`group/Kind`), where `self` is, the CEL, the CRD's message, the served versions carrying it. */
export type CelRow = { kind: string; path: string; rule: string; message: string; reason?: string; fieldPath?: string; versions: string[] };
type Row = CelRow;
type Obj = Record<string, any>;
export type Case = { bad: unknown; good: unknown; na?: string };

const GROUP: Record<string, string> = { networking: "networking.istio.io", security: "security.istio.io", gateway: "gateway.networking.k8s.io" };

/** A valid spec per kind, the one each case changes. */
function base(kind: string, version: string): Obj {
  switch (kind) {
    case "networking.istio.io/Gateway": return { selector: { istio: "ingressgateway" }, servers: [{ port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["*"], tls: { mode: "SIMPLE", credentialName: "cred" } }] };
    case "networking.istio.io/VirtualService": return { hosts: ["a.example.com"], gateways: ["gw"], http: [{ route: [{ destination: { host: "s" } }] }] };
    case "networking.istio.io/DestinationRule": return { host: "s" };
    // ports named as the endpoint port maps of the rows below name them (Istio's webhook wants an endpoint's port names among the ServiceEntry's)
    case "networking.istio.io/ServiceEntry": return { hosts: ["a.example.com"], ports: [{ number: 80, name: "http", protocol: "HTTP" }, { number: 81, name: "http-x", protocol: "HTTP" }, { number: 82, name: "app", protocol: "HTTP" }], resolution: "STATIC", endpoints: [{ address: "10.0.0.1" }] };
    case "networking.istio.io/WorkloadEntry": return { address: "10.0.0.1" };
    case "security.istio.io/RequestAuthentication": return { jwtRules: [{ issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks" }] };
    case "security.istio.io/AuthorizationPolicy": return { action: "ALLOW", rules: [{ from: [{ source: { principals: ["cluster.local/ns/a/sa/b"] } }] }] };
    case "gateway.networking.k8s.io/GatewayClass": return { controllerName: "istio.io/gateway-controller" };
    case "gateway.networking.k8s.io/Gateway": return { gatewayClassName: "istio", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] };
    case "gateway.networking.k8s.io/ListenerSet": return { parentRef: { name: "gw" }, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] };
    case "gateway.networking.k8s.io/HTTPRoute":
    case "gateway.networking.k8s.io/GRPCRoute":
    case "gateway.networking.k8s.io/TCPRoute": return { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "s", port: 80 }] }] };
    case "gateway.networking.k8s.io/TLSRoute": return { ...(version === "v1alpha2" ? {} : { hostnames: ["a.example.com"] }), parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "s", port: 443 }] }] };
    case "gateway.networking.k8s.io/BackendTLSPolicy": return { targetRefs: [{ group: "", kind: "Service", name: "s" }], validation: { hostname: "s.example.com", wellKnownCACertificates: "System" } };
    default: throw new Error(`no base for ${kind}`);
  }
}

const FILTER_TYPE: Record<string, string> = {
  requestMirror: "RequestMirror", cors: "CORS", requestRedirect: "RequestRedirect", urlRewrite: "URLRewrite", externalAuth: "ExternalAuth",
  requestHeaderModifier: "RequestHeaderModifier", responseHeaderModifier: "ResponseHeaderModifier", extensionRef: "ExtensionRef",
};

/** What a missing object on the way to the rule's field starts as (its required fields), by key. */
function start(key: string, next: string | undefined): unknown {
  switch (key) {
    case "subsets": return { name: "v1" };
    case "portLevelSettings": return { port: { number: 80 } };
    case "filters": return { type: FILTER_TYPE[next ?? ""] ?? "RequestHeaderModifier" };
    case "requestMirror": return { backendRef: { name: "s", port: 80 } };
    case "matches": return {};
    case "targetRefs": case "targetRef": return { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" };
    case "jwtRules": return { issuer: "https://issuer.example.com" };
    case "retries": return { attempts: 2 };
    case "externalAuth": return { protocol: "HTTP", http: {} };
    default: return {};
  }
}

/** Sets `value` at the rule's path (`a.b[*].c{*}`): the first element of a list, the key `app` of a map. */
function setAt(root: Obj, path: string, value: unknown): void {
  const steps: (string | 0)[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[{]+)((?:\[\*\]|\{\*\})*)$/.exec(part)!;
    steps.push(m[1]!);
    for (const s of m[2]!.match(/\[\*\]|\{\*\}/g) ?? []) steps.push(s === "[*]" ? 0 : "app");
  }
  let at: any = root;
  for (let i = 0; i < steps.length - 1; i++) {
    const k = steps[i]!;
    const nextStep = steps[i + 1];
    const isList = nextStep === 0;
    if (at[k] === undefined || at[k] === null) {
      if (isList) {
        const named = typeof k === "string" ? k : "";
        at[k] = [start(named, typeof steps[i + 2] === "string" ? (steps[i + 2] as string) : undefined)];
      } else at[k] = typeof k === "string" ? start(k, typeof nextStep === "string" ? nextStep : undefined) : {};
    }
    at = at[k];
    if (isList && i + 1 === steps.length - 1) break;
    if (isList) {
      // into the first element
      i++;
      if (at[0] === undefined) at[0] = start(k as string, typeof steps[i + 1] === "string" ? (steps[i + 1] as string) : undefined);
      at = at[0];
    }
  }
  at[steps[steps.length - 1]!] = value;
}

const norm = (s: string) => s.replace(/\s+/g, " ").trim();
const parent = (name: string, extra: Obj = {}) => ({ group: "gateway.networking.k8s.io", kind: "Gateway", name, ...extra });

/** The violating and the valid value of the rule's `self`. */
export function caseFor(row: Row): Case {
  const r = norm(row.rule);
  const path = row.path;
  const last = path.replace(/\[\*\]|\{\*\}/g, "").split(".").pop()!;
  if (r === "duration(self) >= duration('1ms')") return { bad: "500us", good: "1s" };
  if (r === `self.all(key, !key.contains("*"))`) return { bad: { "app*": "a" }, good: { app: "a" } };
  if (r === `self.all(key, key.size() != 0)`) return { bad: { "": "a" }, good: { app: "a" } };
  if (r === `!self.contains("*")`) return { bad: "a*", good: "a" };
  if (row.kind === "networking.istio.io/Gateway") {
    const tls = { mode: "SIMPLE" };
    if (row.message === "only one of credentialNames or tlsCertificates can be set" || row.message === "only one of credentialName or tlsCertificates can be set")
      return { bad: { ...tls, credentialNames: ["a", "b"], tlsCertificates: [{ serverCertificate: "/c.pem", privateKey: "/k.pem" }] }, good: { ...tls, credentialNames: ["a", "b"] } };
    if (row.message === "only one of credentialName or credentialNames can be set") return { bad: { ...tls, credentialName: "a", credentialNames: ["a", "b"] }, good: { ...tls, credentialNames: ["a", "b"] } };
  }
  if (row.kind === "networking.istio.io/ServiceEntry" && path === "spec") {
    const se = (x: Obj) => ({ hosts: ["a.example.com"], ports: [{ number: 80, name: "http", protocol: "HTTP" }], ...x });
    if (r.startsWith("(has(self.workloadSelector)")) return { bad: se({ resolution: "STATIC", workloadSelector: { labels: { app: "a" } }, endpoints: [{ address: "10.0.0.1" }] }), good: se({ resolution: "STATIC", workloadSelector: { labels: { app: "a" } } }) };
    if (r.includes('k.contains("/")')) return { bad: se({ addresses: ["10.0.0.0/24"], resolution: "DNS", endpoints: [{ address: "a.example.com" }] }), good: se({ addresses: ["10.0.0.0/24"], resolution: "STATIC", endpoints: [{ address: "10.0.0.1" }] }) };
    if (row.message === "NONE mode cannot set endpoints") return { bad: se({ endpoints: [{ address: "10.0.0.1" }] }), good: se({ resolution: "STATIC", endpoints: [{ address: "10.0.0.1" }] }) };
    if (row.message.startsWith("DNS_ROUND_ROBIN")) return { bad: se({ resolution: "DNS_ROUND_ROBIN", endpoints: [{ address: "a.example.com" }, { address: "b.example.com" }] }), good: se({ resolution: "DNS_ROUND_ROBIN", endpoints: [{ address: "a.example.com" }] }) };
  }
  if (r === "has(self.address) || has(self.network)") {
    if (path === "spec") return { bad: { labels: { app: "a" } }, good: { network: "n1", labels: { app: "a" } } };
    return { bad: { labels: { app: "a" } }, good: { network: "n1", labels: { app: "a" } } };
  }
  if (r.startsWith(`(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports)`)) return { bad: { address: "unix:///var/run/a.sock", ports: { http: 8080 } }, good: { address: "unix:///var/run/a.sock" } };
  if (r.startsWith(`self.startsWith("unix://") ? (self.substring(7, 8)`)) return { bad: "unix://var/run/a.sock", good: "unix:///var/run/a.sock" };
  if (r === `self.startsWith("unix://") ? !self.endsWith("/") : true`) return { bad: "unix:///var/run/", good: "unix:///var/run/a.sock" };
  if (r.startsWith("self.all(key, size(key) < 63 && key.matches(")) return { bad: { "http_x": 8080 }, good: { "http-x": 8080 } };
  if (r === "0 < self && self <= 65535") return { bad: 0, good: 1 };
  if (r === `self != "*"`) return { bad: "*", good: "*.example.com" };
  if (r === "self.all(l1, self.exists_one(l2, l1.number == l2.number))") return { bad: [{ number: 80, name: "http", protocol: "HTTP" }, { number: 80, name: "http2", protocol: "HTTP" }], good: [{ number: 80, name: "http", protocol: "HTTP" }, { number: 81, name: "http2", protocol: "HTTP" }] };
  if (r.startsWith("(has(self.selector) ? 1 : 0) + (has(self.targetRef)")) {
    const b = base(row.kind, "v1");
    return { bad: { ...b, selector: { matchLabels: { istio: "ingressgateway" } }, targetRefs: [parent("gw")] }, good: { ...b, targetRefs: [parent("gw")] } };
  }
  if (r.startsWith("(has(self.serviceAccounts) || has(self.notServiceAccounts))")) return { bad: { serviceAccounts: ["ns/sa"], namespaces: ["ns"] }, good: { serviceAccounts: ["ns/sa"] } };
  if (r === "self.size() == 0") return { bad: "other", good: "" };
  if (r.startsWith("(has(self.jwksUri) ? 1 : 0)")) return { bad: { issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks", jwks: '{"keys":[]}' }, good: { issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks" } };
  if (r === `url(self).getScheme() in ["http", "https"]`) return { bad: "ftp://issuer.example.com/jwks", good: "https://issuer.example.com/jwks" };
  // Gateway API Gateway
  if (r.startsWith("self.all(a1, a1.type == 'IPAddress'")) return { bad: [{ type: "IPAddress", value: "10.0.0.1" }, { type: "IPAddress", value: "10.0.0.1" }], good: [{ type: "IPAddress", value: "10.0.0.1" }, { type: "IPAddress", value: "10.0.0.2" }] };
  if (r.startsWith("self.all(a1, a1.type == 'Hostname'")) return { bad: [{ type: "Hostname", value: "a.example.com" }, { type: "Hostname", value: "a.example.com" }], good: [{ type: "Hostname", value: "a.example.com" }, { type: "Hostname", value: "b.example.com" }] };
  if (r.startsWith("self.type == 'Hostname' ? (!has(self.value)")) return { bad: { type: "Hostname", value: "A_B" }, good: { type: "Hostname", value: "a-b.example.com" } };
  if (r.startsWith("self.type == 'Hostname' ? self.value.matches")) return { bad: { type: "Hostname", value: "A_B" }, good: { type: "Hostname", value: "a-b.example.com" }, na: "status: written by the controller, not read by gangway" };
  if (r.startsWith("self.all(key, key.matches(")) return { bad: { "-bad": "a" }, good: { "example.com/good": "a" } };
  if (r === `self.all(key, key.split("/")[0].size() < 253)`) return { bad: { [`${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.${"e".repeat(20)}/k`]: "a" }, good: { [`${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}/k`]: "a" } };
  const L = (x: Obj) => ({ name: "l", port: 443, ...x });
  const cert = { certificateRefs: [{ name: "cred" }] };
  if (r === "self.all(l, l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls) : true)") return { bad: [L({ protocol: "TCP", tls: { mode: "Terminate", ...cert } })], good: [L({ protocol: "TLS", tls: { mode: "Terminate", ...cert } })] };
  if (r.startsWith("self.all(l, (l.protocol == 'HTTPS' && has(l.tls))")) return { bad: [L({ protocol: "HTTPS", tls: { mode: "Passthrough" } })], good: [L({ protocol: "TLS", tls: { mode: "Passthrough" } })] };
  if (r.startsWith("self.all(l, (l.protocol == 'TLS' ? has(l.tls)")) return { bad: [L({ protocol: "TLS" })], good: [L({ protocol: "TLS", tls: { mode: "Passthrough" } })] };
  if (r.startsWith("self.all(l, l.protocol in ['TCP', 'UDP'] ? (!has(l.hostname)")) return { bad: [L({ protocol: "TCP", hostname: "a.example.com" })], good: [L({ protocol: "TLS", hostname: "a.example.com", tls: { mode: "Passthrough" } })] };
  if (r === "self.all(l1, self.exists_one(l2, l1.name == l2.name))") return { bad: [L({ protocol: "HTTP", port: 80 }), L({ protocol: "HTTP", port: 81 })], good: [L({ protocol: "HTTP", port: 80 }), L({ name: "l2", protocol: "HTTP", port: 81 })] };
  if (r.startsWith("self.all(l1, self.exists_one(l2, l1.port == l2.port") || r.startsWith("self.all(l1, !has(l1.port) || self.exists_one(l2, has(l2.port)"))
    return { bad: [L({ name: "a", protocol: "HTTP", port: 80, hostname: "a.example.com" }), L({ name: "b", protocol: "HTTP", port: 80, hostname: "a.example.com" })], good: [L({ name: "a", protocol: "HTTP", port: 80, hostname: "a.example.com" }), L({ name: "b", protocol: "HTTP", port: 80, hostname: "b.example.com" })] };
  if (r.startsWith("self.mode == 'Terminate' ? size(self.certificateRefs)")) return { bad: { mode: "Terminate" }, good: { mode: "Terminate", ...cert } };
  if (r === "self.all(t1, self.exists_one(t2, t1.port == t2.port))") return { bad: [{ port: 443, tls: { validation: { caCertificateRefs: [{ kind: "ConfigMap", group: "", name: "ca" }] } } }, { port: 443, tls: { validation: { caCertificateRefs: [{ kind: "ConfigMap", group: "", name: "ca2" }] } } }], good: [{ port: 443, tls: { validation: { caCertificateRefs: [{ kind: "ConfigMap", group: "", name: "ca" }] } } }, { port: 8443, tls: { validation: { caCertificateRefs: [{ kind: "ConfigMap", group: "", name: "ca2" }] } } }] };
  // routes
  if (r.startsWith("self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__)")) return { bad: [parent("gw"), parent("gw", { sectionName: "http" })], good: [parent("gw", { sectionName: "https" }), parent("gw", { sectionName: "http" })] };
  if (r.startsWith("self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__)")) return { bad: [parent("gw", { sectionName: "http" }), parent("gw", { sectionName: "http" })], good: [parent("gw", { sectionName: "http" }), parent("gw", { sectionName: "https" })] };
  if (r === "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true") return { bad: { name: "s" }, good: { name: "s", port: 80 } };
  if (r === "self.all(l1, !has(l1.name) || self.exists_one(l2, has(l2.name) && l1.name == l2.name))") {
    const br = [{ name: "s", port: row.kind.endsWith("TLSRoute") ? 443 : 80 }];
    return { bad: [{ name: "a", backendRefs: br }, { name: "a", backendRefs: br }], good: [{ name: "a", backendRefs: br }, { name: "b", backendRefs: br }] };
  }
  // BackendTLSPolicy
  const tref = (x: Obj = {}) => ({ group: "", kind: "Service", name: "s", ...x });
  if (r.startsWith("self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name ? ((!has(p1.sectionName)")) return { bad: [tref(), tref({ sectionName: "https" })], good: [tref({ sectionName: "h2" }), tref({ sectionName: "https" })] };
  if (r.startsWith("self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.sectionName)")) return { bad: [tref({ sectionName: "https" }), tref({ sectionName: "https" })], good: [tref({ sectionName: "https" }), tref({ sectionName: "h2" })] };
  const caRef = { group: "", kind: "ConfigMap", name: "ca" };
  if (r.startsWith("!(has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0 && has(self.wellKnownCACertificates)")) return { bad: { hostname: "s.example.com", caCertificateRefs: [caRef], wellKnownCACertificates: "System" }, good: { hostname: "s.example.com", caCertificateRefs: [caRef] } };
  if (r.startsWith("(has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0 || has(self.wellKnownCACertificates)")) return { bad: { hostname: "s.example.com" }, good: { hostname: "s.example.com", wellKnownCACertificates: "System" } };
  if (r === `!(self.type == "Hostname" && (!has(self.hostname) || self.hostname == ""))`) return { bad: { type: "Hostname" }, good: { type: "Hostname", hostname: "s.example.com" } };
  if (r === `!(self.type != "Hostname" && has(self.hostname) && self.hostname != "")`) return { bad: { type: "URI", uri: "spiffe://td/ns/a/sa/b", hostname: "s.example.com" }, good: { type: "URI", uri: "spiffe://td/ns/a/sa/b" } };
  if (r === `!(self.type == "URI" && (!has(self.uri) || self.uri == ""))`) return { bad: { type: "URI" }, good: { type: "URI", uri: "spiffe://td/ns/a/sa/b" } };
  if (r === `!(self.type != "URI" && has(self.uri) && self.uri != "")`) return { bad: { type: "Hostname", hostname: "s.example.com", uri: "spiffe://td/ns/a/sa/b" }, good: { type: "Hostname", hostname: "s.example.com" } };
  // TLSRoute hostnames
  if (r === "self.all(h, !isIP(h))") return { bad: ["10.0.0.1"], good: ["a.example.com"] };
  if (r.startsWith("self.all(h, !h.contains('*') ? h.matches(")) return { bad: ["A.example.com"], good: ["a.example.com"] };
  if (r.startsWith("self.all(h, h.contains('*') ? (h.startsWith('*.')")) return { bad: ["a.*.example.com"], good: ["*.example.com"] };
  if (r === "self == oldSelf") return { bad: "example.com/x", good: "example.com/x", na: "transition rule: only an update can break it; gangway reads files, not updates" };
  // matches per route
  const manyMatches = (n: number) => Array.from({ length: n }, (_, i) => ({ matches: Array.from({ length: 64 }, (_, j) => (row.kind.endsWith("GRPCRoute") ? { method: { service: `s${i}`, method: `m${j}` } } : { path: { type: "PathPrefix", value: `/r${i}/m${j}` } })), backendRefs: [{ name: "s", port: 80 }] }));
  if (r.includes("self[15].matches")) return { bad: [...manyMatches(2), { matches: [row.kind.endsWith("GRPCRoute") ? { method: { service: "x" } } : { path: { type: "PathPrefix", value: "/x" } }], backendRefs: [{ name: "s", port: 80 }] }], good: manyMatches(2) };
  // filters
  const hm = { set: [{ name: "x-a", value: "1" }] };
  const fOf = (type: string): Obj => {
    const key = Object.entries(FILTER_TYPE).find(([, t]) => t === type)![0];
    const v: Record<string, unknown> = {
      requestHeaderModifier: hm, responseHeaderModifier: hm, requestMirror: { backendRef: { name: "m", port: 80 } }, cors: { allowOrigins: ["https://a.example.com"] },
      requestRedirect: { hostname: "b.example.com" }, urlRewrite: { hostname: "b.example.com" }, extensionRef: { group: "example.com", kind: "Ext", name: "e" },
      externalAuth: { protocol: "HTTP", backendRef: { name: "auth", port: 80 }, http: {} },
    };
    return { type, [key]: v[key] };
  };
  let m = /^self\.filter\(f, f\.type == '(\w+)'\)\.size\(\) <= 1$/.exec(r);
  if (m) return { bad: [fOf(m[1]!), fOf(m[1]!)], good: [fOf(m[1]!)] };
  m = /^!\(has\(self\.(\w+)\) && self\.type != '(\w+)'\)$/.exec(r);
  if (m) {
    const other = m[2] === "RequestHeaderModifier" ? "ResponseHeaderModifier" : "RequestHeaderModifier";
    return { bad: { ...fOf(other), [m[1]!]: fOf(m[2]!)[m[1]!] }, good: fOf(other) };
  }
  m = /^!\(!has\(self\.(\w+)\) && self\.type == '(\w+)'\)$/.exec(r);
  if (m) return { bad: { type: m[2] }, good: fOf(m[2]!) };
  if (r === "!(has(self.percent) && has(self.fraction))") return { bad: { backendRef: { name: "m", port: 80 }, percent: 50, fraction: { numerator: 1, denominator: 2 } }, good: { backendRef: { name: "m", port: 80 }, fraction: { numerator: 1, denominator: 2 } } };
  if (r === "self.numerator <= self.denominator") return { bad: { numerator: 3, denominator: 2 }, good: { numerator: 2, denominator: 2 } };
  if (r === "has(self.type) ? has(self.service) || has(self.method) : true") return { bad: { type: "Exact" }, good: { type: "Exact", service: "a.B" } };
  if (r.includes("self.service.matches(")) return { bad: { service: "a-b" }, good: { service: "a_b.C" } };
  if (r.includes("self.method.matches(")) return { bad: { service: "a", method: "Get-X" }, good: { service: "a", method: "Get_X" } };
  if (r.startsWith("!has(self.cookieConfig) || !has(self.cookieConfig.lifetimeType)")) return { bad: { type: "Cookie", sessionName: "s", cookieConfig: { lifetimeType: "Permanent" } }, good: { type: "Cookie", sessionName: "s", absoluteTimeout: "1h", cookieConfig: { lifetimeType: "Permanent" } } };
  if (r === "!has(self.cookieConfig) || self.type == 'Cookie'") return { bad: { type: "Header", sessionName: "s", cookieConfig: { lifetimeType: "Session" } }, good: { type: "Cookie", sessionName: "s", cookieConfig: { lifetimeType: "Session" } } };
  const pre = (v: string) => ({ path: { type: "PathPrefix", value: v } });
  if (r.startsWith("(has(self.backendRefs) && size(self.backendRefs) > 0) ? (!has(self.filters)")) return { bad: { filters: [fOf("RequestRedirect")], backendRefs: [{ name: "s", port: 80 }] }, good: { filters: [fOf("RequestRedirect")] } };
  const rp = (key: string) => ({ type: FILTER_TYPE[key], [key]: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/b" } } });
  if (r.startsWith("(has(self.filters) && self.filters.exists_one(f, has(f.requestRedirect)")) return { bad: { matches: [pre("/a"), pre("/c")], filters: [rp("requestRedirect")] }, good: { matches: [pre("/a")], filters: [rp("requestRedirect")] } };
  if (r.startsWith("(has(self.filters) && self.filters.exists_one(f, has(f.urlRewrite)")) return { bad: { matches: [{ path: { type: "Exact", value: "/a" } }], filters: [rp("urlRewrite")], backendRefs: [{ name: "s", port: 80 }] }, good: { matches: [pre("/a")], filters: [rp("urlRewrite")], backendRefs: [{ name: "s", port: 80 }] } };
  if (r.startsWith("(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.requestRedirect)")) return { bad: { matches: [pre("/a"), pre("/c")], backendRefs: [{ name: "s", port: 80, filters: [rp("requestRedirect")] }] }, good: { matches: [pre("/a")], backendRefs: [{ name: "s", port: 80, filters: [rp("requestRedirect")] }] } };
  if (r.startsWith("(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.urlRewrite)")) return { bad: { matches: [pre("/a"), pre("/c")], backendRefs: [{ name: "s", port: 80, filters: [rp("urlRewrite")] }] }, good: { matches: [pre("/a")], backendRefs: [{ name: "s", port: 80, filters: [rp("urlRewrite")] }] } };
  if (r === "!(self.exists(f, f.type == 'RequestRedirect') && self.exists(f, f.type == 'URLRewrite'))") return { bad: [fOf("RequestRedirect"), fOf("URLRewrite")], good: [fOf("RequestRedirect"), fOf("RequestHeaderModifier")] };
  if (r === "!('*' in self && self.size() > 1)") {
    const v = last === "allowOrigins" ? "https://a.example.com" : last === "allowMethods" ? "GET" : "x-a";
    return { bad: ["*", v], good: ["*"] };
  }
  const auth = { backendRef: { name: "auth", port: 80 } };
  if (r === "self.protocol == 'GRPC' ? has(self.grpc) : true") return { bad: { ...auth, protocol: "GRPC" }, good: { ...auth, protocol: "GRPC", grpc: {} } };
  if (r === "has(self.grpc) ? self.protocol == 'GRPC' : true") return { bad: { ...auth, protocol: "HTTP", http: {}, grpc: {} }, good: { ...auth, protocol: "HTTP", http: {} } };
  if (r === "self.protocol == 'HTTP' ? has(self.http) : true") return { bad: { ...auth, protocol: "HTTP" }, good: { ...auth, protocol: "HTTP", http: {} } };
  if (r === "has(self.http) ? self.protocol == 'HTTP' : true") return { bad: { ...auth, protocol: "GRPC", grpc: {}, http: {} }, good: { ...auth, protocol: "GRPC", grpc: {} } };
  if (r === "self.type == 'ReplaceFullPath' ? has(self.replaceFullPath) : true") return { bad: { type: "ReplaceFullPath" }, good: { type: "ReplaceFullPath", replaceFullPath: "/b" } };
  if (r === "has(self.replaceFullPath) ? self.type == 'ReplaceFullPath' : true") return { bad: { type: "ReplacePrefixMatch", replacePrefixMatch: "/b", replaceFullPath: "/b" }, good: { type: "ReplacePrefixMatch", replacePrefixMatch: "/b" } };
  if (r === "self.type == 'ReplacePrefixMatch' ? has(self.replacePrefixMatch) : true") return { bad: { type: "ReplacePrefixMatch" }, good: { type: "ReplacePrefixMatch", replacePrefixMatch: "/b" } };
  if (r === "has(self.replacePrefixMatch) ? self.type == 'ReplacePrefixMatch' : true") return { bad: { type: "ReplaceFullPath", replaceFullPath: "/b", replacePrefixMatch: "/b" }, good: { type: "ReplaceFullPath", replaceFullPath: "/b" } };
  const pm = (type: string, value: string) => ({ type, value });
  if (r.includes("self.value.startsWith('/')")) return { bad: pm("PathPrefix", "a"), good: pm("PathPrefix", "/a") };
  m = /^\(self\.type in \['Exact','PathPrefix'\]\) \? !self\.value\.(contains|endsWith)\('(.+)'\) : true$/.exec(r);
  if (m) {
    const bad = m[1] === "contains" ? `/a${m[2]}b` : `/a${m[2]}`;
    return { bad: pm("Exact", bad), good: pm("RegularExpression", bad.replace("#", "\\#")) };
  }
  if (r === "self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'") return { bad: pm("Other", "/a"), good: pm("Exact", "/a"), na: "the schema's enum refuses the same values" };
  if (r.includes("self.value.matches(r\"\"\"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]")) return { bad: pm("PathPrefix", "/a b"), good: pm("PathPrefix", "/a%20b") };
  if (r.startsWith("!(has(self.request) && has(self.backendRequest)")) return { bad: { request: "1s", backendRequest: "2s" }, good: { request: "2s", backendRequest: "2s" } };
  throw new Error(`no case for ${row.kind} ${row.path}: ${r}`);
}

/** The document violating (`bad`) or satisfying the rule. */
export function documentFor(row: Row, c: Case, which: "bad" | "good"): Obj {
  const [group, kind] = [row.kind.slice(0, row.kind.lastIndexOf("/")), row.kind.slice(row.kind.lastIndexOf("/") + 1)];
  const version = row.versions.includes("v1") ? "v1" : row.versions[0]!;
  const doc: Obj = { apiVersion: `${group}/${version}`, kind, metadata: { name: "x", namespace: "default" }, spec: base(row.kind, version) };
  const value = structuredClone(c[which]);
  if (row.path === "spec") doc.spec = value;
  else if (row.path === "spec.tls.frontend.perPort") doc.spec.tls = { frontend: { default: { validation: { caCertificateRefs: [{ kind: "ConfigMap", group: "", name: "ca" }] } }, perPort: value } };
  else setAt(doc, row.path, value);
  if (row.path === "spec.listeners[*].tls") Object.assign(doc.spec.listeners[0], { protocol: "HTTPS", port: 443 });
  if (row.kind === "networking.istio.io/ServiceEntry" && row.path.startsWith("spec.workloadSelector")) delete doc.spec.endpoints;
  // a rule-level RequestRedirect filter set on the way: no backendRefs with it (another rule)
  const rule = doc.spec?.rules?.[0];
  if (rule?.filters?.some((f: Obj) => f.type === "RequestRedirect") && row.path !== "spec.rules[*]") delete rule.backendRefs;
  return doc;
}


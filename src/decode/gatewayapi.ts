// Gateway API kinds (gateway.networking.k8s.io): GatewayClass, Gateway,
// HTTPRoute, GRPCRoute, ReferenceGrant (v1, v1beta1), TLSRoute, TCPRoute
// (v1alpha2, v1alpha3), BackendTLSPolicy (v1, v1alpha3: decode/backendtls.ts), ListenerSet (v1),
// and core v1 Namespace for namespace labels. Only the
// shape is checked here (types, enums, regexes); what the objects mean together
// (attachment, references, hostnames) is status, settled by compile.
import { isIP } from "node:net";
import { Codes } from "../model/codes.ts";
import type {
  AllowedListeners,
  BackendRef,
  GatewayListener,
  GRPCMethodMatch,
  GRPCRouteMatchSpec,
  GRPCRouteRuleSpec,
  GRPCRouteSpec,
  HeaderModifier,
  HTTPRouteMatchSpec,
  HTTPRouteRuleSpec,
  L4RouteSpec,
  LabelSelector,
  ListenerSetSpec,
  CORSFilter,
  NotApplied,
  ParentReference,
  PathModifier,
  RequestMirror,
  RouteRetry,
  ReferenceGrantSpec,
  RouteFilter,
  ValueMatch,
} from "../model/gatewayapi.ts";
import { GATEWAY_GROUP } from "../model/gatewayapi.ts";
import { BACKEND_TLS_POLICY, decodeBackendClientCertificateRef, decodeBackendTLSPolicy } from "./backendtls.ts";
import { parseTimerDuration } from "./duration.ts";
import { decodeFrontendTls } from "./frontend-tls.ts";
import { compileRe2 } from "./regex.ts";
import { bool, int, isObj, join, list, obj, objList, oneOf, port, str, strList, strMap, type Obj, type Reader } from "./read.ts";

export const GATEWAY_API = /^gateway\.networking\.k8s\.io\/(v1|v1beta1)$/;
/** TLSRoute and TCPRoute: the alpha versions, and v1 (TLSRoute graduated there; the conformance suite writes it). */
export const GATEWAY_API_ALPHA = /^gateway\.networking\.k8s\.io\/(v1alpha2|v1alpha3|v1)$/;

/** Kinds of the Gateway API (and Namespace) → apiVersion pattern; `Gateway` is handled by the caller. */
export const GATEWAY_API_KINDS: Record<string, RegExp> = {
  KubernetesGateway: GATEWAY_API,
  GatewayClass: GATEWAY_API,
  HTTPRoute: GATEWAY_API,
  GRPCRoute: GATEWAY_API,
  ReferenceGrant: GATEWAY_API,
  TLSRoute: GATEWAY_API_ALPHA,
  TCPRoute: GATEWAY_API_ALPHA,
  BackendTLSPolicy: BACKEND_TLS_POLICY,
  ListenerSet: /^gateway\.networking\.k8s\.io\/v1$/,
  Namespace: /^v1$/,
};

function parentRefs(r: Reader, spec: Obj, ns: string): ParentReference[] {
  return objList(r, spec, "parentRefs", "spec", (o, p) => ({
    group: o.group === undefined ? GATEWAY_GROUP : str(r, o, "group", p),
    kind: str(r, o, "kind", p) || "Gateway",
    namespace: str(r, o, "namespace", p) || ns,
    name: str(r, o, "name", p, true),
    sectionName: str(r, o, "sectionName", p),
    port: port(r, o, "port", p),
    written: { namespace: o.namespace !== undefined, sectionName: o.sectionName !== undefined, port: o.port !== undefined },
  }));
}

function headerModifier(r: Reader, o: Obj | null, path: string): HeaderModifier | null {
  if (o === null) return null;
  const pairs = (key: string): [string, string][] =>
    objList(r, o, key, path, (h, p) => [str(r, h, "name", p, true), typeof h.value === "string" ? h.value : str(r, h, "value", p)]);
  return { set: pairs("set"), add: pairs("add"), remove: strList(r, o, "remove", path) };
}

function pathModifier(r: Reader, o: Obj, path: string): PathModifier | null {
  const m = obj(r, o, "path", path);
  if (m === null) return null;
  const p = join(path, "path");
  const type = oneOf(r, m, "type", p, ["ReplaceFullPath", "ReplacePrefixMatch"] as const, "ReplaceFullPath");
  if (m.type === undefined) r.fail(Codes.MissingField, join(p, "type"), "is required");
  const value = str(r, m, type === "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch", p);
  return { type, value };
}

/** A BackendObjectReference (no weight, no filters). */
function objectRef(r: Reader, b: Obj, p: string, ns: string): BackendRef {
  return {
    group: str(r, b, "group", p),
    kind: str(r, b, "kind", p) || "Service",
    name: str(r, b, "name", p, true),
    namespace: str(r, b, "namespace", p) || ns,
    port: port(r, b, "port", p),
    weight: 1,
    filters: [],
  };
}

function requestMirror(r: Reader, m: Obj | null, p: string, ns: string): RequestMirror | null {
  if (m === null) return null;
  const b = obj(r, m, "backendRef", p, true);
  const backendRef = b === null ? objectRef(r, {}, join(p, "backendRef"), ns) : objectRef(r, b, join(p, "backendRef"), ns);
  const fr = obj(r, m, "fraction", p);
  let percent: number | null = m.percent === undefined || m.percent === null ? null : int(r, m, "percent", p, 0, 100);
  if (fr !== null) {
    const fp = join(p, "fraction");
    const num = int(r, fr, "numerator", fp, 0, 2 ** 31 - 1, true);
    const den = fr.denominator === undefined || fr.denominator === null ? 100 : int(r, fr, "denominator", fp, 1, 2 ** 31 - 1);
    if (den > 0 && num > den) r.fail(Codes.InvalidValue, join(fp, "numerator"), `must not exceed the denominator ${den}`);
    // as istiod: the fraction wins over percent
    percent = den > 0 ? Math.min(100, (100 * num) / den) : 0;
  }
  return { backendRef, percent };
}

function cors(r: Reader, c: Obj | null, p: string): CORSFilter | null {
  if (c === null) return null;
  return {
    allowOrigins: strList(r, c, "allowOrigins", p),
    allowMethods: strList(r, c, "allowMethods", p),
    allowHeaders: strList(r, c, "allowHeaders", p),
    exposeHeaders: strList(r, c, "exposeHeaders", p),
    allowCredentials: bool(r, c, "allowCredentials", p),
    // the CRD defaults maxAge to 5 (seconds)
    maxAge: c.maxAge === undefined || c.maxAge === null ? 5 : int(r, c, "maxAge", p, 1, 2 ** 31 - 1),
  };
}

function filters(r: Reader, o: Obj, path: string, ns: string): RouteFilter[] {
  return objList(r, o, "filters", path, (f, p): RouteFilter => {
    const type = str(r, f, "type", p, true);
    const red = obj(r, f, "requestRedirect", p);
    const rw = obj(r, f, "urlRewrite", p);
    const rp = join(p, "requestRedirect");
    return {
      type,
      requestMirror: requestMirror(r, obj(r, f, "requestMirror", p), join(p, "requestMirror"), ns),
      cors: cors(r, obj(r, f, "cors", p), join(p, "cors")),
      requestHeaderModifier: headerModifier(r, obj(r, f, "requestHeaderModifier", p), join(p, "requestHeaderModifier")),
      responseHeaderModifier: headerModifier(r, obj(r, f, "responseHeaderModifier", p), join(p, "responseHeaderModifier")),
      requestRedirect:
        red === null
          ? null
          : {
              scheme: str(r, red, "scheme", rp).toLowerCase(),
              hostname: str(r, red, "hostname", rp).toLowerCase(),
              path: pathModifier(r, red, rp),
              port: port(r, red, "port", rp),
              statusCode: int(r, red, "statusCode", rp, 300, 399) || 302,
            },
      urlRewrite: rw === null ? null : { hostname: str(r, rw, "hostname", join(p, "urlRewrite")).toLowerCase(), path: pathModifier(r, rw, join(p, "urlRewrite")) },
    };
  });
}

function backendRefs(r: Reader, o: Obj, path: string, ns: string): BackendRef[] {
  return objList(r, o, "backendRefs", path, (b, p) => ({
    group: str(r, b, "group", p),
    kind: str(r, b, "kind", p) || "Service",
    name: str(r, b, "name", p, true),
    namespace: str(r, b, "namespace", p) || ns,
    port: port(r, b, "port", p),
    weight: b.weight === undefined ? 1 : int(r, b, "weight", p, 0, 1_000_000),
    filters: filters(r, b, p, ns),
  }));
}

function regexOk(r: Reader, value: string, field: string): void {
  const c = compileRe2(value);
  if (!c.ok) r.fail(Codes.InvalidRegex, field, `invalid regular expression: ${c.error}`);
}

function valueMatches(r: Reader, o: Obj, key: string, path: string): ValueMatch[] {
  return objList(r, o, key, path, (h, p) => {
    const type = oneOf(r, h, "type", p, ["Exact", "RegularExpression"] as const, "Exact");
    const value = typeof h.value === "string" ? h.value : str(r, h, "value", p);
    if (type === "RegularExpression") regexOk(r, value, join(p, "value"));
    return { type, name: str(r, h, "name", p, true), value };
  });
}

function httpMatch(r: Reader, m: Obj, p: string): HTTPRouteMatchSpec {
  const po = obj(r, m, "path", p);
  let path: HTTPRouteMatchSpec["path"] = { type: "PathPrefix", value: "/" };
  if (po !== null) {
    const pp = join(p, "path");
    const type = oneOf(r, po, "type", pp, ["Exact", "PathPrefix", "RegularExpression"] as const, "PathPrefix");
    const value = str(r, po, "value", pp) || "/";
    if (type === "RegularExpression") regexOk(r, value, join(pp, "value"));
    else if (!value.startsWith("/")) r.fail(Codes.InvalidValue, join(pp, "value"), "must be an absolute path (start with /)");
    path = { type, value };
  }
  return { path, headers: valueMatches(r, m, "headers", p), queryParams: valueMatches(r, m, "queryParams", p), method: str(r, m, "method", p).toUpperCase() };
}

function millis(r: Reader, o: Obj, key: string, path: string): number {
  const s = str(r, o, key, path);
  if (s === "") return 0;
  const ms = parseTimerDuration(s);
  if (ms === null) r.fail(Codes.InvalidDuration, join(path, key), `${JSON.stringify(s)} is not a duration like 10s or 500ms`);
  return ms ?? 0;
}

function retry(r: Reader, o: Obj | null, p: string): RouteRetry | null {
  if (o === null) return null;
  const codes = list(r, o, "codes", p, (v, cp) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 400 || v > 599) {
      r.fail(Codes.InvalidValue, cp, `must be an HTTP status code from 400 to 599, got ${JSON.stringify(v)}`);
      return null;
    }
    return v;
  }).filter((c): c is number => c !== null);
  return {
    codes,
    attempts: o.attempts === undefined || o.attempts === null ? null : int(r, o, "attempts", p, 0, 2 ** 31 - 1),
    backoffMs: millis(r, o, "backoff", p),
  };
}

/** `useDefaultGateways` (GEP-3793): implemented by neither istiod nor gangway. */
function routeNotApplied(spec: Obj): { notApplied?: NotApplied[] } {
  const v = spec.useDefaultGateways;
  if (v === undefined || v === null || v === "None") return {};
  return { notApplied: [{ field: "spec.useDefaultGateways", level: "Warning", why: `useDefaultGateways ${JSON.stringify(v)}: default Gateways are implemented by neither istiod nor gangway; the route attaches through its parentRefs only` }] };
}

/** Gateway fields with no meaning for this instance; each said (GW0807), never dropped silently. */
function gatewayNotApplied(spec: Obj): { notApplied?: NotApplied[] } {
  const out: NotApplied[] = [];
  const has = (o: unknown, k: string) => typeof o === "object" && o !== null && (o as Obj)[k] !== undefined && (o as Obj)[k] !== null;
  for (const k of ["labels", "annotations"]) {
    if (has(spec.infrastructure, k)) out.push({ field: `spec.infrastructure.${k}`, level: "Info", why: `infrastructure.${k} go on the Deployment and Service istiod generates; gangway deploys nothing: not applied` });
  }
  if (spec.defaultScope !== undefined && spec.defaultScope !== null && spec.defaultScope !== "None") {
    out.push({ field: "spec.defaultScope", level: "Warning", why: `defaultScope ${JSON.stringify(spec.defaultScope)}: default Gateways are implemented by neither istiod nor gangway; routes attach through their parentRefs only` });
  }
  return out.length > 0 ? { notApplied: out } : {};
}

export function decodeHTTPRoute(r: Reader, spec: Obj, ns: string) {
  const rules = objList(r, spec, "rules", "spec", (rule, p): HTTPRouteRuleSpec => {
    const matches = objList(r, rule, "matches", p, (m, mp) => httpMatch(r, m, mp));
    const t = obj(r, rule, "timeouts", p);
    const unsupported: string[] = [];
    for (const k of ["sessionPersistence"]) if (rule[k] !== undefined && rule[k] !== null) unsupported.push(k);
    return {
      name: str(r, rule, "name", p),
      matches: matches.length > 0 ? matches : [{ path: { type: "PathPrefix", value: "/" }, headers: [], queryParams: [], method: "" }],
      filters: filters(r, rule, p, ns),
      retry: retry(r, obj(r, rule, "retry", p), join(p, "retry")),
      backendRefs: backendRefs(r, rule, p, ns),
      requestTimeoutMs: t === null ? 0 : millis(r, t, "request", join(p, "timeouts")),
      backendRequestTimeoutMs: t === null ? 0 : millis(r, t, "backendRequest", join(p, "timeouts")),
      unsupported,
    };
  });
  return {
    parentRefs: parentRefs(r, spec, ns),
    hostnames: strList(r, spec, "hostnames", "spec").map((h) => h.toLowerCase()),
    rules: rules.length > 0 ? rules : [{ name: "", matches: [{ path: { type: "PathPrefix" as const, value: "/" }, headers: [], queryParams: [], method: "" }], filters: [], backendRefs: [], requestTimeoutMs: 0, backendRequestTimeoutMs: 0, unsupported: [] }],
    ...routeNotApplied(spec),
  };
}

/** The CRD's patterns for an Exact method match (a regex is checked as one instead). */
const GRPC_SERVICE = /^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

function grpcMatch(r: Reader, m: Obj, p: string): GRPCRouteMatchSpec {
  const mo = obj(r, m, "method", p);
  let method: GRPCMethodMatch | null = null;
  if (mo !== null) {
    const mp = join(p, "method");
    const type = oneOf(r, mo, "type", mp, ["Exact", "RegularExpression"] as const, "Exact");
    const service = str(r, mo, "service", mp);
    const name = str(r, mo, "method", mp);
    if (service === "" && name === "") r.fail(Codes.InvalidValue, mp, "a method match needs service or method");
    for (const [v, f, re] of [
      [service, "service", GRPC_SERVICE],
      [name, "method", GRPC_METHOD],
    ] as const) {
      if (v === "") continue;
      if (type === "RegularExpression") regexOk(r, v, join(mp, f));
      else if (!re.test(v)) r.fail(Codes.InvalidValue, join(mp, f), `${JSON.stringify(v)} is not a gRPC ${f} name`);
    }
    method = { type, service, method: name };
  }
  return { method, headers: valueMatches(r, m, "headers", p) };
}

export function decodeGRPCRoute(r: Reader, spec: Obj, ns: string): GRPCRouteSpec {
  return {
    parentRefs: parentRefs(r, spec, ns),
    hostnames: strList(r, spec, "hostnames", "spec").map((h) => h.toLowerCase()),
    rules: objList(r, spec, "rules", "spec", (rule, p): GRPCRouteRuleSpec => ({
      name: str(r, rule, "name", p),
      matches: objList(r, rule, "matches", p, (m, mp) => grpcMatch(r, m, mp)),
      filters: filters(r, rule, p, ns),
      backendRefs: backendRefs(r, rule, p, ns),
      unsupported: rule.sessionPersistence !== undefined && rule.sessionPersistence !== null ? ["sessionPersistence"] : [],
    })),
    ...routeNotApplied(spec),
  };
}

export function decodeL4Route(r: Reader, spec: Obj, ns: string): L4RouteSpec {
  return {
    parentRefs: parentRefs(r, spec, ns),
    hostnames: strList(r, spec, "hostnames", "spec").map((h) => h.toLowerCase()),
    rules: objList(r, spec, "rules", "spec", (rule, p) => ({ backendRefs: backendRefs(r, rule, p, ns) })),
    ...routeNotApplied(spec),
  };
}

function selector(r: Reader, o: Obj | null, path: string): LabelSelector | null {
  if (o === null) return null;
  return {
    matchLabels: strMap(r, o, "matchLabels", path),
    matchExpressions: objList(r, o, "matchExpressions", path, (e, p) => ({
      key: str(r, e, "key", p, true),
      operator: oneOf(r, e, "operator", p, ["In", "NotIn", "Exists", "DoesNotExist"] as const, "In"),
      values: strList(r, e, "values", p),
    })),
  };
}

/** One listener of a Gateway or a ListenerSet (the same fields). */
function gatewayListener(r: Reader, l: Obj, p: string): GatewayListener {
  const t = obj(r, l, "tls", p);
  const tp = join(p, "tls");
  const ar = obj(r, l, "allowedRoutes", p);
  const ap = join(p, "allowedRoutes");
  const nso = ar === null ? null : obj(r, ar, "namespaces", ap);
  const np = join(ap, "namespaces");
  return {
    name: str(r, l, "name", p, true),
    hostname: str(r, l, "hostname", p).toLowerCase(),
    port: port(r, l, "port", p, true),
    protocol: str(r, l, "protocol", p, true),
    tls:
      t === null
        ? null
        : {
            mode: oneOf(r, t, "mode", tp, ["Terminate", "Passthrough"] as const, "Terminate"),
            certificateRefs: objList(r, t, "certificateRefs", tp, (c, cp) => ({
              group: str(r, c, "group", cp),
              kind: str(r, c, "kind", cp) || "Secret",
              name: str(r, c, "name", cp, true),
              namespace: str(r, c, "namespace", cp),
            })),
            options: strMap(r, t, "options", tp),
          },
    allowedRoutes: {
      from: nso === null ? "Same" : oneOf(r, nso, "from", np, ["Same", "All", "Selector"] as const, "Same"),
      selector: nso === null ? null : selector(r, obj(r, nso, "selector", np), join(np, "selector")),
      kinds: ar === null ? [] : objList(r, ar, "kinds", ap, (k, kp) => ({ group: k.group === undefined ? GATEWAY_GROUP : str(r, k, "group", kp), kind: str(r, k, "kind", kp, true) })),
    },
  };
}

/** `allowedListeners.namespaces`; null when not written (no ListenerSet may attach). */
function allowedListeners(r: Reader, spec: Obj): AllowedListeners | null {
  const al = obj(r, spec, "allowedListeners", "spec");
  const nso = al === null ? null : obj(r, al, "namespaces", "spec.allowedListeners");
  if (nso === null) return null;
  const np = "spec.allowedListeners.namespaces";
  return { from: oneOf(r, nso, "from", np, ["Same", "All", "Selector", "None"] as const, "None"), selector: selector(r, obj(r, nso, "selector", np), join(np, "selector")) };
}

const ADDRESS_HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * `spec.addresses` as the API server admits them after defaulting: a missing `type` is
 * `IPAddress`, whose value must then be an IP address (the schema's `oneOf` only sees
 * the default once it is applied); the CRD's CEL rules: a Hostname value of valid
 * characters, IPAddress and Hostname values each unique.
 */
function checkAddresses(r: Reader, spec: Obj): void {
  if (!Array.isArray(spec.addresses)) return;
  const seen = new Set<string>();
  spec.addresses.forEach((a: unknown, i: number) => {
    if (!isObj(a) || typeof a.value !== "string") return;
    const type = typeof a.type === "string" ? a.type : "IPAddress";
    const field = `spec.addresses[${i}].value`;
    if (type === "IPAddress" && a.type === undefined && isIP(a.value) === 0) {
      r.fail(Codes.InvalidValue, field, `${JSON.stringify(a.value)} is not an IP address (type IPAddress, the default when type is not written; type Hostname or NamedAddress for a name)`);
    }
    if (type === "Hostname" && !ADDRESS_HOSTNAME.test(a.value)) {
      r.fail(Codes.InvalidValue, field, `Hostname value must be empty or contain only valid characters (matching ${ADDRESS_HOSTNAME.source})`);
    }
    if (type !== "IPAddress" && type !== "Hostname") return;
    const key = `${type}\n${a.value}`;
    if (seen.has(key)) r.fail(Codes.InvalidValue, field, `${type} values must be unique: ${JSON.stringify(a.value)} is written twice`);
    seen.add(key);
  });
}

export function decodeKubernetesGateway(r: Reader, spec: Obj) {
  checkAddresses(r, spec);
  const listeners = objList(r, spec, "listeners", "spec", (l, p) => gatewayListener(r, l, p), true);
  const infra = obj(r, spec, "infrastructure", "spec");
  const pr = infra === null ? null : obj(r, infra, "parametersRef", "spec.infrastructure");
  const pp = "spec.infrastructure.parametersRef";
  const parametersRef = pr === null ? null : { group: str(r, pr, "group", pp), kind: str(r, pr, "kind", pp, true), name: str(r, pr, "name", pp, true) };
  const backendClientCertificateRef = decodeBackendClientCertificateRef(r, spec);
  const addresses = objList(r, spec, "addresses", "spec", (a, p) => ({ type: str(r, a, "type", p), value: str(r, a, "value", p) }));
  return {
    gatewayClassName: str(r, spec, "gatewayClassName", "spec", true),
    listeners,
    parametersRef,
    frontendTls: decodeFrontendTls(r, spec),
    allowedListeners: allowedListeners(r, spec),
    ...(backendClientCertificateRef !== null ? { backendClientCertificateRef } : {}),
    ...(addresses.length > 0 ? { addresses } : {}),
    ...gatewayNotApplied(spec),
  };
}

export function decodeListenerSet(r: Reader, spec: Obj, ns: string): ListenerSetSpec {
  const pr = obj(r, spec, "parentRef", "spec", true) ?? {};
  const pp = "spec.parentRef";
  return {
    parentRef: {
      group: pr.group === undefined ? GATEWAY_GROUP : str(r, pr, "group", pp),
      kind: str(r, pr, "kind", pp) || "Gateway",
      namespace: str(r, pr, "namespace", pp) || ns,
      name: str(r, pr, "name", pp, true),
    },
    listeners: objList(r, spec, "listeners", "spec", (l, p) => gatewayListener(r, l, p), true),
  };
}

export function decodeGatewayClass(r: Reader, spec: Obj) {
  const p = spec.parametersRef;
  const notApplied: NotApplied[] =
    p === undefined || p === null ? [] : [{ field: "spec.parametersRef", level: "Info", why: "parametersRef customizes the Deployment and Service istiod generates for the class's Gateways; gangway deploys nothing: not applied" }];
  return { controllerName: str(r, spec, "controllerName", "spec", true), ...(notApplied.length > 0 ? { notApplied } : {}) };
}

export function decodeReferenceGrant(r: Reader, spec: Obj): ReferenceGrantSpec {
  return {
    from: objList(r, spec, "from", "spec", (f, p) => ({ group: str(r, f, "group", p), kind: str(r, f, "kind", p, true), namespace: str(r, f, "namespace", p, true) }), true),
    to: objList(r, spec, "to", "spec", (t, p) => ({ group: str(r, t, "group", p), kind: str(r, t, "kind", p, true), name: str(r, t, "name", p) }), true),
  };
}

/** Spec of a Gateway API kind (`kind` is the internal one: KubernetesGateway for Gateway); undefined: not one of them. */
export function decodeGatewayApiSpec(r: Reader, kind: string, spec: Obj, ns: string): unknown {
  switch (kind) {
    case "KubernetesGateway":
      return decodeKubernetesGateway(r, spec);
    case "GatewayClass":
      return decodeGatewayClass(r, spec);
    case "HTTPRoute":
      return decodeHTTPRoute(r, spec, ns);
    case "GRPCRoute":
      return decodeGRPCRoute(r, spec, ns);
    case "TLSRoute":
    case "TCPRoute":
      return decodeL4Route(r, spec, ns);
    case "ReferenceGrant":
      return decodeReferenceGrant(r, spec);
    case "BackendTLSPolicy":
      return decodeBackendTLSPolicy(r, spec);
    case "ListenerSet":
      return decodeListenerSet(r, spec, ns);
    case "Namespace":
      return {};
  }
  return undefined;
}

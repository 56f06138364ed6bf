// VirtualService (networking.istio.io): hosts, gateways, http/tcp/tls routes,
// checked as Istio's validation checks them (one route action, regexes that
// RE2 accepts, weights, redirect codes, durations).
import { Codes } from "../model/codes.ts";
import type {
  HeaderOperationsSpec,
  HeadersSpec,
  HTTPDirectResponse,
  HTTPMatchRequest,
  HTTPRedirect,
  HTTPRewrite,
  HTTPRoute,
  HTTPRouteDestination,
  KeyedMatchSpec,
  L4MatchAttributes,
  L4Route,
  RouteDestination,
  StringMatchSpec,
  UnsupportedField,
  VirtualServiceSpec,
} from "../model/istio.ts";
import { compileRegexRewrite } from "../route/regex-rewrite.ts";
import { parseTimerDuration } from "./duration.ts";
import { compileRe2 } from "./regex.ts";
import { decodeDestination, decodeStringMatch } from "./vs-match.ts";
import { decodeCors, decodeDelegate, decodeFault, decodeMirror, decodeMirrorPercentage, decodeMirrors, decodeRetries, has } from "./vs-policies.ts";
import { bool, int, join, obj, objList, objMap, oneOf, port, str, strList, strMap, type Obj, type Reader } from "./read.ts";

function stringMatchField(r: Reader, o: Obj, key: string, path: string): StringMatchSpec | null {
  const m = obj(r, o, key, path);
  return m === null ? null : decodeStringMatch(r, m, join(path, key));
}

const HEADER_NAME = /^:?[-!#$%&'*+.^_`|~0-9A-Za-z]+$/;
const CLAIM_PREFIX = "@request.auth.claims";

/**
 * Istio's jwt.ToRoutingClaim: `@request.auth.claims.a.b` or `@request.auth.claims[a][b]`
 * (the prefix in any case) → the claim path ["a", "b"]; null for any other name.
 */
export function routingClaim(name: string): string[] | null {
  if (!name.toLowerCase().startsWith(CLAIM_PREFIX)) return null;
  const rest = name.slice(CLAIM_PREFIX.length);
  if (rest.startsWith(".") && rest.length > 1) return rest.slice(1).split(".");
  if (rest.startsWith("[") && rest.endsWith("]") && rest.length > 2) return rest.slice(1, -1).split("][");
  return null;
}

/** headers / withoutHeaders / queryParams: name → StringMatch; `{}` or regex `*` → presence. */
function keyedMatches(r: Reader, o: Obj, key: string, path: string, nullOk: boolean, isHeader: boolean): KeyedMatchSpec[] {
  const out = objMap(r, o, key, path, (name, v, p): KeyedMatchSpec => {
    const claim = isHeader ? routingClaim(name) : null;
    if (isHeader && claim === null && !HEADER_NAME.test(name)) r.fail(Codes.InvalidValue, p, `invalid header name ${JSON.stringify(name)}`);
    const shown = isHeader && claim === null ? name.toLowerCase() : name;
    if (v === null) {
      if (!nullOk) r.fail(Codes.MissingField, p, "header match cannot be null");
      return claim === null ? { name: shown, match: null } : { name: shown, match: null, claim };
    }
    const presence = v.regex === "*";
    const match = presence ? null : decodeStringMatch(r, v, p);
    return claim === null ? { name: shown, match } : { name: shown, match, claim };
  });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function decodeMatch(r: Reader, o: Obj, path: string, unsupported: UnsupportedField[]): HTTPMatchRequest {
  if (str(r, o, "statPrefix", path) !== "") unsupported.push({ field: join(path, "statPrefix"), reason: "gangway keeps no per-route stats prefix; its metrics carry the route name" });
  return {
    name: str(r, o, "name", path),
    uri: stringMatchField(r, o, "uri", path),
    scheme: stringMatchField(r, o, "scheme", path),
    method: stringMatchField(r, o, "method", path),
    authority: stringMatchField(r, o, "authority", path),
    headers: keyedMatches(r, o, "headers", path, false, true),
    withoutHeaders: keyedMatches(r, o, "withoutHeaders", path, true, true),
    queryParams: keyedMatches(r, o, "queryParams", path, true, false),
    ignoreUriCase: bool(r, o, "ignoreUriCase", path),
    port: port(r, o, "port", path),
    gateways: strList(r, o, "gateways", path),
    sourceLabels: strMap(r, o, "sourceLabels", path),
    sourceNamespace: str(r, o, "sourceNamespace", path),
  };
}

function headerOps(r: Reader, o: Obj, key: string, path: string): HeaderOperationsSpec {
  const h = obj(r, o, key, path);
  const p = join(path, key);
  if (h === null) return { set: [], add: [], remove: [] };
  const pairs = (k: string): [string, string][] => Object.entries(strMap(r, h, k, p));
  return { set: pairs("set"), add: pairs("add"), remove: strList(r, h, "remove", p) };
}

function decodeHeaders(r: Reader, o: Obj, path: string): HeadersSpec | null {
  const h = obj(r, o, "headers", path);
  if (h === null) return null;
  const p = join(path, "headers");
  return { request: headerOps(r, h, "request", p), response: headerOps(r, h, "response", p) };
}

function decodeHTTPDestination(r: Reader, o: Obj, path: string): HTTPRouteDestination {
  const d = obj(r, o, "destination", path, true);
  return {
    destination: d === null ? { host: "", subset: "", port: 0 } : decodeDestination(r, d, join(path, "destination")),
    weight: int(r, o, "weight", path, 0, 0x7fffffff),
    headers: decodeHeaders(r, o, path),
  };
}

function decodeRedirect(r: Reader, o: Obj, path: string): HTTPRedirect {
  const red: HTTPRedirect = {
    uri: str(r, o, "uri", path),
    prefixRewrite: str(r, o, "prefixRewrite", path),
    authority: str(r, o, "authority", path),
    scheme: str(r, o, "scheme", path),
    port: port(r, o, "port", path),
    derivePort: oneOf(r, o, "derivePort", path, ["", "FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"] as const, ""),
    redirectCode: int(r, o, "redirectCode", path, 300, 399) || 301,
  };
  if (red.uri !== "" && red.prefixRewrite !== "") r.fail(Codes.Conflict, path, "redirect may only specify one of uri or prefixRewrite");
  if (red.scheme !== "" && red.scheme !== "http" && red.scheme !== "https") {
    r.fail(Codes.InvalidValue, join(path, "scheme"), 'must be "http" or "https"');
  }
  if (red.uri === "" && red.prefixRewrite === "" && red.authority === "" && red.scheme === "" && red.port === 0 && red.derivePort === "") {
    r.fail(Codes.MissingField, path, "redirect must specify uri, authority, scheme, or port");
  }
  return red;
}

/** Envoy's max_direct_response_body_size_bytes as Istio sets it (1 MiB). */
const MAX_DIRECT_BODY = 1024 * 1024;

function decodeDirectResponse(r: Reader, o: Obj, path: string): HTTPDirectResponse {
  const status = int(r, o, "status", path, 200, 599, true);
  const b = obj(r, o, "body", path);
  const dr: HTTPDirectResponse = { status, body: null, bytes: null };
  if (b !== null) {
    const bp = join(path, "body");
    if (b.string !== undefined && b.bytes !== undefined) r.fail(Codes.Conflict, bp, "only one of string, bytes may be given");
    if (b.string !== undefined) dr.body = str(r, b, "string", bp);
    else if (b.bytes !== undefined) {
      const text = str(r, b, "bytes", bp);
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text.replace(/\s+/g, ""))) r.fail(Codes.InvalidBase64, join(bp, "bytes"), "is not base64");
      dr.bytes = new Uint8Array(Buffer.from(text, "base64"));
    }
    const size = dr.bytes?.length ?? Buffer.byteLength(dr.body ?? "");
    if (size > MAX_DIRECT_BODY) r.fail(Codes.InvalidValue, bp, `the body is ${size} bytes; direct responses must be less than 1MB`);
  }
  return dr;
}

function decodeRewrite(r: Reader, o: Obj, path: string): HTTPRewrite {
  const rr = obj(r, o, "uriRegexRewrite", path);
  const rw: HTTPRewrite = {
    uri: str(r, o, "uri", path),
    authority: str(r, o, "authority", path),
    uriRegexRewrite: null,
  };
  if (rr !== null) {
    const p = join(path, "uriRegexRewrite");
    rw.uriRegexRewrite = { match: str(r, rr, "match", p, true), rewrite: str(r, rr, "rewrite", p, true) };
    const c = compileRe2(rw.uriRegexRewrite.match);
    if (!c.ok) r.fail(Codes.InvalidRegex, join(p, "match"), `invalid regex: ${c.error} (Istio uses RE2 syntax)`);
    else {
      // Envoy refuses a substitution naming a group the regex lacks (RE2::CheckRewriteString)
      const rc = compileRegexRewrite(rw.uriRegexRewrite.match, rw.uriRegexRewrite.rewrite);
      if (!rc.ok) r.fail(Codes.InvalidValue, join(p, "rewrite"), rc.error);
    }
    if (rw.uri !== "") r.fail(Codes.Conflict, path, "rewrite may only contain one of uri or uriRegexRewrite");
  }
  if (rw.uri === "" && rw.authority === "" && rw.uriRegexRewrite === null) {
    r.fail(Codes.MissingField, path, "rewrite must specify uri, uriRegexRewrite or authority");
  }
  return rw;
}

function decodeHTTPRoute(r: Reader, o: Obj, path: string, isDelegate: boolean, unsupported: UnsupportedField[]): HTTPRoute {
  const red = obj(r, o, "redirect", path);
  const dr = obj(r, o, "directResponse", path);
  const rw = obj(r, o, "rewrite", path);
  const retries = obj(r, o, "retries", path);
  const fault = obj(r, o, "fault", path);
  const mirror = obj(r, o, "mirror", path);
  const cors = obj(r, o, "corsPolicy", path);
  const delegate = obj(r, o, "delegate", path);
  const route: HTTPRoute = {
    name: str(r, o, "name", path),
    match: objList(r, o, "match", path, (m, p) => decodeMatch(r, m, p, unsupported)),
    route: objList(r, o, "route", path, (d, p) => decodeHTTPDestination(r, d, p)),
    redirect: red === null ? null : decodeRedirect(r, red, join(path, "redirect")),
    directResponse: dr === null ? null : decodeDirectResponse(r, dr, join(path, "directResponse")),
    rewrite: rw === null ? null : decodeRewrite(r, rw, join(path, "rewrite")),
    timeoutMs: 0,
    headers: decodeHeaders(r, o, path),
    retries: retries === null ? null : decodeRetries(r, retries, join(path, "retries")),
    fault: fault === null ? null : decodeFault(r, fault, join(path, "fault"), unsupported),
    mirror: mirror === null ? null : decodeMirror(r, mirror, join(path, "mirror")),
    mirrorPercentage: decodeMirrorPercentage(r, o, path),
    mirrors: has(o, "mirrors") ? decodeMirrors(r, o, path) : null,
    corsPolicy: cors === null ? null : decodeCors(r, cors, join(path, "corsPolicy")),
    delegate: delegate === null ? null : decodeDelegate(r, delegate, join(path, "delegate")),
    timeoutSet: false,
  };
  const t = str(r, o, "timeout", path);
  if (t !== "") {
    const ms = parseTimerDuration(t);
    if (ms === null) r.fail(Codes.InvalidDuration, join(path, "timeout"), `invalid duration ${JSON.stringify(t)} (like 1.5s, 500ms, 1m)`);
    else {
      route.timeoutMs = ms;
      route.timeoutSet = true;
    }
  }
  if (route.delegate) {
    // a root route: only the delegate's routes act (Istio's validateHTTPRouteConflict)
    if (isDelegate) r.fail(Codes.InvalidValue, join(path, "delegate"), "delegate HTTP route cannot contain delegate (one level of delegation)");
    if (route.redirect !== null) r.fail(Codes.Conflict, path, `root HTTP route ${route.name} must not specify redirect`);
    if (route.route.length > 0) r.fail(Codes.Conflict, path, `root HTTP route ${route.name} must not specify route`);
    return route;
  }
  const actions = [route.route.length > 0 && "route", route.redirect && "redirect", route.directResponse && "directResponse"].filter(Boolean);
  if (actions.length > 1) r.fail(Codes.Conflict, path, `HTTP route cannot contain both ${actions.join(" and ")}`);
  if (actions.length === 0) r.fail(Codes.MissingField, path, "HTTP route, redirect or directResponse is required");
  if (route.fault && (route.redirect !== null || route.directResponse !== null)) {
    r.fail(Codes.Conflict, path, `HTTP route cannot contain both fault and ${route.redirect !== null ? "redirect" : "direct_response"}`);
  }
  if (route.redirect !== null && route.redirect.prefixRewrite !== "") {
    route.match.forEach((m, i) => {
      if (m.uri !== null && m.uri.kind !== "prefix") r.fail(Codes.InvalidValue, `${path}.match[${i}].uri`, "redirect prefixRewrite requires all URI matches to use prefix match type");
    });
  }
  if (route.rewrite !== null && (route.redirect !== null || route.directResponse !== null)) {
    r.fail(Codes.Conflict, path, "HTTP route cannot contain both rewrite and redirect/directResponse");
  }
  if (route.route.length > 1 && route.route.every((d) => d.weight === 0)) {
    r.fail(Codes.InvalidValue, join(path, "route"), "total destination weight = 0");
  }
  return route;
}

function decodeL4Match(r: Reader, o: Obj, path: string, tls: boolean, unsupported: UnsupportedField[]): L4MatchAttributes {
  for (const k of ["destinationSubnets", "sourceSubnet", "sourceNamespace", "sourceLabels"]) {
    if (has(o, k)) unsupported.push({ field: join(path, k), reason: "not applied by gangway: the match ignores it" });
  }
  return {
    port: port(r, o, "port", path),
    gateways: strList(r, o, "gateways", path),
    sourceLabels: strMap(r, o, "sourceLabels", path),
    sniHosts: tls ? strList(r, o, "sniHosts", path, true).map((h) => h.toLowerCase()) : [],
  };
}

function decodeL4Route(r: Reader, o: Obj, path: string, tls: boolean, unsupported: UnsupportedField[]): L4Route {
  const route = objList(r, o, "route", path, (d, p): RouteDestination => {
    const dest = obj(r, d, "destination", p, true);
    return {
      destination: dest === null ? { host: "", subset: "", port: 0 } : decodeDestination(r, dest, join(p, "destination")),
      weight: int(r, d, "weight", p, 0, 0x7fffffff),
    };
  }, true);
  return { match: objList(r, o, "match", path, (m, p) => decodeL4Match(r, m, p, tls, unsupported), tls), route };
}

/** VirtualService hosts: `*`, `*.suffix`, a name, or a short name; lower-cased. */
const VS_HOST = /^(\*|(\*\.)?[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?(\.[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)*\.?)$/;

export function decodeVirtualService(r: Reader, spec: Obj): VirtualServiceSpec {
  // no hosts: a delegate, whose http routes a root VirtualService merges in (compile/delegates.ts)
  const hosts = strList(r, spec, "hosts", "spec").map((h) => h.toLowerCase());
  const isDelegate = hosts.length === 0;
  const unsupported: UnsupportedField[] = [];
  hosts.forEach((h, i) => {
    if (!VS_HOST.test(h)) r.fail(Codes.InvalidValue, `spec.hosts[${i}]`, `invalid host ${JSON.stringify(h)}`);
  });
  const gateways = strList(r, spec, "gateways", "spec");
  gateways.forEach((g, i) => {
    if (!/^([a-z0-9.-]+\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(g)) {
      r.fail(Codes.InvalidValue, `spec.gateways[${i}]`, `invalid gateway name ${JSON.stringify(g)} (name or namespace/name)`);
    }
  });
  const out: VirtualServiceSpec = {
    hosts,
    gateways,
    http: objList(r, spec, "http", "spec", (o, p) => decodeHTTPRoute(r, o, p, isDelegate, unsupported)),
    tcp: objList(r, spec, "tcp", "spec", (o, p) => decodeL4Route(r, o, p, false, unsupported)),
    tls: objList(r, spec, "tls", "spec", (o, p) => decodeL4Route(r, o, p, true, unsupported)),
    exportTo: strList(r, spec, "exportTo", "spec"),
    unsupported,
  };
  if (isDelegate) {
    if (gateways.length > 0) r.fail(Codes.InvalidValue, "spec.gateways", "delegate virtual service must have no gateways specified");
    if (out.tls.length > 0) r.fail(Codes.InvalidValue, "spec.tls", "delegate virtual service must have no tls route specified");
    if (out.tcp.length > 0) r.fail(Codes.InvalidValue, "spec.tcp", "delegate virtual service must have no tcp route specified");
  }
  if (out.http.length === 0 && out.tcp.length === 0 && out.tls.length === 0) r.fail(Codes.MissingField, "spec", "http, tcp or tls must be provided in virtual service");
  return out;
}

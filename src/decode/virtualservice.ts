// VirtualService (networking.istio.io): hosts, gateways, http/tcp/tls routes,
// checked as Istio's validation checks them (one route action, regexes that
// RE2 accepts, weights, redirect codes, durations).
import { Codes } from "../model/codes.ts";
import type {
  Destination,
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
  VirtualServiceSpec,
} from "../model/istio.ts";
import { parseDuration } from "./duration.ts";
import { compileRe2 } from "./regex.ts";
import { bool, int, join, obj, objList, objMap, oneOf, port, str, strList, strMap, type Obj, type Reader } from "./read.ts";

/** A StringMatch object: exactly one of exact/prefix/regex; `{}` → null (matches anything). */
export function decodeStringMatch(r: Reader, o: Obj, path: string): StringMatchSpec | null {
  const kinds = (["exact", "prefix", "regex"] as const).filter((k) => o[k] !== undefined && o[k] !== null);
  if (kinds.length > 1) {
    r.fail(Codes.Conflict, path, `only one of exact, prefix, regex may be given (got ${kinds.join(", ")})`);
    return null;
  }
  if (kinds.length === 0) return null;
  const kind = kinds[0]!;
  const v = o[kind];
  if (typeof v !== "string") {
    r.fail(Codes.WrongType, join(path, kind), "must be a string");
    return null;
  }
  if (kind === "regex") {
    const c = compileRe2(v);
    if (!c.ok) {
      r.fail(Codes.InvalidRegex, join(path, kind), `invalid regex ${JSON.stringify(v)}: ${c.error} (Istio uses RE2 syntax)`);
      return null;
    }
  }
  return { kind, value: v };
}

function stringMatchField(r: Reader, o: Obj, key: string, path: string): StringMatchSpec | null {
  const m = obj(r, o, key, path);
  return m === null ? null : decodeStringMatch(r, m, join(path, key));
}

const HEADER_NAME = /^:?[-!#$%&'*+.^_`|~0-9A-Za-z]+$/;

/** headers / withoutHeaders / queryParams: name → StringMatch; `{}` or regex `*` → presence. */
function keyedMatches(r: Reader, o: Obj, key: string, path: string, nullOk: boolean, isHeader: boolean): KeyedMatchSpec[] {
  const out = objMap(r, o, key, path, (name, v, p) => {
    if (isHeader && !HEADER_NAME.test(name)) r.fail(Codes.InvalidValue, p, `invalid header name ${JSON.stringify(name)}`);
    if (v === null) {
      if (!nullOk) r.fail(Codes.MissingField, p, "header match cannot be null");
      return { name: isHeader ? name.toLowerCase() : name, match: null };
    }
    const presence = v.regex === "*";
    const match = presence ? null : decodeStringMatch(r, v, p);
    return { name: isHeader ? name.toLowerCase() : name, match };
  });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function decodeMatch(r: Reader, o: Obj, path: string): HTTPMatchRequest {
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

export function decodeDestination(r: Reader, o: Obj, path: string): Destination {
  const po = obj(r, o, "port", path);
  return {
    host: str(r, o, "host", path, true).toLowerCase(),
    subset: str(r, o, "subset", path),
    port: po === null ? 0 : port(r, po, "number", join(path, "port")),
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

function decodeDirectResponse(r: Reader, o: Obj, path: string): HTTPDirectResponse {
  const status = int(r, o, "status", path, 200, 599, true);
  const b = obj(r, o, "body", path);
  let body: string | null = null;
  if (b !== null) {
    const bp = join(path, "body");
    if (b.string !== undefined) body = str(r, b, "string", bp);
    else if (b.bytes !== undefined) body = Buffer.from(str(r, b, "bytes", bp), "base64").toString("utf8");
  }
  return { status, body };
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
    if (rw.uri !== "") r.fail(Codes.Conflict, path, "rewrite may only contain one of uri or uriRegexRewrite");
  }
  if (rw.uri === "" && rw.authority === "" && rw.uriRegexRewrite === null) {
    r.fail(Codes.MissingField, path, "rewrite must specify uri, uriRegexRewrite or authority");
  }
  return rw;
}

const UNSUPPORTED_HTTP = ["mirror", "mirrors", "mirrorPercentage", "mirrorPercent", "fault", "retries", "corsPolicy", "delegate"];

function decodeHTTPRoute(r: Reader, o: Obj, path: string): HTTPRoute {
  const red = obj(r, o, "redirect", path);
  const dr = obj(r, o, "directResponse", path);
  const rw = obj(r, o, "rewrite", path);
  const route: HTTPRoute = {
    name: str(r, o, "name", path),
    match: objList(r, o, "match", path, (m, p) => decodeMatch(r, m, p)),
    route: objList(r, o, "route", path, (d, p) => decodeHTTPDestination(r, d, p)),
    redirect: red === null ? null : decodeRedirect(r, red, join(path, "redirect")),
    directResponse: dr === null ? null : decodeDirectResponse(r, dr, join(path, "directResponse")),
    rewrite: rw === null ? null : decodeRewrite(r, rw, join(path, "rewrite")),
    timeoutMs: 0,
    headers: decodeHeaders(r, o, path),
    unsupported: UNSUPPORTED_HTTP.filter((k) => o[k] !== undefined && o[k] !== null),
  };
  const t = str(r, o, "timeout", path);
  if (t !== "") {
    const ms = parseDuration(t);
    if (ms === null) r.fail(Codes.InvalidDuration, join(path, "timeout"), `invalid duration ${JSON.stringify(t)} (like 1.5s, 500ms, 1m)`);
    else route.timeoutMs = ms;
  }
  const actions = [route.route.length > 0 && "route", route.redirect && "redirect", route.directResponse && "directResponse"].filter(Boolean);
  if (actions.length > 1) r.fail(Codes.Conflict, path, `HTTP route cannot contain both ${actions.join(" and ")}`);
  if (actions.length === 0) r.fail(Codes.MissingField, path, "HTTP route, redirect or directResponse is required");
  if (route.rewrite !== null && (route.redirect !== null || route.directResponse !== null)) {
    r.fail(Codes.Conflict, path, "HTTP route cannot contain both rewrite and redirect/directResponse");
  }
  if (route.route.length > 1 && route.route.every((d) => d.weight === 0)) {
    r.fail(Codes.InvalidValue, join(path, "route"), "total destination weight = 0");
  }
  return route;
}

function decodeL4Match(r: Reader, o: Obj, path: string, tls: boolean): L4MatchAttributes {
  return {
    port: port(r, o, "port", path),
    gateways: strList(r, o, "gateways", path),
    sourceLabels: strMap(r, o, "sourceLabels", path),
    sniHosts: tls ? strList(r, o, "sniHosts", path, true).map((h) => h.toLowerCase()) : [],
  };
}

function decodeL4Route(r: Reader, o: Obj, path: string, tls: boolean): L4Route {
  const route = objList(r, o, "route", path, (d, p): RouteDestination => {
    const dest = obj(r, d, "destination", p, true);
    return {
      destination: dest === null ? { host: "", subset: "", port: 0 } : decodeDestination(r, dest, join(p, "destination")),
      weight: int(r, d, "weight", p, 0, 0x7fffffff),
    };
  }, true);
  return { match: objList(r, o, "match", path, (m, p) => decodeL4Match(r, m, p, tls), tls), route };
}

/** VirtualService hosts: `*`, `*.suffix`, a name, or a short name; lower-cased. */
const VS_HOST = /^(\*|(\*\.)?[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?(\.[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)*\.?)$/;

export function decodeVirtualService(r: Reader, spec: Obj): VirtualServiceSpec {
  const hosts = strList(r, spec, "hosts", "spec", true).map((h) => h.toLowerCase());
  hosts.forEach((h, i) => {
    if (!VS_HOST.test(h)) r.fail(Codes.InvalidValue, `spec.hosts[${i}]`, `invalid host ${JSON.stringify(h)}`);
  });
  const gateways = strList(r, spec, "gateways", "spec");
  gateways.forEach((g, i) => {
    if (!/^([a-z0-9.-]+\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(g)) {
      r.fail(Codes.InvalidValue, `spec.gateways[${i}]`, `invalid gateway name ${JSON.stringify(g)} (name or namespace/name)`);
    }
  });
  return {
    hosts,
    gateways,
    http: objList(r, spec, "http", "spec", (o, p) => decodeHTTPRoute(r, o, p)),
    tcp: objList(r, spec, "tcp", "spec", (o, p) => decodeL4Route(r, o, p, false)),
    tls: objList(r, spec, "tls", "spec", (o, p) => decodeL4Route(r, o, p, true)),
    exportTo: strList(r, spec, "exportTo", "spec"),
  };
}

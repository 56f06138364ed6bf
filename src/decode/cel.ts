// The CEL rules (`x-kubernetes-validations`) of the CRDs gangway reads that no
// decoder checks otherwise, written out in JS: the API server refuses an object
// breaking one, so gangway refuses it too, with the CRD's message and the field.
// The generated schema validators do not evaluate CEL (src/validate/convert.ts);
// the decoders carry Istio's own validation, which covers many rules already.
//
// Each rule reads `self` as the API server sees it: after the schema's defaults
// (a backendRef's kind `Service`, a listener's tls mode `Terminate`, a path
// match `PathPrefix /`), and an absent field never breaks a rule. Where the API
// server's verdict is not certain (an empty list that `has()` may or may not
// see), the object is admitted: never refuse what the API server would admit.
// Every rule here has a violating and a valid row in test/unit/cel-rules.test.ts;
// bench/cel-audit.ts lists the CRDs' rules and which check covers each.
import { isIP } from "node:net";
import { Codes, type Code } from "../model/codes.ts";
import { parseDuration } from "./duration.ts";
import { isObj, type Obj, type Reader } from "./read.ts";

/** A rule's verdict: true, or false (broken at the rule's field), or the broken part below it (`[1]`, `.addresses`). */
type Verdict = boolean | string;

export type CelRule = {
  /** `group/Kind` */
  kind: string;
  /** The served versions carrying the rule; all when absent. */
  versions?: readonly string[];
  /** Where `self` is: `spec.rules[*].filters`, `spec.ports{*}` (each value of a map). */
  paths: readonly string[];
  message: string;
  code: Code;
  check: (self: any) => Verdict;
};

const has = (v: unknown): boolean => v !== undefined && v !== null;
/** A list or string the API server's `has()` surely sees: present and not empty. */
const given = (v: unknown): boolean => has(v) && !((Array.isArray(v) || typeof v === "string") && v.length === 0);
const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** CEL's `duration(self)` in ms (Go's time.ParseDuration: an optional sign); null when it does not parse. */
export function celDuration(text: string): number | null {
  const neg = text.startsWith("-");
  const body = neg || text.startsWith("+") ? text.slice(1) : text;
  if (body !== body.trim()) return null;
  const ms = parseDuration(body);
  return ms === null ? null : neg ? -ms : ms;
}

const atLeast1ms = (self: unknown): Verdict => {
  if (typeof self !== "string") return true; // the schema's type check
  const ms = celDuration(self);
  return ms !== null && ms >= 1;
};

/** The index of the first element whose key another element before it has; -1 when none. */
function firstRepeat<T>(items: readonly T[], key: (x: T) => string | null): number {
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    const k = key(items[i]!);
    if (k === null) continue;
    if (seen.has(k)) return i;
    seen.add(k);
  }
  return -1;
}
const at = (i: number): Verdict => (i < 0 ? true : `[${i}]`);

// ---- Istio

const ISTIO = "networking.istio.io";
const SECURITY = "security.istio.io";

const TRAFFIC_POLICY_DURATIONS = [
  "connectionPool.http.http2KeepAlive.interval", "connectionPool.http.http2KeepAlive.timeout", "connectionPool.http.idleTimeout",
  "connectionPool.tcp.connectTimeout", "connectionPool.tcp.maxConnectionDuration", "connectionPool.tcp.tcpKeepalive.interval",
  "connectionPool.tcp.tcpKeepalive.time", "loadBalancer.warmup.duration", "loadBalancer.warmupDurationSecs",
  "outlierDetection.baseEjectionTime", "outlierDetection.interval",
];
const DR_DURATIONS = ["spec.trafficPolicy", "spec.trafficPolicy.portLevelSettings[*]", "spec.subsets[*].trafficPolicy", "spec.subsets[*].trafficPolicy.portLevelSettings[*]"]
  .flatMap((tp) => TRAFFIC_POLICY_DURATIONS.map((d) => `${tp}.${d}`));

const keysOf = (self: unknown): string[] => (isObj(self) ? Object.keys(self) : []);
const PORT_NAME = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const udsAbsolute = (a: unknown): Verdict => !str(a).startsWith("unix://") || ["/", "@"].includes(str(a).slice(7, 8));
const udsNotDir = (a: unknown): Verdict => !str(a).startsWith("unix://") || !str(a).endsWith("/");
const udsNoPorts = (self: Obj): Verdict => !(str(self.address).startsWith("unix://") && has(self.ports)) || ".ports";

function selectorRules(kind: string, path: string): CelRule[] {
  return [
    { kind, paths: [path], code: Codes.InvalidValue, message: "wildcard not allowed in label key match", check: (s) => keysOf(s).every((k) => !k.includes("*")) },
    { kind, paths: [path], code: Codes.InvalidValue, message: "key must not be empty", check: (s) => keysOf(s).every((k) => k.length !== 0) },
    { kind, paths: [`${path}{*}`], code: Codes.InvalidValue, message: "wildcard not allowed in label value match", check: (s) => !str(s).includes("*") },
  ];
}

const ISTIO_RULES: CelRule[] = [
  { kind: `${ISTIO}/DestinationRule`, paths: DR_DURATIONS, code: Codes.InvalidDuration, message: "must be a valid duration greater than 1ms", check: atLeast1ms },
  { kind: `${ISTIO}/VirtualService`, paths: ["spec.http[*].timeout"], code: Codes.InvalidDuration, message: "must be a valid duration greater than 1ms", check: atLeast1ms },
  { kind: `${SECURITY}/RequestAuthentication`, paths: ["spec.jwtRules[*].timeout"], code: Codes.InvalidDuration, message: "must be a valid duration greater than 1ms", check: atLeast1ms },
  ...selectorRules(`${ISTIO}/DestinationRule`, "spec.workloadSelector.matchLabels"),
  ...selectorRules(`${SECURITY}/AuthorizationPolicy`, "spec.selector.matchLabels"),
  ...selectorRules(`${SECURITY}/RequestAuthentication`, "spec.selector.matchLabels"),
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec.workloadSelector.labels{*}"], code: Codes.InvalidValue, message: "wildcard is not supported in selector", check: (s) => !str(s).includes("*") },
  {
    kind: `${ISTIO}/ServiceEntry`, paths: ["spec"], code: Codes.InvalidValue, message: "CIDR addresses are allowed only for NONE/STATIC resolution types",
    check: (s) => !(list(s.addresses).some((a) => str(a).includes("/")) && !["STATIC", "NONE"].includes(s.resolution ?? "NONE")) || ".addresses",
  },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec"], code: Codes.InvalidValue, message: "NONE mode cannot set endpoints", check: (s) => (s.resolution ?? "NONE") !== "NONE" || !given(s.endpoints) || ".endpoints" },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec"], code: Codes.InvalidValue, message: "DNS_ROUND_ROBIN mode cannot have multiple endpoints", check: (s) => s.resolution !== "DNS_ROUND_ROBIN" || list(s.endpoints).length <= 1 || ".endpoints" },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec.endpoints[*]"], code: Codes.InvalidValue, message: "UDS may not include ports", check: udsNoPorts },
  { kind: `${ISTIO}/WorkloadEntry`, paths: ["spec"], code: Codes.InvalidValue, message: "UDS may not include ports", check: udsNoPorts },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec.endpoints[*].address"], code: Codes.InvalidValue, message: "UDS must be an absolute path or abstract socket", check: udsAbsolute },
  { kind: `${ISTIO}/WorkloadEntry`, paths: ["spec.address"], code: Codes.InvalidValue, message: "UDS must be an absolute path or abstract socket", check: udsAbsolute },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec.endpoints[*].address"], code: Codes.InvalidValue, message: "UDS may not be a dir", check: udsNotDir },
  { kind: `${ISTIO}/WorkloadEntry`, paths: ["spec.address"], code: Codes.InvalidValue, message: "UDS may not be a dir", check: udsNotDir },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec.endpoints[*].ports"], code: Codes.InvalidValue, message: "port name must be valid", check: (s) => keysOf(s).every((k) => k.length < 63 && PORT_NAME.test(k)) },
  { kind: `${ISTIO}/WorkloadEntry`, paths: ["spec.ports"], code: Codes.InvalidValue, message: "port name must be valid", check: (s) => keysOf(s).every((k) => k.length < 63 && PORT_NAME.test(k)) },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec.hosts[*]"], code: Codes.InvalidValue, message: "hostname cannot be wildcard", check: (s) => s !== "*" },
  { kind: `${ISTIO}/ServiceEntry`, paths: ["spec.ports"], code: Codes.InvalidValue, message: "port number cannot be duplicated", check: (s) => at(firstRepeat(list(s), (p) => (isObj(p) && typeof p.number === "number" ? String(p.number) : null))) },
  {
    kind: `${SECURITY}/AuthorizationPolicy`, paths: ["spec.rules[*].from[*].source"], code: Codes.Conflict, message: "Cannot set serviceAccounts with namespaces or principals",
    check: (s) => !(given(s.serviceAccounts) || given(s.notServiceAccounts)) || (!given(s.principals) && !given(s.notPrincipals) && !given(s.namespaces) && !given(s.notNamespaces)),
  },
  ...[`${SECURITY}/AuthorizationPolicy`, `${SECURITY}/RequestAuthentication`].map((kind): CelRule => ({
    kind, paths: ["spec.targetRef.namespace", "spec.targetRefs[*].namespace"], code: Codes.InvalidValue, message: "cross namespace referencing is not currently supported", check: (s) => str(s).length === 0,
  })),
];

// ---- Gateway API

const GW = "gateway.networking.k8s.io";
const GROUP_DEFAULT = GW;

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;

function listenerRules(kind: string): CelRule[] {
  const p = ["spec.listeners"];
  const L = (s: unknown) => list(s).filter(isObj);
  const gatewayOnly = kind === `${GW}/Gateway`;
  return [
    { kind, paths: p, code: Codes.InvalidValue, message: "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']", check: (s) => at(L(s).findIndex((l) => ["HTTP", "TCP", "UDP"].includes(str(l.protocol)) && has(l.tls))) },
    { kind, paths: p, code: Codes.InvalidValue, message: "tls mode must be Terminate for protocol HTTPS", check: (s) => at(L(s).findIndex((l) => l.protocol === "HTTPS" && isObj(l.tls) && !["", "Terminate", undefined, null].includes(l.tls.mode as string))) },
    // the mode defaults to Terminate once tls is written
    { kind, paths: p, code: Codes.MissingField, message: "tls mode must be set for protocol TLS", check: (s) => at(L(s).findIndex((l) => l.protocol === "TLS" && (!isObj(l.tls) || l.tls.mode === ""))) },
    { kind, paths: p, code: Codes.InvalidValue, message: "hostname must not be specified for protocols ['TCP', 'UDP']", check: (s) => at(L(s).findIndex((l) => ["TCP", "UDP"].includes(str(l.protocol)) && has(l.hostname) && l.hostname !== "")) },
    { kind, paths: p, code: Codes.InvalidValue, message: "Listener name must be unique within the Gateway", check: (s) => at(firstRepeat(L(s), (l) => (typeof l.name === "string" ? l.name : null))) },
    {
      kind, paths: p, code: Codes.InvalidValue, message: "Combination of port, protocol and hostname must be unique for each listener",
      check: (s) => at(firstRepeat(L(s), (l) => (!gatewayOnly && !has(l.port) ? null : JSON.stringify([l.port, l.protocol, has(l.hostname) ? l.hostname : null])))),
    },
    {
      kind, paths: ["spec.listeners[*].tls"], code: Codes.MissingField, message: "certificateRefs or options must be specified when mode is Terminate",
      check: (s) => (s.mode ?? "Terminate") !== "Terminate" || list(s.certificateRefs).length > 0 || (isObj(s.options) && Object.keys(s.options).length > 0),
    },
  ];
}

/** A parentRef's identity with the defaults and CEL's "absent or empty" equivalences. */
const parentKey = (p: Obj, withSection: boolean) =>
  JSON.stringify([p.group ?? GROUP_DEFAULT, p.kind ?? "Gateway", p.name, str(p.namespace), ...(withSection ? [str(p.sectionName), typeof p.port === "number" ? p.port : 0] : [])]);

function routeRules(kind: string, versions?: readonly string[]): CelRule[] {
  const v = versions === undefined ? {} : { versions };
  return [
    {
      kind, ...v, paths: ["spec.parentRefs"], code: Codes.MissingField, message: "sectionName or port must be specified when parentRefs includes 2 or more references to the same parent",
      check: (s) => {
        const ps = list(s).filter(isObj);
        const shape = new Map<string, string>();
        for (let i = 0; i < ps.length; i++) {
          const p = ps[i]!;
          const k = parentKey(p, false);
          const form = `${str(p.sectionName) === ""}/${typeof p.port !== "number" || p.port === 0}`;
          if (shape.has(k) && shape.get(k) !== form) return `[${i}]`;
          shape.set(k, form);
        }
        return true;
      },
    },
    { kind, ...v, paths: ["spec.parentRefs"], code: Codes.InvalidValue, message: "sectionName or port must be unique when parentRefs includes 2 or more references to the same parent", check: (s) => at(firstRepeat(list(s).filter(isObj), (p) => parentKey(p, true))) },
    { kind, ...v, paths: ["spec.rules[*].backendRefs[*]"], code: Codes.MissingField, message: "Must have port for Service reference", check: serviceRefPort },
  ];
}

function serviceRefPort(s: Obj): Verdict {
  return !(str(s.group).length === 0 && (s.kind ?? "Service") === "Service") || has(s.port) || ".port";
}

const ruleNames = (kind: string, versions?: readonly string[]): CelRule => ({
  kind, ...(versions === undefined ? {} : { versions }), paths: ["spec.rules"], code: Codes.InvalidValue, message: "Rule name must be unique within the route",
  check: (s) => at(firstRepeat(list(s).filter(isObj), (r) => (typeof r.name === "string" ? r.name : null))),
});

const FILTER_FIELD: Record<string, string> = {
  CORS: "cors", RequestHeaderModifier: "requestHeaderModifier", ResponseHeaderModifier: "responseHeaderModifier", RequestMirror: "requestMirror",
  RequestRedirect: "requestRedirect", URLRewrite: "urlRewrite", ExtensionRef: "extensionRef", ExternalAuth: "externalAuth",
};

/** The rules of a list of filters and of each filter (at `path`: `...filters`), for the filter types the kind has. */
function filterRules(kind: string, path: string, types: readonly string[], repeatable: readonly string[]): CelRule[] {
  const out: CelRule[] = [];
  for (const t of types.filter((x) => !repeatable.includes(x))) {
    out.push({ kind, paths: [path], code: Codes.InvalidValue, message: `${t} filter cannot be repeated`, check: (s) => at(list(s).findIndex((f, i) => isObj(f) && f.type === t && list(s).slice(0, i).some((g) => isObj(g) && g.type === t))) });
  }
  for (const t of types) {
    const field = FILTER_FIELD[t]!;
    out.push({ kind, paths: [`${path}[*]`], code: Codes.InvalidValue, message: `filter.${field} must be nil if the filter.type is not ${t}`, check: (s) => !(has(s[field]) && s.type !== t) || `.${field}` });
    out.push({ kind, paths: [`${path}[*]`], code: Codes.MissingField, message: `filter.${field} must be specified for ${t} filter.type`, check: (s) => !(!has(s[field]) && s.type === t) || `.${field}` });
  }
  out.push({ kind, paths: [`${path}[*].requestMirror`], code: Codes.Conflict, message: "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter", check: (s) => !(has(s.percent) && has(s.fraction)) });
  out.push({ kind, paths: [`${path}[*].requestMirror.backendRef`], code: Codes.MissingField, message: "Must have port for Service reference", check: serviceRefPort });
  return out;
}

const HTTP_FILTERS = ["CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef", "ExternalAuth"];
const GRPC_FILTERS = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef"];

function httpFilterRules(path: string): CelRule[] {
  const kind = `${GW}/HTTPRoute`;
  const star = (what: string): CelRule => ({
    kind, paths: [`${path}[*].cors.allow${what}`], code: Codes.InvalidValue, message: `Allow${what} cannot contain '*' alongside other ${what === "Origins" ? "origins" : "methods"}`,
    check: (s) => !(list(s).includes("*") && list(s).length > 1),
  });
  const pathMod = (f: string): CelRule[] => [
    { kind, paths: [`${path}[*].${f}.path`], code: Codes.MissingField, message: "replaceFullPath must be specified when type is set to 'ReplaceFullPath'", check: (s) => s.type !== "ReplaceFullPath" || has(s.replaceFullPath) },
    { kind, paths: [`${path}[*].${f}.path`], code: Codes.InvalidValue, message: "type must be 'ReplaceFullPath' when replaceFullPath is set", check: (s) => !has(s.replaceFullPath) || s.type === "ReplaceFullPath" },
    { kind, paths: [`${path}[*].${f}.path`], code: Codes.MissingField, message: "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'", check: (s) => s.type !== "ReplacePrefixMatch" || has(s.replacePrefixMatch) },
    { kind, paths: [`${path}[*].${f}.path`], code: Codes.InvalidValue, message: "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set", check: (s) => !has(s.replacePrefixMatch) || s.type === "ReplacePrefixMatch" },
  ];
  const ea = `${path}[*].externalAuth`;
  return [
    ...filterRules(kind, path, HTTP_FILTERS, ["ExtensionRef", "RequestMirror", "ExternalAuth"]),
    { kind, paths: [path], code: Codes.Conflict, message: "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both", check: (s) => !(list(s).some((f) => isObj(f) && f.type === "RequestRedirect") && list(s).some((f) => isObj(f) && f.type === "URLRewrite")) },
    star("Headers"), star("Methods"), star("Origins"),
    { kind, paths: [ea], code: Codes.MissingField, message: "grpc must be specified when protocol is set to 'GRPC'", check: (s) => s.protocol !== "GRPC" || has(s.grpc) },
    { kind, paths: [ea], code: Codes.InvalidValue, message: "protocol must be 'GRPC' when grpc is set", check: (s) => !has(s.grpc) || s.protocol === "GRPC" },
    { kind, paths: [ea], code: Codes.MissingField, message: "http must be specified when protocol is set to 'HTTP'", check: (s) => s.protocol !== "HTTP" || has(s.http) },
    { kind, paths: [ea], code: Codes.InvalidValue, message: "protocol must be 'HTTP' when http is set", check: (s) => !has(s.http) || s.protocol === "HTTP" },
    { kind, paths: [`${ea}.backendRef`], code: Codes.MissingField, message: "Must have port for Service reference", check: serviceRefPort },
    ...pathMod("requestRedirect"), ...pathMod("urlRewrite"),
  ];
}

const sessionRules = (kind: string): CelRule[] => [
  {
    kind, paths: ["spec.rules[*].sessionPersistence"], code: Codes.MissingField, message: "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent",
    check: (s) => !isObj(s.cookieConfig) || s.cookieConfig.lifetimeType !== "Permanent" || has(s.absoluteTimeout),
  },
  { kind, paths: ["spec.rules[*].sessionPersistence"], code: Codes.InvalidValue, message: "cookieConfig can only be set with type Cookie", check: (s) => !has(s.cookieConfig) || (s.type ?? "Cookie") === "Cookie" },
];

/** Total matches of the first 16 rules; `defaultOne`: a rule without matches has the default one (HTTPRoute). */
const matchTotal = (kind: string, defaultOne: boolean): CelRule => ({
  kind, paths: ["spec.rules"], code: Codes.InvalidValue, message: "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128",
  check: (s) => list(s).slice(0, 16).reduce((n: number, r) => n + (isObj(r) && Array.isArray(r.matches) ? r.matches.length : defaultOne ? 1 : 0), 0) <= 128,
});

/** The one PathPrefix match a ReplacePrefixMatch needs (the default match when none is written). */
function onePrefixMatch(rule: Obj): boolean {
  if (!has(rule.matches)) return true;
  const ms = list(rule.matches);
  if (ms.length === 0) return true; // `matches: []`: the API server's verdict is not certain; admitted
  if (ms.length !== 1 || !isObj(ms[0])) return false;
  const p = ms[0].path;
  return !isObj(p) || (p.type ?? "PathPrefix") === "PathPrefix";
}
const replacesPrefix = (f: unknown, key: string) => isObj(f) && isObj(f[key]) && isObj(f[key].path) && f[key].path.type === "ReplacePrefixMatch" && has(f[key].path.replacePrefixMatch);
const exactlyOne = <T>(xs: readonly T[], p: (x: T) => boolean) => xs.filter(p).length === 1;

const ABS_PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const pathValue = (s: Obj): string | null => ((s.type ?? "PathPrefix") === "Exact" || (s.type ?? "PathPrefix") === "PathPrefix" ? (typeof s.value === "string" ? s.value : null) : null);
const pathRule = (message: string, bad: (v: string) => boolean): CelRule => ({
  kind: `${GW}/HTTPRoute`, paths: ["spec.rules[*].matches[*].path"], code: Codes.InvalidValue, message, check: (s) => { const v = pathValue(s); return v === null || !bad(v) || ".value"; },
});

const HTTP_RULE = "spec.rules[*]";

const GATEWAY_API_RULES: CelRule[] = [
  ...[["annotations", "Annotation"], ["labels", "Label"]].flatMap(([f, w]): CelRule[] => [
    { kind: `${GW}/Gateway`, paths: [`spec.infrastructure.${f}`], code: Codes.InvalidValue, message: `${w} keys must be in the form of an optional DNS subdomain prefix followed by a required name segment of up to 63 characters.`, check: (s) => keysOf(s).every((k) => KEY.test(k)) },
    { kind: `${GW}/Gateway`, paths: [`spec.infrastructure.${f}`], code: Codes.InvalidValue, message: `If specified, the ${w!.toLowerCase()} key's prefix must be a DNS subdomain not longer than 253 characters in total.`, check: (s) => keysOf(s).every((k) => k.split("/")[0]!.length < 253) },
  ]),
  ...listenerRules(`${GW}/Gateway`),
  ...listenerRules(`${GW}/ListenerSet`),
  ...routeRules(`${GW}/HTTPRoute`), ...routeRules(`${GW}/GRPCRoute`), ...routeRules(`${GW}/TLSRoute`, ["v1alpha2", "v1alpha3", "v1"]), ...routeRules(`${GW}/TCPRoute`, ["v1alpha2", "v1"]),
  ruleNames(`${GW}/HTTPRoute`), ruleNames(`${GW}/GRPCRoute`), ruleNames(`${GW}/TLSRoute`, ["v1alpha2"]), ruleNames(`${GW}/TCPRoute`, ["v1alpha2"]),
  matchTotal(`${GW}/HTTPRoute`, true), matchTotal(`${GW}/GRPCRoute`, false),
  ...sessionRules(`${GW}/HTTPRoute`), ...sessionRules(`${GW}/GRPCRoute`),
  ...httpFilterRules("spec.rules[*].filters"), ...httpFilterRules("spec.rules[*].backendRefs[*].filters"),
  ...filterRules(`${GW}/GRPCRoute`, "spec.rules[*].filters", GRPC_FILTERS, ["ExtensionRef", "RequestMirror"]),
  ...filterRules(`${GW}/GRPCRoute`, "spec.rules[*].backendRefs[*].filters", GRPC_FILTERS, ["ExtensionRef", "RequestMirror"]),
  {
    kind: `${GW}/HTTPRoute`, paths: [HTTP_RULE], code: Codes.Conflict, message: "RequestRedirect filter must not be used together with backendRefs",
    check: (s) => !(list(s.backendRefs).length > 0 && list(s.filters).some((f) => isObj(f) && has(f.requestRedirect))) || ".filters",
  },
  ...(
    [
      ["requestRedirect", "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified", false],
      ["urlRewrite", "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified", false],
      ["requestRedirect", "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified", true],
      ["urlRewrite", "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified", true],
    ] as const
  ).map(([key, message, inBackends]): CelRule => ({
    kind: `${GW}/HTTPRoute`, paths: [HTTP_RULE], code: Codes.InvalidValue, message,
    check: (s) => {
      const uses = inBackends
        ? exactlyOne(list(s.backendRefs), (b) => isObj(b) && exactlyOne(list(b.filters), (f) => replacesPrefix(f, key)))
        : exactlyOne(list(s.filters), (f) => replacesPrefix(f, key));
      return !uses || onePrefixMatch(s) || ".matches";
    },
  })),
  pathRule("must not contain '//' when type one of ['Exact', 'PathPrefix']", (v) => v.includes("//")),
  pathRule("must not contain '/./' when type one of ['Exact', 'PathPrefix']", (v) => v.includes("/./")),
  pathRule("must not contain '/../' when type one of ['Exact', 'PathPrefix']", (v) => v.includes("/../")),
  pathRule("must not contain '%2f' when type one of ['Exact', 'PathPrefix']", (v) => v.includes("%2f")),
  pathRule("must not contain '%2F' when type one of ['Exact', 'PathPrefix']", (v) => v.includes("%2F")),
  pathRule("must not contain '#' when type one of ['Exact', 'PathPrefix']", (v) => v.includes("#")),
  pathRule("must not end with '/..' when type one of ['Exact', 'PathPrefix']", (v) => v.endsWith("/..")),
  pathRule("must not end with '/.' when type one of ['Exact', 'PathPrefix']", (v) => v.endsWith("/.")),
  pathRule(`must only contain valid characters (matching ${ABS_PATH_CHARS.source}) for types ['Exact', 'PathPrefix']`, (v) => !ABS_PATH_CHARS.test(v)),
  {
    kind: `${GW}/HTTPRoute`, paths: ["spec.rules[*].timeouts"], code: Codes.InvalidValue, message: "backendRequest timeout cannot be longer than request timeout",
    check: (s) => {
      if (typeof s.request !== "string" || typeof s.backendRequest !== "string") return true;
      const [req, be] = [parseDuration(s.request), parseDuration(s.backendRequest)];
      return req === null || be === null || req === 0 || be <= req || ".backendRequest";
    },
  },
  // TLSRoute hostnames (v1alpha3, v1); the schema's pattern covers the rules on their characters and wildcards
  {
    kind: `${GW}/TLSRoute`, versions: ["v1alpha3", "v1"], paths: ["spec.hostnames"], code: Codes.InvalidValue, message: "Hostnames cannot contain an IP",
    check: (s) => at(list(s).findIndex((h) => typeof h === "string" && isIP(h) !== 0)),
  },
  // BackendTLSPolicy
  {
    kind: `${GW}/BackendTLSPolicy`, paths: ["spec.targetRefs"], code: Codes.MissingField, message: "sectionName must be specified when targetRefs includes 2 or more references to the same target",
    check: (s) => {
      const ts = list(s).filter(isObj);
      const form = new Map<string, boolean>();
      for (let i = 0; i < ts.length; i++) {
        const k = JSON.stringify([ts[i]!.group, ts[i]!.kind, ts[i]!.name]);
        const none = str(ts[i]!.sectionName) === "";
        if (form.has(k) && form.get(k) !== none) return `[${i}]`;
        form.set(k, none);
      }
      return true;
    },
  },
  {
    kind: `${GW}/BackendTLSPolicy`, paths: ["spec.targetRefs"], code: Codes.InvalidValue, message: "sectionName must be unique when targetRefs includes 2 or more references to the same target",
    check: (s) => at(firstRepeat(list(s).filter(isObj), (t) => JSON.stringify([t.group, t.kind, t.name, str(t.sectionName)]))),
  },
  {
    kind: `${GW}/BackendTLSPolicy`, paths: ["spec.validation"], code: Codes.Conflict, message: "must not contain both CACertificateRefs and WellKnownCACertificates",
    check: (s) => !(list(s.caCertificateRefs).length > 0 && str(s.wellKnownCACertificates) !== ""),
  },
  {
    kind: `${GW}/BackendTLSPolicy`, paths: ["spec.validation"], code: Codes.MissingField, message: "must specify either CACertificateRefs or WellKnownCACertificates",
    check: (s) => list(s.caCertificateRefs).length > 0 || str(s.wellKnownCACertificates) !== "",
  },
  ...(
    [
      ["must contain Hostname, if Type is set to Hostname", (s: Obj) => !(s.type === "Hostname" && str(s.hostname) === "")],
      ["must not contain Hostname, if Type is not set to Hostname", (s: Obj) => !(s.type !== "Hostname" && str(s.hostname) !== "")],
      ["must contain URI, if Type is set to URI", (s: Obj) => !(s.type === "URI" && str(s.uri) === "")],
      ["must not contain URI, if Type is not set to URI", (s: Obj) => !(s.type !== "URI" && str(s.uri) !== "")],
    ] as const
  ).map(([m, ok]): CelRule => ({ kind: `${GW}/BackendTLSPolicy`, paths: ["spec.validation.subjectAltNames[*]"], code: Codes.InvalidValue, message: `SubjectAltName element ${m}`, check: ok })),
];

export const CEL_RULES: readonly CelRule[] = [...ISTIO_RULES, ...GATEWAY_API_RULES];

type Compiled = { rule: CelRule; steps: (string | "[*]" | "{*}")[] };
const BY_KIND = new Map<string, Compiled[]>();
for (const rule of CEL_RULES) {
  for (const path of rule.paths) {
    const steps: Compiled["steps"] = [];
    for (const part of path.split(".")) {
      const m = /^([^[{]+)((?:\[\*\]|\{\*\})*)$/.exec(part)!;
      steps.push(m[1]!);
      for (const s of m[2]!.match(/\[\*\]|\{\*\}/g) ?? []) steps.push(s as "[*]" | "{*}");
    }
    const list = BY_KIND.get(rule.kind) ?? [];
    list.push({ rule, steps });
    BY_KIND.set(rule.kind, list);
  }
}

/** Calls `visit` with each value at `steps` below `v` (present, not null) and its field path. */
function walk(v: unknown, steps: Compiled["steps"], i: number, path: string, visit: (self: unknown, path: string) => void): void {
  if (v === undefined || v === null) return;
  if (i === steps.length) {
    visit(v, path);
    return;
  }
  const s = steps[i]!;
  if (s === "[*]") {
    if (Array.isArray(v)) v.forEach((x, j) => walk(x, steps, i + 1, `${path}[${j}]`, visit));
  } else if (s === "{*}") {
    if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, steps, i + 1, `${path}.${k}`, visit);
  } else if (isObj(v)) walk(v[s], steps, i + 1, path === "" ? s : `${path}.${s}`, visit);
}

/**
 * The CEL rules of the document's kind and version: each one broken is an Error at
 * its field with the CRD's message, unless an Error of the document (`from` on)
 * already names that field or one around or below it.
 */
export function checkCelRules(r: Reader, doc: Obj, apiVersion: string, kind: string, from: number): void {
  const slash = apiVersion.lastIndexOf("/");
  const rules = BY_KIND.get(`${apiVersion.slice(0, slash)}/${kind}`);
  if (rules === undefined) return;
  const version = apiVersion.slice(slash + 1);
  const prior = r.errors.slice(from).map((e) => e.field ?? "");
  const pre = r.prefix === "" ? "" : `${r.prefix}.`;
  const overlaps = (field: string) => prior.some((p) => p === field || p.startsWith(`${field}.`) || p.startsWith(`${field}[`) || field.startsWith(`${p}.`) || field.startsWith(`${p}[`));
  for (const { rule, steps } of rules) {
    if (rule.versions !== undefined && !rule.versions.includes(version)) continue;
    walk(doc, steps, 0, "", (self, path) => {
      let verdict: Verdict;
      try {
        verdict = rule.check(self);
      } catch {
        verdict = true; // a shape the schema already refuses
      }
      if (verdict === true) return;
      const field = typeof verdict === "string" ? `${path}${verdict}` : path;
      if (overlaps(pre + field) || overlaps(pre + path)) return;
      r.fail(rule.code, field, rule.message);
    });
  }
}

// RequestAuthentication and AuthorizationPolicy (security.istio.io), checked as
// Istio's validation webhook checks them: what the API server would refuse is
// a decode Error; what gangway reads but cannot apply goes to `unsupported`
// (compile reports it and fails closed).
import { Codes } from "../model/codes.ts";
import type {
  AuthorizationAction,
  AuthorizationPolicySpec,
  ConditionSpec,
  JWTRule,
  OperationSpec,
  PolicyScope,
  PolicyTargetRef,
  RequestAuthenticationSpec,
  RuleSpec,
  SourceSpec,
  Unsupported,
  ValuesPair,
} from "../model/security.ts";
import { parseCidr } from "../security/cidr.ts";
import { pathTemplateProblem } from "../security/matchers.ts";
import { parseTimerDuration } from "./duration.ts";
import { bool, isObj, join, obj, objList, oneOf, str, strList, strMap, type Obj, type Reader } from "./read.ts";

const ACTIONS: readonly AuthorizationAction[] = ["ALLOW", "DENY", "AUDIT", "CUSTOM"];

/** `when` keys Istio knows; `[name]` keys by prefix. */
const WHEN_KEYS = new Set([
  "source.ip",
  "remote.ip",
  "source.namespace",
  "source.serviceAccount",
  "source.trustDomain",
  "source.principal",
  "request.auth.principal",
  "request.auth.audiences",
  "request.auth.presenter",
  "destination.ip",
  "destination.port",
  "connection.sni",
]);
const BRACKETED = /^(request\.headers|request\.auth\.claims)(\[[^\[\]]+\])+$/;

function decodeTargetRef(r: Reader, o: Obj, path: string): PolicyTargetRef {
  return { group: str(r, o, "group", path), kind: str(r, o, "kind", path, true), name: str(r, o, "name", path, true), namespace: str(r, o, "namespace", path) };
}

export function decodeScope(r: Reader, spec: Obj): PolicyScope {
  const sel = obj(r, spec, "selector", "spec");
  const selector = sel === null ? null : strMap(r, sel, "matchLabels", "spec.selector");
  const targetRefs: PolicyTargetRef[] = [];
  const one = obj(r, spec, "targetRef", "spec");
  if (one !== null) targetRefs.push(decodeTargetRef(r, one, "spec.targetRef"));
  targetRefs.push(...objList(r, spec, "targetRefs", "spec", (o, p) => decodeTargetRef(r, o, p)));
  if (one !== null && spec.targetRefs !== undefined) r.fail(Codes.Conflict, "spec.targetRefs", "only one of targetRef and targetRefs may be given");
  if (sel !== null && targetRefs.length > 0) r.fail(Codes.Conflict, "spec.selector", "only one of selector and targetRef(s) may be given");
  return { selector, targetRefs };
}

// ---- RequestAuthentication -----------------------------------------------------

function decodeJWTRule(r: Reader, o: Obj, path: string, unsupported: Unsupported[]): JWTRule {
  const issuer = str(r, o, "issuer", path, true);
  // `jwks_uri`: the proto field's own name, which the CRD also lists and protojson reads as jwksUri
  const camel = str(r, o, "jwksUri", path);
  const snake = str(r, o, "jwks_uri", path);
  if (camel !== "" && snake !== "" && camel !== snake) r.fail(Codes.Conflict, join(path, "jwks_uri"), "jwksUri and jwks_uri are the same field: give one");
  const jwksUri = camel || snake;
  const jwks = str(r, o, "jwks", path);
  if (jwksUri !== "" && !/^https?:\/\/[^/]/i.test(jwksUri)) r.fail(Codes.InvalidValue, join(path, "jwksUri"), `must be an http or https URL, got ${JSON.stringify(jwksUri)}`);
  if (jwksUri !== "" && jwks !== "") r.fail(Codes.Conflict, join(path, "jwks"), "only one of jwks and jwksUri may be given");
  if (jwksUri === "" && jwks === "") {
    // Istio discovers the keys through `<issuer>/.well-known/openid-configuration`; gangway does not
    unsupported.push({ field: path, reason: "no jwks or jwksUri: OpenID discovery of the issuer's keys is not done by gangway" });
  }
  if (jwks !== "") {
    try {
      const v = JSON.parse(jwks);
      if (!isObj(v) || !Array.isArray(v.keys)) r.fail(Codes.InvalidValue, join(path, "jwks"), "must be a JWKS: a JSON object with a keys list");
    } catch {
      r.fail(Codes.InvalidValue, join(path, "jwks"), "is not JSON");
    }
  }
  const fromHeaders = objList(r, o, "fromHeaders", path, (h, p) => ({ name: str(r, h, "name", p, true).toLowerCase(), prefix: str(r, h, "prefix", p) }));
  const outputClaimToHeaders = objList(r, o, "outputClaimToHeaders", path, (h, p) => ({ header: str(r, h, "header", p, true).toLowerCase(), claim: str(r, h, "claim", p, true) }));
  let timeoutMs = 0;
  const t = str(r, o, "timeout", path);
  if (t !== "") {
    const ms = parseTimerDuration(t);
    if (ms === null) r.fail(Codes.InvalidDuration, join(path, "timeout"), `invalid duration ${JSON.stringify(t)}`);
    else timeoutMs = ms;
  }
  return {
    issuer,
    audiences: strList(r, o, "audiences", path),
    jwksUri,
    jwks,
    fromHeaders,
    fromParams: strList(r, o, "fromParams", path),
    fromCookies: strList(r, o, "fromCookies", path),
    outputPayloadToHeader: str(r, o, "outputPayloadToHeader", path).toLowerCase(),
    forwardOriginalToken: bool(r, o, "forwardOriginalToken", path),
    outputClaimToHeaders,
    timeoutMs,
    spaceDelimitedClaims: strList(r, o, "spaceDelimitedClaims", path),
  };
}

export function decodeRequestAuthentication(r: Reader, spec: Obj): RequestAuthenticationSpec {
  const scope = decodeScope(r, spec);
  const unsupported: Unsupported[] = [];
  const jwtRules = objList(r, spec, "jwtRules", "spec", (o, p) => decodeJWTRule(r, o, p, unsupported));
  const issuers = new Set<string>();
  jwtRules.forEach((j, i) => {
    if (issuers.has(j.issuer)) r.fail(Codes.Conflict, `spec.jwtRules[${i}].issuer`, `issuer ${JSON.stringify(j.issuer)} is given twice`);
    issuers.add(j.issuer);
  });
  return { ...scope, jwtRules, unsupported };
}

// ---- AuthorizationPolicy ---------------------------------------------------------

function pair(r: Reader, o: Obj, key: string, path: string, check?: (v: string, field: string) => void): ValuesPair {
  const notKey = "not" + key[0]!.toUpperCase() + key.slice(1);
  const values = strList(r, o, key, path);
  const notValues = strList(r, o, notKey, path);
  values.forEach((v, i) => (v === "" ? r.fail(Codes.InvalidValue, `${join(path, key)}[${i}]`, "must not be empty") : check?.(v, `${join(path, key)}[${i}]`)));
  notValues.forEach((v, i) => (v === "" ? r.fail(Codes.InvalidValue, `${join(path, notKey)}[${i}]`, "must not be empty") : check?.(v, `${join(path, notKey)}[${i}]`)));
  return { values, notValues };
}

function cidrCheck(r: Reader): (v: string, field: string) => void {
  return (v, field) => {
    if (parseCidr(v) === null) r.fail(Codes.InvalidValue, field, `invalid IP address or CIDR block ${JSON.stringify(v)}`);
  };
}

function portCheck(r: Reader): (v: string, field: string) => void {
  return (v, field) => {
    if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) r.fail(Codes.InvalidValue, field, `invalid port ${JSON.stringify(v)}`);
  };
}

function isEmptyPair(p: ValuesPair): boolean {
  return p.values.length === 0 && p.notValues.length === 0;
}

function decodeSource(r: Reader, o: Obj, path: string): SourceSpec {
  const s: SourceSpec = {
    principals: pair(r, o, "principals", path),
    requestPrincipals: pair(r, o, "requestPrincipals", path),
    namespaces: pair(r, o, "namespaces", path),
    serviceAccounts: pair(r, o, "serviceAccounts", path),
    trustDomains: pair(r, o, "trustDomains", path),
    ipBlocks: pair(r, o, "ipBlocks", path, cidrCheck(r)),
    remoteIpBlocks: pair(r, o, "remoteIpBlocks", path, cidrCheck(r)),
  };
  if (Object.values(s).every(isEmptyPair)) r.fail(Codes.MissingField, path, "source must not be empty");
  return s;
}

function decodeOperation(r: Reader, o: Obj, path: string): OperationSpec {
  const op: OperationSpec = {
    hosts: pair(r, o, "hosts", path),
    ports: pair(r, o, "ports", path, portCheck(r)),
    methods: pair(r, o, "methods", path),
    paths: pair(r, o, "paths", path, (v, field) => {
      const problem = pathTemplateProblem(v);
      if (problem !== "") r.fail(Codes.InvalidValue, field, `invalid or unsupported path ${JSON.stringify(v)}: ${problem}`);
    }),
  };
  if (Object.values(op).every(isEmptyPair)) r.fail(Codes.MissingField, path, "operation must not be empty");
  return op;
}

function decodeCondition(r: Reader, o: Obj, path: string, unsupported: Unsupported[]): ConditionSpec {
  const key = str(r, o, "key", path, true);
  const values = strList(r, o, "values", path);
  const notValues = strList(r, o, "notValues", path);
  if (values.length === 0 && notValues.length === 0) r.fail(Codes.MissingField, path, "values or notValues must be given");
  const kf = join(path, "key");
  if (key.startsWith("experimental.envoy.filters.")) unsupported.push({ field: kf, reason: `${key}: Envoy filter metadata does not exist in gangway` });
  else if (key !== "" && !WHEN_KEYS.has(key) && !BRACKETED.test(key)) r.fail(Codes.InvalidValue, kf, `unknown attribute ${JSON.stringify(key)}`);
  const all = [...values, ...notValues];
  if (key === "source.ip" || key === "remote.ip" || key === "destination.ip") all.forEach((v) => cidrCheck(r)(v, join(path, "values")));
  if (key === "destination.port") all.forEach((v) => portCheck(r)(v, join(path, "values")));
  return { key, values, notValues, field: path };
}

function decodeRule(r: Reader, o: Obj, path: string, unsupported: Unsupported[]): RuleSpec {
  const from = objList(r, o, "from", path, (f, p) => {
    const s = obj(r, f, "source", p, true);
    return s === null ? null : decodeSource(r, s, join(p, "source"));
  });
  const to = objList(r, o, "to", path, (t, p) => {
    const op = obj(r, t, "operation", p, true);
    return op === null ? null : decodeOperation(r, op, join(p, "operation"));
  });
  const when = objList(r, o, "when", path, (c, p) => decodeCondition(r, c, p, unsupported));
  return { from, to, when, field: path };
}

export function decodeAuthorizationPolicy(r: Reader, spec: Obj): AuthorizationPolicySpec {
  const scope = decodeScope(r, spec);
  const action = oneOf(r, spec, "action", "spec", ACTIONS, "ALLOW");
  const prov = obj(r, spec, "provider", "spec");
  const provider = prov === null ? "" : str(r, prov, "name", "spec.provider", true);
  if (action === "CUSTOM" && provider === "") r.fail(Codes.MissingField, "spec.provider.name", "a CUSTOM policy must name a provider");
  if (action !== "CUSTOM" && prov !== null) r.fail(Codes.Conflict, "spec.provider", `provider is only for action CUSTOM, not ${action}`);
  const unsupported: Unsupported[] = [];
  const rules = objList(r, spec, "rules", "spec", (o, p) => decodeRule(r, o, p, unsupported));
  if (action === "CUSTOM") customRefusals(r, rules);
  return { ...scope, action, provider, rules, unsupported };
}

/** Source fields Istio's validation refuses in a CUSTOM policy (its ext_authz filter runs before jwt_authn, without a peer identity). */
const CUSTOM_SOURCE_REFUSED: (keyof SourceSpec)[] = ["namespaces", "serviceAccounts", "trustDomains", "principals", "requestPrincipals"];
const CUSTOM_WHEN_REFUSED = new Set(["source.namespace", "source.serviceAccount", "source.trustDomain", "source.principal"]);

/** Istio's validation: "... is currently not supported with CUSTOM action". */
function customRefusals(r: Reader, rules: RuleSpec[]): void {
  for (const rule of rules) {
    rule.from.forEach((s, i) => {
      for (const f of CUSTOM_SOURCE_REFUSED) {
        if (isEmptyPair(s[f])) continue;
        r.fail(Codes.InvalidValue, `${rule.field}.from[${i}].source.${f}`, `${f} (and not${f[0]!.toUpperCase()}${f.slice(1)}) is currently not supported with CUSTOM action`);
      }
    });
    for (const c of rule.when) {
      if (CUSTOM_WHEN_REFUSED.has(c.key) || c.key.startsWith("request.auth.")) r.fail(Codes.InvalidValue, join(c.field, "key"), `${c.key} is currently not supported with CUSTOM action`);
    }
  }
}

// Istio's value rules for AuthorizationPolicy fields, as its generator turns
// them into Envoy matchers: `*` alone (any non-empty value; for headers,
// presence), `*suffix`, `prefix*`, else exact. Compiled once; tested per request.
import { parseCidr, inCidr, parseIp } from "./cidr.ts";
import type { Matcher } from "./types.ts";

/** A string field (paths, principals, claims, SNI): `*` is any non-empty value. */
export function stringMatcher(v: string): Matcher {
  if (v === "*") return { k: "nonempty" };
  if (v.startsWith("*")) return { k: "suffix", v: v.slice(1) };
  if (v.endsWith("*")) return { k: "prefix", v: v.slice(0, -1) };
  return { k: "exact", v };
}

/** Istio's path template operators: `{*}` one path segment, `{**}` any number of them (the last operator). */
export const MATCH_ONE = "{*}";
export const MATCH_ANY = "{**}";

/** Characters Envoy's uri_template lets a segment hold (RFC 3986 pchar without `*`). */
const PCHAR = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";

const LITERAL_SEGMENT = new RegExp(`^[${PCHAR}]+$`);

export function isPathTemplate(v: string): boolean {
  return v.includes(MATCH_ONE) || v.includes(MATCH_ANY);
}

/**
 * Why Istio's validation refuses a path value (CheckValidPathTemplate), or "":
 * `{**}` only as the last operator, no `{`/`}` besides the two operators, and
 * in a template every segment a non-empty run of pchar.
 */
export function pathTemplateProblem(v: string): string {
  const template = isPathTemplate(v);
  let seenAny = false;
  for (const seg of v.replace(/^\/+|\/+$/g, "").split("/")) {
    if ((seg === MATCH_ONE || seg === MATCH_ANY) && seenAny) return "{**} is not the last operator";
    if (seg === MATCH_ONE) continue;
    if (seg === MATCH_ANY) {
      seenAny = true;
      continue;
    }
    if (seg.includes("{") || seg.includes("}")) return "contains '{' or '}' beyond a supported path template";
    if (template && !LITERAL_SEGMENT.test(seg)) return `segment ${JSON.stringify(seg)} is not a valid literal`;
  }
  return "";
}

/**
 * A `paths` value: a template becomes Envoy's uri_template regex (Istio turns
 * `{*}` into `*` = `[pchar]+` and `{**}` into `**` = `[pchar/]*`, the rest
 * literal, matched against the whole path); else Istio's string rules.
 */
export function pathMatcher(v: string): Matcher {
  if (!isPathTemplate(v)) return stringMatcher(v);
  let source = "^";
  for (const part of v.split(/(\{\*\*\}|\{\*\})/)) {
    if (part === MATCH_ANY) source += `[${PCHAR}/]*`;
    else if (part === MATCH_ONE) source += `[${PCHAR}]+`;
    else source += part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  source += "$";
  return { k: "regex", source, regex: new RegExp(source) };
}

/** A header value (request.headers[...], methods): `*` is presence. */
export function headerMatcher(v: string): Matcher {
  return v === "*" ? { k: "present" } : stringMatcher(v);
}

/** Hosts: compared without case; lower-cased here and at the request. */
export function hostMatcher(v: string): Matcher {
  return v === "*" ? { k: "present" } : stringMatcher(v.toLowerCase());
}

export function cidrMatcher(v: string): Matcher {
  const c = parseCidr(v);
  // decode refused invalid blocks; an impossible one matches nothing
  return c === null ? { k: "exact", v: "\u0000invalid" } : { k: "cidr", cidr: c };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `source.namespace` values: Istio matches the principal against the regex `.*\/ns\/NS\/.*` (a `*` in NS as `.*`). */
export function namespaceMatcher(v: string): Matcher {
  const source = `^.*/ns/${v.split("*").map(escape).join(".*")}/.*$`;
  return { k: "regex", source, regex: new RegExp(source) };
}

/** `source.serviceAccount` (`ns/sa` or `sa` in the policy's namespace), Istio's regex on the principal. */
export function serviceAccountMatcher(v: string, policyNamespace: string): Matcher {
  const slash = v.indexOf("/");
  const ns = slash < 0 ? policyNamespace : v.slice(0, slash);
  const sa = slash < 0 ? v : v.slice(slash + 1);
  const source = `^.+/ns/${escape(ns)}/(.+/|)sa/${escape(sa)}(/.+)?$`;
  return { k: "regex", source, regex: new RegExp(source) };
}

/** Does `value` (undefined: absent) match? `ci`: compare lower-cased (the matcher is already lower case). */
export function matches(m: Matcher, value: string | undefined, ci = false): boolean {
  if (value === undefined) return false;
  const s = ci ? value.toLowerCase() : value;
  switch (m.k) {
    case "exact":
      return s === m.v;
    case "prefix":
      return s.startsWith(m.v);
    case "suffix":
      return s.endsWith(m.v);
    case "nonempty":
      return s.length > 0;
    case "present":
      return true;
    case "regex":
      return m.regex.test(s);
    case "cidr":
      return inCidr(parseIp(s), m.cidr);
  }
}

export function matchesAny(ms: Matcher[], value: string | undefined, ci = false): boolean {
  for (let i = 0; i < ms.length; i++) if (matches(ms[i]!, value, ci)) return true;
  return false;
}

/** Text of a matcher for explain and dumps. */
export function describeMatcher(m: Matcher): string {
  switch (m.k) {
    case "exact":
      return JSON.stringify(m.v);
    case "prefix":
      return `prefix ${JSON.stringify(m.v)}`;
    case "suffix":
      return `suffix ${JSON.stringify(m.v)}`;
    case "nonempty":
      return "any non-empty";
    case "present":
      return "present";
    case "regex":
      return `regex ${m.source}`;
    case "cidr":
      return m.cidr.text;
  }
}

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

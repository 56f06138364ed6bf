// Host names as Istio compares them (pkg/config/host): `*` matches everything,
// `*.example.com` is a suffix match that does not cover `example.com`, the rest
// compares exactly. Host names are lower case by the time they get here.

export const CLUSTER_DOMAIN = "cluster.local";

export function isWildcard(h: string): boolean {
  return h.charCodeAt(0) === 42; /* * */
}

/** Is `a` covered by `b`? (Istio's Name.SubsetOf) */
export function hostSubsetOf(a: string, b: string): boolean {
  const aw = isWildcard(a);
  const bw = isWildcard(b);
  if (aw) {
    if (!bw) return false;
    if (a.length < b.length) return false;
    return a.slice(1).endsWith(b.slice(1));
  }
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/** Do `a` and `b` overlap in either direction? (Istio's Name.Matches) */
export function hostMatches(a: string, b: string): boolean {
  return hostSubsetOf(a, b) || hostSubsetOf(b, a);
}

/**
 * The hosts both lists cover, the more specific of each overlapping pair kept
 * (Istio's Names.Intersection): `*` ∩ `a.com` → `a.com`; `*.com` ∩ `a.com` → `a.com`.
 */
export function intersectHosts(serverHosts: string[], vsHosts: string[]): string[] {
  const out: string[] = [];
  for (const s of serverHosts) {
    for (const v of vsHosts) {
      let h: string | null = null;
      if (hostSubsetOf(s, v)) h = s;
      else if (hostSubsetOf(v, s)) h = v;
      if (h !== null && !out.includes(h)) out.push(h);
    }
  }
  return out;
}

/**
 * Gateway server hosts a VirtualService in `vsNamespace` may bind to: `ns/h`
 * only when ns is the VirtualService's namespace (`.` is the Gateway's own),
 * `*\/h` and bare `h` always (Istio's sanitizeServerHostNamespace + NamesForNamespace).
 */
export function serverHostsFor(hosts: string[], gatewayNamespace: string, vsNamespace: string): string[] {
  const out: string[] = [];
  for (const h of hosts) {
    const slash = h.indexOf("/");
    if (slash < 0) {
      out.push(h);
      continue;
    }
    let ns = h.slice(0, slash);
    const name = h.slice(slash + 1);
    if (ns === ".") ns = gatewayNamespace;
    if (ns === "*" || ns === vsNamespace) out.push(name);
  }
  return out;
}

/** A server host without its namespace part (`ns/h` → `h`). */
export function stripNamespace(h: string): string {
  const slash = h.indexOf("/");
  return slash < 0 ? h : h.slice(slash + 1);
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function isIP(h: string): boolean {
  return IPV4.test(h) || h.includes(":");
}

/** `httpbin` in namespace `default` → `httpbin.default.svc.cluster.local` (Istio's ResolveShortnameToFQDN). */
export function resolveShortname(host: string, namespace: string): string {
  if (host === "" || host === "*" || host.includes(".") || isIP(host)) return host;
  return `${host}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** `name.namespace.svc.cluster.local` → [name, namespace], else null. */
export function kubeServiceName(host: string): [string, string] | null {
  const suffix = `.svc.${CLUSTER_DOMAIN}`;
  if (!host.endsWith(suffix)) return null;
  const parts = host.slice(0, -suffix.length).split(".");
  return parts.length === 2 ? [parts[0]!, parts[1]!] : null;
}

/** Does `selector` (labels) select an object with `labels`? Empty selects all. */
export function labelsSubset(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/**
 * Is an object with `exportTo` in `ownNamespace` visible to `namespace`?
 * Empty or `*`: everyone; `.`: its own namespace; `~`: no one; else the names listed.
 */
export function visibleTo(exportTo: string[], ownNamespace: string, namespace: string): boolean {
  if (exportTo.length === 0) return true;
  for (const e of exportTo) {
    if (e === "*") return true;
    if (e === "~") return false;
    if (e === "." && ownNamespace === namespace) return true;
    if (e === namespace) return true;
  }
  return false;
}

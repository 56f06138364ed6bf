// The snapshot as JSON for the admin listener (/config_dump, /listeners,
// /routes, /clusters) and `proxy-config`: Maps become objects, RegExps their
// source, compile-time indexes (path tries, host maps) and empty header
// operations are left out, and any private key is redacted. Top-level parts:
// version, hash, createdAt, listeners, routes (every route table: a
// listener's, and one per TLS filter chain), clusters (by name),
// findings, and any part added to Snapshot later, converted the same way.
// Inside listeners (and their TLS filter chains) a route table is named, not repeated.
import type { HeaderOperations, Listener, RouteTable, Snapshot, StringMatch, TcpRouteTable } from "./types.ts";

const SECRET_KEY = /^(privateKey|private_key|key|tls\.key)$/;

function isRouteTable(v: object): v is RouteTable {
  return "virtualHosts" in v && "exactHosts" in v && "name" in v;
}

/** Maps → objects, Sets → arrays, RegExps and compiled regexes → source, private keys → "[redacted]", route tables → their name. */
export function toPlain(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof RegExp) return v.source;
  if ((v as { engine?: unknown }).engine === "re2" && typeof (v as { source?: unknown }).source === "string") return (v as { source: string }).source; // a CompiledRegex
  if (isRouteTable(v)) return v.name;
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = toPlain(x);
    return o;
  }
  if (v instanceof Set) return [...v].map(toPlain);
  if (Array.isArray(v)) return v.map(toPlain);
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    o[k] = SECRET_KEY.test(k) && typeof x === "string" && x !== "" ? "[redacted]" : toPlain(x);
  }
  return o;
}

function stringMatch(m: StringMatch | null): unknown {
  if (m === null) return null;
  return m.kind === "regex" ? { regex: m.source } : { [m.kind]: m.value };
}

function headerOps(h: HeaderOperations): boolean {
  return h.set.length + h.add.length + h.remove.length > 0;
}

function routeTable(t: RouteTable): unknown {
  return {
    name: t.name,
    virtualHosts: t.virtualHosts.map((vh) => ({
      name: vh.name,
      domains: vh.domains,
      routes: vh.routes.map((r) => ({
        name: r.name,
        source: r.source,
        match: r.matches.map((m) => {
          const o: Record<string, unknown> = {};
          if (m.name !== "") o.name = m.name;
          if (m.uri !== null) o.uri = stringMatch(m.uri);
          if (m.ignoreUriCase) o.ignoreUriCase = true;
          if (m.scheme !== null) o.scheme = stringMatch(m.scheme);
          if (m.method !== null) o.method = stringMatch(m.method);
          if (m.authority !== null) o.authority = stringMatch(m.authority);
          for (const key of ["headers", "withoutHeaders", "queryParams"] as const) {
            if (m[key].length === 0) continue;
            const h: Record<string, unknown> = {};
            for (const x of m[key]) h[x.name] = x.match === null ? { present: true } : stringMatch(x.match);
            o[key] = h;
          }
          if (m.port !== 0) o.port = m.port;
          return o;
        }),
        action: toPlain(r.action.kind === "direct" && r.action.bytes ? { ...r.action, bytes: Buffer.from(r.action.bytes).toString("base64") } : r.action),
        timeoutMs: r.timeoutMs,
        ...(headerOps(r.requestHeaders) ? { requestHeaders: r.requestHeaders } : {}),
        ...(headerOps(r.responseHeaders) ? { responseHeaders: r.responseHeaders } : {}),
        ...(r.retry ? { retryPolicy: r.retry } : {}),
        ...(r.fault ? { fault: r.fault } : {}),
        ...(r.mirrors && r.mirrors.length > 0 ? { mirrors: r.mirrors } : {}),
        ...(r.cors ? { cors: toPlain(r.cors) } : {}),
      })),
    })),
  };
}

/** TCP routes without their SNI index. */
function tcpRoutes(t: TcpRouteTable): unknown {
  return {
    name: t.name,
    routes: t.routes.map((r) => ({
      name: r.name,
      source: r.source,
      ...(r.sniHosts.length > 0 ? { sniHosts: r.sniHosts } : {}),
      destinations: r.destinations.map((d) => ({ cluster: d.cluster, weight: d.weight })),
    })),
  };
}

function listener(l: Listener): unknown {
  const out: Record<string, unknown> = {
    name: l.name,
    port: l.port,
    bindAddress: l.bindAddress,
    bindPort: l.bindPort,
    protocol: l.protocol,
    routeTable: l.routeTable === null ? null : l.routeTable.name,
    sources: l.sources,
  };
  if (l.tls !== null) {
    out.filterChains = l.tls.chains.map((c) => ({
      name: c.name,
      source: c.source,
      serverNames: c.serverNames,
      mode: c.mode,
      credential: c.credential,
      disabled: c.disabled,
      minVersion: c.minVersion,
      maxVersion: c.maxVersion,
      ...(c.ciphers !== "" ? { ciphers: c.ciphers } : {}),
      ...(c.subjectAltNames.length > 0 ? { subjectAltNames: c.subjectAltNames } : {}),
      routeTable: c.routeTable === null ? null : c.routeTable.name,
      ...(c.tcpRoutes !== null ? { tcpRoutes: tcpRoutes(c.tcpRoutes) } : {}),
    }));
  }
  if (l.tcpRoutes !== null) out.tcpRoutes = tcpRoutes(l.tcpRoutes);
  return out;
}

export function snapshotToJSON(snapshot: Snapshot): unknown {
  const out: Record<string, unknown> = {
    version: snapshot.version,
    hash: snapshot.hash,
    createdAt: snapshot.createdAt,
    listeners: snapshot.listeners.map(listener),
    routes: snapshot.listeners.flatMap((l) => [
      ...(l.routeTable === null ? [] : [routeTable(l.routeTable)]),
      ...(l.tls?.chains.flatMap((c) => (c.routeTable === null ? [] : [routeTable(c.routeTable)])) ?? []),
    ]),
    clusters: toPlain(snapshot.clusters),
    findings: snapshot.findings,
  };
  for (const [k, v] of Object.entries(snapshot)) {
    // Gateway API status is served at /status, not in the configuration dump
    if (!(k in out) && k !== "gatewayStatus") out[k] = toPlain(v);
  }
  return out;
}

// VirtualService delegation, as istiod merges it before building routes
// (pilot/pkg/model/virtualservice.go MergeHTTPRoutes, virtualservice_controller.go):
// a root VirtualService's http route with `delegate` is replaced by the
// delegate's http routes, each with its match intersected with the root's
// (a delegate match must be a subset of a root match, else that delegate
// route is dropped) and the root's policies filling what the delegate leaves
// out. A VirtualService without hosts is a delegate: it is served only through
// a root. Also reports every field read but not acted on (VirtualServiceSpec.unsupported).
import { Codes } from "../model/codes.ts";
import type { Destination, HTTPMatchRequest, HTTPRoute, KeyedMatchSpec, StringMatchSpec, VirtualServiceResource } from "../model/istio.ts";
import { resourceRef } from "../model/meta.ts";
import { resolveGatewayRef } from "../resolve/gateways.ts";
import { resolveShortname } from "../resolve/hosts.ts";
import type { CompileContext } from "./context.ts";

/** Istio's stringMatchConflict; a presence match (`{}`) counts as a match with no value. */
function stringConflict(root: StringMatchSpec | null | undefined, leaf: StringMatchSpec | null | undefined): boolean {
  if (root === undefined || leaf === undefined) return false;
  const val = (m: StringMatchSpec | null, k: StringMatchSpec["kind"]): string => (m !== null && m.kind === k ? m.value : "");
  if (val(root, "regex") !== "" && (val(leaf, "regex") !== "" || val(leaf, "prefix") !== "" || val(leaf, "exact") !== "")) return true;
  if (val(leaf, "regex") !== "" && (val(root, "regex") !== "" || val(root, "prefix") !== "" || val(root, "exact") !== "")) return true;
  const exact = val(root, "exact");
  if (exact !== "") return val(leaf, "prefix") !== "" || val(leaf, "exact") !== exact;
  const prefix = val(root, "prefix");
  if (prefix !== "") {
    if (val(leaf, "prefix") !== "") return !val(leaf, "prefix").startsWith(prefix);
    if (val(leaf, "exact") !== "") return !val(leaf, "exact").startsWith(prefix);
  }
  return true;
}

/** A uri/scheme/method/authority field: undefined when not written (so it never conflicts). */
function field(m: StringMatchSpec | null): StringMatchSpec | undefined {
  return m === null ? undefined : m;
}

function keyed(list: KeyedMatchSpec[], name: string): StringMatchSpec | null | undefined {
  const k = list.find((h) => h.name === name);
  return k === undefined ? undefined : k.match;
}

function keyedConflict(root: KeyedMatchSpec[], leaf: KeyedMatchSpec[]): boolean {
  return leaf.some((l) => stringConflict(keyed(root, l.name), l.match));
}

/** Istio's hasConflict: the leaf (delegate) match is not inside the root match. */
export function matchConflict(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  if (stringConflict(field(root.uri), field(leaf.uri))) return true;
  if (stringConflict(field(root.scheme), field(leaf.scheme))) return true;
  if (stringConflict(field(root.method), field(leaf.method))) return true;
  if (stringConflict(field(root.authority), field(leaf.authority))) return true;
  if (keyedConflict(root.headers, leaf.headers) || keyedConflict(root.withoutHeaders, leaf.withoutHeaders) || keyedConflict(root.queryParams, leaf.queryParams)) return true;
  if (root.ignoreUriCase !== leaf.ignoreUriCase) return true;
  if (root.port > 0 && leaf.port > 0 && root.port !== leaf.port) return true;
  if (root.sourceNamespace !== "" && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels)) if (k in root.sourceLabels && root.sourceLabels[k] !== v) return true;
  if (root.gateways.length > 0 && leaf.gateways.length > 0) {
    if (root.gateways.length < leaf.gateways.length) return true;
    if (leaf.gateways.some((g) => !root.gateways.includes(g))) return true;
  }
  return false;
}

function mergeKeyed(root: KeyedMatchSpec[], leaf: KeyedMatchSpec[]): KeyedMatchSpec[] {
  const m = new Map(root.map((k) => [k.name, k]));
  for (const k of leaf) m.set(k.name, k);
  return [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function joinName(root: string, leaf: string): string {
  return leaf === "" ? root : root === "" ? leaf : `${root}-${leaf}`;
}

/** Istio's mergeHTTPMatchRequest: the delegate's conditions, the root's where the delegate has none. */
export function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  return {
    ...leaf,
    name: joinName(root.name, leaf.name),
    uri: leaf.uri ?? root.uri,
    scheme: leaf.scheme ?? root.scheme,
    method: leaf.method ?? root.method,
    authority: leaf.authority ?? root.authority,
    headers: mergeKeyed(root.headers, leaf.headers),
    withoutHeaders: mergeKeyed(root.withoutHeaders, leaf.withoutHeaders),
    queryParams: mergeKeyed(root.queryParams, leaf.queryParams),
    port: leaf.port || root.port,
    sourceLabels: { ...root.sourceLabels, ...leaf.sourceLabels },
    sourceNamespace: leaf.sourceNamespace || root.sourceNamespace,
    gateways: leaf.gateways.length > 0 ? leaf.gateways : root.gateways,
  };
}

/** mergeHTTPMatchRequests: null on conflict (some delegate match fits no root match). */
export function mergeMatches(root: HTTPMatchRequest[], leaf: HTTPMatchRequest[]): HTTPMatchRequest[] | null {
  if (root.length === 0) return leaf;
  if (leaf.length === 0) return root;
  const out: HTTPMatchRequest[] = [];
  for (const l of leaf) {
    let found = false;
    for (const r of root) {
      if (matchConflict(r, l)) continue;
      out.push(mergeMatch(r, l));
      found = true;
    }
    if (!found) return null;
  }
  return out.length === 0 ? null : out;
}

function fqdn(d: Destination, ns: string): Destination {
  return { ...d, host: resolveShortname(d.host, ns) };
}

/** mergeHTTPRoute: null on a match conflict. `rootNs` resolves the short names the delegate inherits. */
export function mergeRoute(root: HTTPRoute, leaf: HTTPRoute, rootNs: string): HTTPRoute | null {
  const match = mergeMatches(root.match, leaf.match);
  if (match === null) return null;
  const inheritMirror = leaf.mirror === null || leaf.mirror === undefined;
  return {
    ...leaf,
    match,
    name: joinName(root.name, leaf.name),
    rewrite: leaf.rewrite ?? root.rewrite,
    directResponse: leaf.directResponse ?? root.directResponse,
    timeoutMs: leaf.timeoutSet ? leaf.timeoutMs : root.timeoutMs,
    timeoutSet: leaf.timeoutSet || root.timeoutSet,
    retries: leaf.retries ?? root.retries ?? null,
    fault: leaf.fault ?? root.fault ?? null,
    mirror: inheritMirror ? (root.mirror ? fqdn(root.mirror, rootNs) : null) : leaf.mirror,
    mirrorPercentage: leaf.mirrorPercentage ?? root.mirrorPercentage ?? null,
    mirrors: leaf.mirrors ?? (root.mirrors ? root.mirrors.map((m) => ({ ...m, destination: fqdn(m.destination, rootNs) })) : null),
    corsPolicy: leaf.corsPolicy ?? root.corsPolicy ?? null,
    headers: leaf.headers ?? root.headers,
    delegate: null,
  };
}

function exportedTo(d: VirtualServiceResource, ns: string): boolean {
  const ex = d.spec.exportTo;
  if (ex.length === 0) return true;
  return ex.some((e) => e === "*" || e === ns || (e === "." && d.metadata.namespace === ns));
}

/** Per VirtualService object (not changed once decoded): has hosts, nothing unsupported, no delegate route; mergeDelegates passes it on as it is. */
const plain = new WeakMap<VirtualServiceResource, boolean>();

function isPlain(vs: VirtualServiceResource): boolean {
  let p = plain.get(vs);
  if (p === undefined) plain.set(vs, (p = vs.spec.hosts.length > 0 && (vs.spec.unsupported ?? []).length === 0 && !vs.spec.http.some((h) => h.delegate)));
  return p;
}

function reportUnsupported(ctx: CompileContext, vs: VirtualServiceResource): void {
  for (const u of vs.spec.unsupported ?? []) {
    // the finding carries the field path; the message names the field itself (`statPrefix`, `fault.abort.percentage`)
    const name = u.field.slice(u.field.lastIndexOf("]") + 2) || u.field;
    ctx.report("Warning", Codes.RouteFeatureUnsupported, vs, `${name}: ${u.reason}`, u.field);
  }
}

/**
 * Root VirtualServices with their delegated routes merged in, and every other
 * VirtualService with hosts, in the given order; delegates themselves are left out.
 */
export function mergeDelegates(ctx: CompileContext, vss: VirtualServiceResource[]): VirtualServiceResource[] {
  const delegates = new Map<string, VirtualServiceResource>();
  for (const vs of vss) {
    if (isPlain(vs)) continue;
    reportUnsupported(ctx, vs);
    if (vs.spec.hosts.length === 0) delegates.set(`${vs.metadata.namespace}/${vs.metadata.name}`, vs);
  }
  const used = new Set<VirtualServiceResource>();
  const out: VirtualServiceResource[] = [];
  for (const vs of vss) {
    if (isPlain(vs)) {
      out.push(vs);
      continue;
    }
    if (vs.spec.hosts.length === 0) continue;
    if (!vs.spec.http.some((h) => h.delegate)) {
      out.push(vs);
      continue;
    }
    const ns = vs.metadata.namespace;
    const http: HTTPRoute[] = [];
    vs.spec.http.forEach((h, i) => {
      const ref = h.delegate;
      if (!ref) {
        http.push(h.origin ? h : { ...h, origin: { resource: vs, index: i } });
        return;
      }
      const key = `${ref.namespace || ns}/${ref.name}`;
      const field = `spec.http[${i}].delegate`;
      const d = delegates.get(key);
      if (d === undefined) {
        ctx.report("Warning", Codes.DelegateNotFound, vs, `delegate VirtualService ${key} not found (a delegate has no hosts): this http route is dropped`, field);
        return;
      }
      used.add(d);
      if (!exportedTo(d, ns)) {
        ctx.report("Warning", Codes.DelegateNotExported, vs, `delegate ${resourceRef(d)} is not exported to namespace ${ns} (exportTo ${d.spec.exportTo.join(",")}): this http route is dropped`, field);
        return;
      }
      const dns = d.metadata.namespace;
      d.spec.http.forEach((leaf0, j) => {
        // the delegate's gateway names are its own namespace's
        const leaf: HTTPRoute = { ...leaf0, match: leaf0.match.map((m) => ({ ...m, gateways: m.gateways.map((g) => resolveGatewayRef(g, dns)) })) };
        const merged = mergeRoute({ ...h, match: h.match.map((m) => ({ ...m, gateways: m.gateways.map((g) => resolveGatewayRef(g, ns)) })) }, leaf, ns);
        if (merged === null) {
          ctx.report("Warning", Codes.DelegateConflict, d, `its match is not inside the match of ${resourceRef(vs)} http[${i}] that delegates to it: this route is dropped there`, `spec.http[${j}].match`);
          return;
        }
        merged.origin = { resource: d, index: j };
        http.push(merged);
      });
    });
    out.push({ ...vs, spec: { ...vs.spec, http } });
  }
  for (const d of delegates.values()) {
    if (!used.has(d)) ctx.report("Info", Codes.DelegateUnused, d, "no hosts, so it is a delegate, and no VirtualService delegates to it: it serves nothing", "spec.hosts");
  }
  return out;
}

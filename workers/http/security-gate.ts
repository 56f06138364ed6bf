// The one call site of the security check in the data plane, after dispatch
// decided the request: RequestAuthentication, AuthorizationPolicy (CUSTOM
// ext_authz included) and the client address behind --trusted-proxies. As in
// Envoy, where jwt_authn and RBAC run before the router, a denial answers
// whatever the decision was (forward, 404, redirect...). Token verification
// and ext_authz are async: the exchange stays NEW meanwhile and holds the
// request body (UpstreamRequest's pending bytes, as while connecting), then
// acts on the decision or answers 401/403.
import { EMPTY_OPS, type Decision } from "../../src/dispatch/decision.ts";
import { REPLIES } from "../../src/dispatch/replies.ts";
import { checkSecurity, quickCheck, type SecurityOutcome, type SecurityRequest } from "../../src/security/check.ts";
import { trustedClientAddress } from "../../src/security/client-ip.ts";
import { checkExtAuthz } from "../../src/security/ext-authz.ts";
import { withoutParams } from "../../src/security/jwt-extract.ts";
import type { SecurityConfig } from "../../src/security/types.ts";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { reportError } from "../context.ts";
import { authnChangesRequest } from "../../src/dispatch/authenticated.ts";
import type { ReplyRow } from "../../src/dispatch/replies.ts";
import type { Generation } from "./clusters.ts";
import type { ExchangeConn } from "./conn.ts";
import { R_XFF } from "./fields.ts";
import { hasOps } from "./heads-out.ts";
import type { RequestHead } from "./parse-request.ts";

/** What the gate needs of an Exchange (exchange.ts implements it; no import back, no cycle). */
export interface Gated {
  readonly head: RequestHead;
  readonly ds: ExchangeConn;
  readonly gen: Generation | null;
  readonly finished: boolean;
  clientIp: string;
  responseOps: HeaderOperations;
  /** Route again with RequestAuthentication's header changes and verified claims; the new decision. */
  redecide(set: [string, string][], remove: string[], claims: Record<string, unknown> | null): Decision;
  act(d: Decision): void;
  reply(row: ReplyRow, status?: number, body?: string, extra?: string, details?: string): void;
}

type Exchange = Gated;

export const EXTERNAL_ADDRESS = "x-envoy-external-address";

/** The SPIFFE id of a verified client certificate (from its x-forwarded-client-cert value), without `spiffe://`. */
export function spiffePrincipal(xfcc: string): string {
  const at = xfcc.indexOf(";URI=spiffe://");
  if (at < 0) return "";
  const start = at + ";URI=spiffe://".length;
  const end = xfcc.indexOf(";", start);
  return xfcc.slice(start, end < 0 ? xfcc.length : end);
}

function xffOf(ex: Exchange): string {
  const h = ex.head;
  let xff = "";
  for (let k = 0; k < h.count; k++) if (h.kinds[k] === R_XFF) xff = xff === "" ? h.value(k) : xff + ", " + h.value(k);
  return xff;
}

function portOf(addr: string): number {
  const i = addr.lastIndexOf(":");
  return i < 0 ? 0 : Number(addr.slice(i + 1)) || 0;
}

function ipOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  const ip = i < 0 ? addr : addr.slice(0, i);
  return ip.startsWith("[") ? ip.slice(1, -1) : ip;
}

function requestOf(ex: Exchange, clientIp: string): SecurityRequest {
  const h = ex.head;
  const ds = ex.ds;
  const local = ds.localAddress;
  return {
    method: h.method,
    authority: h.authority,
    path: h.path,
    query: h.query,
    target: h.query === "" ? h.path : h.path + "?" + h.query,
    scheme: ds.tls !== null ? "https" : "http",
    port: portOf(local),
    header: (n) => h.header(n),
    headerValues: (n) => h.headerValues(n),
    headerList: () => {
      const out: [string, string][] = [];
      for (let k = 0; k < h.count; k++) out.push([h.name(k).toLowerCase(), h.value(k)]);
      return out;
    },
    sourceIp: ds.peerIp, // ipBlocks: the packet's source (a load balancer speaking PROXY protocol), as Istio's
    remoteIp: clientIp,
    destinationIp: ipOf(local),
    principal: ds.tls?.verified ? spiffePrincipal(ds.tls.xfcc) : "",
    sni: ds.tls?.sni ?? "",
  };
}

/** The route's header operations, then the security check's (which win). */
function mergeOps(a: HeaderOperations, b: HeaderOperations): HeaderOperations {
  if (!hasOps(b)) return a;
  return { set: [...a.set, ...b.set], add: a.add, remove: [...a.remove, ...b.remove] };
}

/** Act on the outcome: the decision with the security's header changes, or the denial. */
function conclude(ex: Exchange, d: Decision, ops: HeaderOperations, out: SecurityOutcome): void {
  if (out.allow) {
    // Istio's gateways have jwt_authn clear the route cache: the route is chosen again with what it changed
    if (authnChangesRequest(ex.head, out.authnSet, out.authnRemove, out.claims)) {
      const again = ex.redecide(out.authnSet, out.authnRemove, out.claims);
      // ops carry x-envoy-external-address (set, and the client's removed): kept over the new route's
      d = again;
    }
    for (const s of out.set) ops.set.push(s);
    for (const r of out.remove) ops.remove.push(r);
    d.requestHeaders = mergeOps(d.requestHeaders, ops);
    if (out.removeParams.length > 0 && d.kind === "forward") {
      const h = ex.head;
      d.path = withoutParams(d.path ?? (h.query === "" ? h.path : h.path + "?" + h.query), out.removeParams);
    }
    ex.act(d);
    return;
  }
  let extra = "";
  for (const [n, v] of out.headers) extra += n + ": " + v + "\r\n";
  // the route's response headers are the router's: a denial before it does not carry them
  ex.responseOps = EMPTY_OPS;
  ex.reply(REPLIES[out.code], out.status, out.body, extra, out.details);
}

/**
 * Check the request `d` decided. Returns false when the exchange may act on
 * `d` at once (allowed without waiting; header changes already merged into
 * `d`); true when the gate took over: the request is held and acted on or
 * answered when the check completes, or it was answered already.
 */
export function securityGate(ex: Exchange, sec: SecurityConfig, d: Decision): boolean {
  if (!sec.active && sec.trustedProxies === 0) return false;
  const clientIp = sec.trustedProxies > 0 ? trustedClientAddress(ex.ds.remoteIp, xffOf(ex), sec.trustedProxies) : ex.ds.remoteIp;
  // a client's own x-envoy-external-address never reaches the upstream; the gateway sets it when it trusts proxies
  const ops: HeaderOperations = { set: [], add: [], remove: [EXTERNAL_ADDRESS] };
  if (sec.trustedProxies > 0) {
    ex.clientIp = clientIp;
    ops.set.push([EXTERNAL_ADDRESS, clientIp]);
  }
  if (!sec.active) {
    d.requestHeaders = mergeOps(d.requestHeaders, ops);
    return false;
  }
  const req = requestOf(ex, clientIp);
  const quick = quickCheck(sec, req);
  if (quick !== null) {
    conclude(ex, d, ops, quick);
    return true;
  }
  const gen = ex.gen!;
  const endpointOf = (cluster: string): string => gen.clusters.get(cluster)?.pick()?.hostPort ?? "";
  checkSecurity(sec, req, (p, r) => checkExtAuthz(p, endpointOf(p.cluster), r), Math.floor(Date.now() / 1000))
    .then((out) => {
      if (!ex.finished) conclude(ex, d, ops, out);
    })
    .catch((err) => {
      reportError("security check", err);
      if (!ex.finished) ex.reply(REPLIES.rbac_denied);
    });
  return true;
}

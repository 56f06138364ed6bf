// The one call site of the security check in the data plane: RequestAuthentication,
// AuthorizationPolicy (with CUSTOM ext_authz) and the client address behind
// --trusted-proxies, for an Exchange whose head is parsed. The check is async
// (signatures, ext_authz): the exchange holds the request body meanwhile (its
// pending buffer, as while an upstream connection opens) and continues with
// routing, or answers 401/403, when the check is done.
import type { HeaderOperations, Snapshot } from "../../src/snapshot/types.ts";
import { checkSecurity, quickCheck, type SecurityRequest } from "../../src/security/check.ts";
import { trustedClientAddress } from "../../src/security/client-ip.ts";
import { checkExtAuthz } from "../../src/security/ext-authz.ts";
import { EMPTY_SECURITY, type SecurityConfig } from "../../src/security/types.ts";
import { reportError } from "../context.ts";
import { clusters } from "./clusters.ts";
import type { Exchange } from "./exchange.ts";
import { R_XFF } from "./fields.ts";

/** The security part of the snapshot being served (set when a snapshot is applied). */
export let security: SecurityConfig = EMPTY_SECURITY;

export function applySecurity(s: Snapshot): void {
  security = s.security ?? EMPTY_SECURITY;
}

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
    headerList: () => {
      const out: [string, string][] = [];
      for (let k = 0; k < h.count; k++) out.push([h.name(k).toLowerCase(), h.value(k)]);
      return out;
    },
    sourceIp: ds.remoteIp,
    remoteIp: clientIp,
    destinationIp: ipOf(local),
    principal: ds.tls?.verified ? spiffePrincipal(ds.tls.xfcc) : "",
    sni: ds.tls?.sni ?? "",
  };
}

function endpointOf(cluster: string): string {
  return clusters.get(cluster)?.pick()?.hostPort ?? "";
}

/**
 * Run the check for `ex`. Returns false when the exchange may route at once
 * (nothing to check); true when it is held: `ex.routeRequest()` or a local reply
 * follows when the check completes.
 */
export function securityGate(ex: Exchange): boolean {
  const sec = security;
  if (!sec.active && sec.trustedProxies === 0) return false;
  const clientIp = sec.trustedProxies > 0 ? trustedClientAddress(ex.ds.remoteIp, xffOf(ex), sec.trustedProxies) : ex.ds.remoteIp;
  const ops: HeaderOperations = { set: [], add: [], remove: [EXTERNAL_ADDRESS] };
  if (sec.trustedProxies > 0) {
    ex.clientIp = clientIp;
    ops.set.push([EXTERNAL_ADDRESS, clientIp]);
  }
  ex.securityOps = ops;
  if (!sec.active) return false;
  const req = requestOf(ex, clientIp);
  const quick = quickCheck(sec, req);
  if (quick !== null) {
    if (quick.allow) {
      for (const s of quick.set) ops.set.push(s);
      for (const r of quick.remove) ops.remove.push(r);
      return false;
    }
    let extra = "";
    for (const [n, v] of quick.headers) extra += n + ": " + v + "\r\n";
    ex.localReply(quick.status, quick.flags, quick.details, quick.body, extra);
    return true;
  }
  checkSecurity(sec, req, (p, r) => checkExtAuthz(p, endpointOf(p.cluster), r), Math.floor(Date.now() / 1000))
    .then((out) => {
      if (ex.finished) return;
      if (out.allow) {
        for (const s of out.set) ops.set.push(s);
        for (const r of out.remove) ops.remove.push(r);
        ex.routeRequest();
        return;
      }
      let extra = "";
      for (const [n, v] of out.headers) extra += n + ": " + v + "\r\n";
      ex.localReply(out.status, out.flags, out.details, out.body, extra);
    })
    .catch((err) => {
      reportError("security check", err);
      if (!ex.finished) ex.localReply(403, "-", "rbac_access_denied_internal_error", "RBAC: access denied", "");
    });
  return true;
}

// Gateway servers of the applied Gateways → one group per port, as Istio's
// mergeGateways: plain-text HTTP servers on a port merge into one route table;
// TLS servers on a port merge when their hosts differ (SNI tells them apart);
// anything else on a taken port is dropped with a finding.
import { isHTTPProtocol, isTLSProtocol } from "../decode/gateway.ts";
import { Codes } from "../model/codes.ts";
import type { GatewayResource, Server } from "../model/istio.ts";
import { resourceRef } from "../model/meta.ts";
import { gatewayKey } from "../resolve/gateways.ts";
import { stripNamespace } from "../resolve/hosts.ts";
import type { ServerProtocol } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";

export interface BoundServer {
  gateway: GatewayResource;
  /** `ns/name` */
  gatewayName: string;
  server: Server;
  index: number;
}

/** http: plain-text HTTP family; tls: HTTPS/TLS (terminated or passthrough); tcp: the rest. */
export type ServerClass = "http" | "tls" | "tcp";

export interface PortGroup {
  port: number;
  protocol: ServerProtocol;
  class: ServerClass;
  servers: BoundServer[];
}

export function serverClass(s: Server): ServerClass {
  if (isTLSProtocol(s.port.protocol)) return "tls";
  if (isHTTPProtocol(s.port.protocol)) return "http";
  return "tcp";
}

/** A server whose HTTP gangway routes itself: plain-text HTTP, or HTTPS terminated here. */
export function terminatesHTTP(s: Server): boolean {
  if (isHTTPProtocol(s.port.protocol)) return true;
  if (s.port.protocol !== "HTTPS" || s.tls === null) return false;
  return s.tls.mode !== "PASSTHROUGH" && s.tls.mode !== "AUTO_PASSTHROUGH";
}

/** `Gateway/ns/name#<server index>` (the Ingress for a derived Gateway). */
export function serverSource(ctx: CompileContext, b: BoundServer): string {
  return `${ctx.sourceOf(b.gateway)}#${b.index}`;
}

/** Applied gateways (creation order) → port groups, ascending by port. */
export function mergeServers(ctx: CompileContext, gateways: GatewayResource[]): PortGroup[] {
  const groups = new Map<number, PortGroup>();
  // port → host → gateway name, to report the same host on one port in two Gateways
  const httpHosts = new Map<number, Map<string, string>>();
  const tlsHosts = new Map<number, Set<string>>();
  // Istio checks every server with TLS settings for hosts taken on its port, so an
  // HTTP server with `tls: {httpsRedirect: true}` too (mergeGateways' CheckDuplicates):
  // a later one naming a host an earlier one has is dropped whole
  const redirectHosts = new Map<number, Set<string>>();
  const redirectHostTaken = (port: number, server: Server, field: string, g: GatewayResource): boolean => {
    const known = redirectHosts.get(port);
    const dup = known === undefined ? [] : server.hosts.map(stripNamespace).filter((h) => known.has(h));
    if (dup.length === 0) return false;
    ctx.report("Error", Codes.DuplicateTLSHost, g, `host ${dup.join(", ")} already served on port ${port} by an earlier server with TLS settings (httpsRedirect): server dropped`, `${field}.hosts`);
    return true;
  };
  for (const g of gateways) {
    const gatewayName = gatewayKey(g);
    g.spec.servers.forEach((server, index) => {
      const b: BoundServer = { gateway: g, gatewayName, server, index };
      const port = server.port.number;
      const cls = serverClass(server);
      const field = `spec.servers[${index}]`;
      if (server.bind !== "") {
        ctx.report("Warning", Codes.ServerUnsupported, g, `bind ${server.bind} is not supported: the server listens on --bind`, `${field}.bind`);
      }
      if (server.defaultEndpoint !== undefined) {
        ctx.report("Warning", Codes.ServerUnsupported, g, "defaultEndpoint is not implemented by Istio (nor gangway): ignored", `${field}.defaultEndpoint`);
      }
      const cur = groups.get(port);
      if (cur === undefined) {
        groups.set(port, { port, protocol: server.port.protocol, class: cls, servers: [b] });
      } else if (cur.class !== cls || cls === "tcp") {
        const first = cur.servers[0]!;
        ctx.report(
          "Error",
          Codes.PortProtocolConflict,
          g,
          `port ${port} ${server.port.protocol} conflicts with ${resourceRef(first.gateway)} server ${first.index} (${cur.protocol} on the same port): server dropped`,
          `${field}.port`,
        );
        return;
      } else if (cls === "tls") {
        let known = tlsHosts.get(port);
        if (known === undefined) {
          known = new Set(cur.servers.flatMap((s) => s.server.hosts.map(stripNamespace)));
          tlsHosts.set(port, known);
        }
        const dup = server.hosts.map(stripNamespace).filter((h) => known!.has(h));
        if (dup.length > 0) {
          ctx.report("Error", Codes.DuplicateTLSHost, g, `host ${dup.join(", ")} already served on port ${port} by an earlier TLS server: server dropped`, `${field}.hosts`);
          return;
        }
        cur.servers.push(b);
      } else {
        if (cls === "http" && server.tls !== null && redirectHostTaken(port, server, field, g)) return;
        cur.servers.push(b);
      }
      if (cls === "http" && server.tls !== null) {
        let known = redirectHosts.get(port);
        if (known === undefined) redirectHosts.set(port, (known = new Set()));
        for (const h of server.hosts) known.add(stripNamespace(h));
      }
      if (cls === "tls") {
        const known = tlsHosts.get(port) ?? new Set<string>();
        for (const h of server.hosts) known.add(stripNamespace(h));
        tlsHosts.set(port, known);
      } else if (cls === "http") {
        let hosts = httpHosts.get(port);
        if (hosts === undefined) httpHosts.set(port, (hosts = new Map()));
        for (const h of server.hosts.map(stripNamespace)) {
          const other = hosts.get(h);
          if (other !== undefined && other !== gatewayName && !ctx.origins.has(g)) {
            ctx.report(
              "Warning",
              Codes.ConflictingGateways,
              g,
              `host ${h} on port ${port} is also served by Gateway ${other}: their routes merge (first by creation order wins)`,
              `${field}.hosts`,
            );
          } else hosts.set(h, gatewayName);
        }
      }
    });
  }
  return [...groups.values()].sort((a, b) => a.port - b.port);
}

// A route destination → the cluster it names (`outbound|port|subset|host`),
// registering the cluster for compileClusters and reporting what cannot work.
import { Codes } from "../model/codes.ts";
import type { Resource } from "../model/index.ts";
import type { Destination } from "../model/istio.ts";
import { CLUSTER_DOMAIN, resolveShortname } from "../resolve/hosts.ts";
import type { WeightedDestination } from "../snapshot/types.ts";
import type { CompileContext } from "./context.ts";

export function clusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** istiod's SNI-DNAT cluster name (BuildDNSSrvSubsetKey), also the SNI an AUTO_PASSTHROUGH route takes. */
export function sniDnatClusterName(port: number, subset: string, host: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/**
 * Destination host → FQDN. Short names are in the route's namespace (Istio).
 * Beyond Istio, `name.ns` and `name.ns.svc` name the Kubernetes Service `name`
 * in `ns` when that Service exists (Istio would take them literally and find nothing).
 */
export function destinationHost(ctx: CompileContext, host: string, namespace: string): string {
  const h = resolveShortname(host, namespace);
  const parts = h.split(".");
  if ((parts.length === 2 || (parts.length === 3 && parts[2] === "svc")) && ctx.registry.hasKubeService(parts[0]!, parts[1]!)) {
    return `${parts[0]}.${parts[1]}.svc.${CLUSTER_DOMAIN}`;
  }
  return h;
}

/**
 * Resolve one destination of `origin` (a VirtualService or Ingress) for a
 * listener on `listenerPort`. `field` is the destination's path, for findings.
 * `sniDnat`: the cluster is istiod's SNI-DNAT one (AUTO_PASSTHROUGH), not the
 * `outbound|…` cluster HTTP routes share.
 */
export function resolveDestination(
  ctx: CompileContext,
  origin: Resource,
  dest: Destination,
  weight: number,
  listenerPort: number,
  field: string,
  sniDnat = false,
): WeightedDestination {
  const ns = origin.metadata.namespace;
  let host = destinationHost(ctx, dest.host, ns);
  let svc = ctx.registry.lookup(host, ns);
  let port = dest.port;
  if (svc?.aliasFor !== undefined) {
    // An ExternalName Service naming a Service or ServiceEntry host is an alias of it, as in Istio
    // (GetDestinationCluster): the cluster is the named host's, on the destination's port, else the
    // alias's only port, else the listener's. One hop, as Istio's. An external name nothing here
    // serves keeps a DNS cluster of its own (where Istio has no cluster: 503).
    const target = ctx.registry.lookup(svc.aliasFor, ns);
    if (target !== null) {
      if (port === 0) port = svc.ports.length === 1 ? svc.ports[0]!.port : listenerPort;
      host = target.host;
      svc = target;
    }
  }
  if (svc === null) {
    // istioctl looks from the VirtualService's namespace; the gateway sees what is exported to its own.
    const hidden = ctx.registry.hidden(host);
    ctx.report(
      "Warning",
      Codes.DestinationNotFound,
      origin,
      hidden.length === 0
        ? `destination host ${host} is no Service or ServiceEntry: requests get 503`
        : `destination host ${host}: ${hidden.map((s) => `${s.source} (exportTo ${s.exportTo.join(",")})`).join(", ")} is not exported to the gateway namespace ${ctx.opts.namespace}: requests get 503`,
      `${field}.host`,
    );
  }
  if (port === 0) {
    if (svc !== null && svc.ports.length === 1) port = svc.ports[0]!.port;
    else {
      if (svc !== null && svc.ports.length > 1) {
        ctx.report(
          "Warning",
          Codes.DestinationPortRequired,
          origin,
          `destination ${host} has several ports (${svc.ports.map((p) => p.port).join(", ")}): give port.number; using ${listenerPort}`,
          field,
        );
      }
      port = listenerPort;
    }
  }
  if (svc !== null && !svc.ports.some((p) => p.port === port)) {
    ctx.report(
      "Warning",
      Codes.DestinationPortNotFound,
      origin,
      `port ${port} is not a port of ${svc.source} (${svc.ports.map((p) => p.port).join(", ") || "none"}): requests get 503`,
      dest.port === 0 ? field : `${field}.port.number`,
    );
  }
  if (dest.subset !== "") {
    const rule = ctx.rules.lookup(host, svc?.namespace ?? ns);
    if (rule === null || !rule.subsets.some((s) => s.name === dest.subset)) {
      ctx.report(
        "Warning",
        Codes.SubsetNotFound,
        origin,
        rule === null
          ? `subset ${JSON.stringify(dest.subset)}: no DestinationRule for ${host}: requests get 503`
          : `subset ${JSON.stringify(dest.subset)} is not defined in ${rule.sources.join(", ")}: requests get 503`,
        `${field}.subset`,
      );
    }
  }
  const name = sniDnat ? sniDnatClusterName(port, dest.subset, host) : clusterName(port, dest.subset, host);
  if (!ctx.clusters.has(name)) {
    ctx.clusters.set(name, { name, host, port, subset: dest.subset, service: svc, namespace: svc?.namespace ?? ns, ...(sniDnat ? { sniDnat: true as const } : {}) });
  }
  return { cluster: name, weight, host, port, subset: dest.subset };
}

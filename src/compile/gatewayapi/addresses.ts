// A Gateway's `spec.addresses` → its `status.addresses` and the address part of its
// conditions, as istiod judges them (extractGatewayServices, ResolveGatewayInstances,
// SetProgrammedCondition, reportGatewayStatus). gangway is the workload behind the Service:
// it resolves the Service against the Service objects of the configuration.
//
// - "Managed" (no address, or one of type IPAddress): istiod generates the Service
//   `<gateway>-<class>` (annotation gateway.istio.io/name-override); gangway generates
//   nothing, so that Service is resolved only when the files hold it (else nothing is said).
// - Otherwise each `Hostname` address names a Service fronting the Gateway (a short name is
//   in the Gateway's namespace); any other type is skipped: `Accepted: False`,
//   `UnsupportedAddress`; with no Hostname left the Gateway is not served at all.
// - Each Service must be in the Gateway's namespace and have every port a programmed
//   listener uses, else `Programmed: False`, `AddressNotUsable`; a LoadBalancer Service
//   without an external address is `AddressNotAssigned` (pending).
// Unlike istiod, endpoints of the Service are not asked for: they would be gangway's own.
// - Managed and the Service not in the files (gangway run on a host, no Service at all):
//   `status.addresses` are where gangway listens (CompileOptions.listenAddresses), the
//   requested IP alone when it is one of them; the conditions say nothing of it, as before.
import { isIP } from "node:net";
import type { KubernetesGatewayResource } from "../../model/gatewayapi.ts";
import type { ServiceResource } from "../../model/kube.ts";
import { CLUSTER_DOMAIN } from "../../resolve/hosts.ts";
import type { StatusAddress } from "../../snapshot/status.ts";

const NAME_OVERRIDE = "gateway.istio.io/name-override";
const ADDRESS_TYPE = "networking.istio.io/address-type";

export interface AddressVerdict {
  /** `Accepted: False` (UnsupportedAddress), or null. */
  rejected: { reason: string; message: string } | null;
  /** No address left to assign the Gateway to: no listener is served. */
  unserved: boolean;
  /** `Programmed: False` (UnsupportedAddress, AddressNotUsable, AddressNotAssigned), or null. */
  notProgrammed: { reason: string; message: string } | null;
  /** Programmed's message when the Gateway is assigned to Services. */
  assigned: string;
  addresses: StatusAddress[];
  /** Managed, and the Service istiod would generate is not in the files. */
  serviceless: boolean;
}

/** istiod's IsManaged: no address, or a single one of type IPAddress (the default). */
export function isManaged(g: KubernetesGatewayResource): boolean {
  const a = g.spec.addresses ?? [];
  return a.length === 0 || (a.length === 1 && (a[0]!.type === "" || a[0]!.type === "IPAddress"));
}

/** "a", "a and b", "a, b, and c" (istiod's HumanReadableJoin). */
function humanJoin(s: string[]): string {
  if (s.length <= 2) return s.join(" and ");
  return `${s.slice(0, -1).join(", ")}, and ${s.at(-1)}`;
}

/** The Service hosts the Gateway is assigned to, and the addresses istiod would skip. */
function gatewayServices(g: KubernetesGatewayResource): { hosts: string[]; skipped: string[] } {
  const ns = g.metadata.namespace;
  if (isManaged(g)) {
    const name = g.metadata.annotations[NAME_OVERRIDE] || `${g.metadata.name}-${g.spec.gatewayClassName}`;
    return { hosts: [`${name}.${ns}.svc.${CLUSTER_DOMAIN}`], skipped: [] };
  }
  const hosts: string[] = [];
  const skipped: string[] = [];
  for (const a of g.spec.addresses ?? []) {
    if (a.type !== "Hostname") skipped.push(a.value);
    else hosts.push(a.value.includes(".") ? a.value : `${a.value}.${ns}.svc.${CLUSTER_DOMAIN}`);
  }
  return { hosts, skipped };
}

/** `ports`: those of the Gateway's programmed listeners. */
export function judgeAddresses(g: KubernetesGatewayResource, services: ServiceResource[], ports: number[]): AddressVerdict {
  const byHost = new Map<string, ServiceResource[]>();
  for (const s of services) {
    const h = `${s.metadata.name}.${s.metadata.namespace}.svc.${CLUSTER_DOMAIN}`;
    byHost.set(h, [...(byHost.get(h) ?? []), s]);
  }
  const { hosts, skipped } = gatewayServices(g);
  const out: AddressVerdict = { rejected: null, unserved: false, notProgrammed: null, assigned: "", addresses: [], serviceless: false };
  if (skipped.length > 0) out.rejected = { reason: "UnsupportedAddress", message: `only Hostname is supported, ignoring [${skipped.join(" ")}]` };
  if (hosts.length === 0) {
    out.unserved = true;
    out.notProgrammed = { reason: "UnsupportedAddress", message: "Failed to assign to any requested addresses" };
    return out;
  }
  const ns = g.metadata.namespace;
  const managed = isManaged(g);
  const internal = new Set<string>();
  const internalIPs = new Set<string>();
  const external = new Set<string>();
  const pending = new Set<string>();
  const warnings: string[] = [];
  let unusable = false;
  for (const host of hosts) {
    const found = byHost.get(host) ?? [];
    const svc = found.find((s) => s.metadata.namespace === ns);
    if (svc === undefined) {
      // the Service istiod would generate is not in the files: gangway deploys nothing, says nothing
      if (managed) {
        out.serviceless = true;
        continue;
      }
      const others = found.map((s) => `"${s.metadata.namespace}"`).sort();
      warnings.push(others.length > 0 ? `hostname "${host}" not found in namespace "${ns}", but it was found in namespace(s) ${others.join(", ")}` : `hostname "${host}" not found`);
      unusable = true;
      continue;
    }
    for (const port of [...new Set(ports)].sort((a, b) => a - b)) {
      if (!svc.spec.ports.some((p) => p.port === port)) {
        // the listener names the workload's port (a targetPort): istiod's hint names the Service ports for it
        const hint = svc.spec.ports.filter((p) => p.targetPort === port).map((p) => String(p.port)).sort();
        const why = hint.length > 0 ? ` (hint: the service port should be specified, not the workload port. Did you mean one of these ports: [${hint.join(" ")}]?)` : "";
        warnings.push(`port ${port} not found for hostname "${host}"${why}`);
        unusable = true;
        continue;
      }
      internal.add(`${host}:${port}`);
      if (svc.spec.clusterIP !== "" && svc.spec.clusterIP !== "None") internalIPs.add(svc.spec.clusterIP);
      const ext = [...(svc.spec.externalIPs ?? []), ...(svc.spec.loadBalancerIngress ?? [])];
      for (const e of ext) external.add(e);
      if (ext.length === 0 && svc.spec.type === "LoadBalancer" && !pending.has(host)) {
        warnings.push(`address pending for hostname "${host}"`);
        pending.add(host);
      }
    }
  }
  warnings.sort();
  const assigned = [...internal].sort();
  if (assigned.length > 0) out.assigned = `Resource programmed, assigned to service(s) ${humanJoin(assigned)}`;
  if (warnings.length > 0) {
    out.notProgrammed = {
      reason: unusable ? "AddressNotUsable" : "AddressNotAssigned",
      message: assigned.length > 0 ? `Assigned to service(s) ${humanJoin(assigned)}, but failed to assign to all requested addresses: ${warnings.join("; ")}` : `Failed to assign to any requested addresses: ${warnings.join("; ")}`,
    };
  }
  let report = [...external].sort();
  if (report.length === 0) {
    // no external address: the internal ones, of the class's type (istio: Hostname) or the annotation's ("" both)
    const want = g.metadata.annotations[ADDRESS_TYPE] ?? "Hostname";
    if (want !== "Hostname") report = [...internalIPs].sort();
    if (want !== "IPAddress") {
      for (const hp of assigned) {
        const h = hp.slice(0, hp.lastIndexOf(":"));
        if (!pending.has(h) && !report.includes(h)) report.push(h);
      }
    }
  }
  out.addresses = report.map((value) => ({ type: isIP(value) === 0 ? "Hostname" : "IPAddress", value }));
  return out;
}

/**
 * `status.addresses` of a managed Gateway with no Service (`serviceless`): the requested IP
 * alone when gangway listens on it, else where it listens (`listen`, best first). A requested
 * IP is not refused: istiod would ask its Service for it, and the Service is not gangway's.
 */
export function listenerAddresses(g: KubernetesGatewayResource, listen: string[]): StatusAddress[] {
  const asked = g.spec.addresses?.[0]?.value ?? "";
  const chosen = asked !== "" && listen.some((a) => a.toLowerCase() === asked.toLowerCase()) ? [asked] : listen;
  return chosen.map((value) => ({ type: isIP(value) === 0 ? "Hostname" : "IPAddress", value }));
}

/** Not Managed and no Hostname address: istiod assigns the Gateway to nothing and builds no listener. */
export function unassignable(g: KubernetesGatewayResource): boolean {
  return gatewayServices(g).hosts.length === 0;
}

// The status istiod writes on each Kubernetes Ingress it serves: `loadBalancer.ingress`,
// the addresses of the ingress gateway's Service (the mesh config's `ingressService`,
// default `istio-ingressgateway`, in the gateway namespace): `externalName` for an
// ExternalName Service, else its `status.loadBalancer.ingress` (ip, else hostname) then
// `spec.externalIPs`. Each is `{ip}` when it is an IP address, else `{hostname}`; sorted by
// hostname, then ip. No such Service in the files: istiod reports no address; gangway reports
// where it listens (CompileOptions.listenAddresses, as a Gateway API Gateway's status.addresses:
// a specific --bind, INSTANCE_IP/POD_IP and INSTANCE_IPS, the interfaces, 127.0.0.1), so a client that reads the
// Ingress's status (the Ingress conformance suite does) finds an address that answers. With
// `ingressService: ""` istiod reports the external IPs of the nodes its gateway pods run on;
// gangway reads no Pods or Nodes and reports where it listens there too.
import { isIP } from "node:net";
import type { IngressResource, ServiceResource } from "../model/kube.ts";
import type { StatusItem } from "../snapshot/status.ts";
import type { CompileContext } from "./context.ts";

type Address = { ip: string } | { hostname: string };

/** The ingress gateway's addresses, as istiod's runningAddresses finds them through the Service. */
export function ingressAddresses(ctx: CompileContext, services: ServiceResource[]): Address[] {
  const name = ctx.opts.mesh?.ingressService ?? "istio-ingressgateway";
  const svc = name === "" ? undefined : services.find((s) => s.metadata.name === name && s.metadata.namespace === ctx.opts.namespace);
  if (svc === undefined) return (ctx.opts.listenAddresses ?? []).map((ip) => ({ ip }));
  const raw = svc.spec.type === "ExternalName" ? [svc.spec.externalName] : [...(svc.spec.loadBalancerIngress ?? []), ...(svc.spec.externalIPs ?? [])];
  const out: Address[] = raw.filter((a) => a !== "").map((a) => (isIP(a) !== 0 ? { ip: a } : { hostname: a }));
  const host = (a: Address) => ("hostname" in a ? a.hostname : "");
  const ip = (a: Address) => ("ip" in a ? a.ip : "");
  // stable: hostname first (IPs have none), then ip
  return out.sort((a, b) => (host(a) !== host(b) ? (host(a) < host(b) ? -1 : 1) : ip(a) < ip(b) ? -1 : ip(a) > ip(b) ? 1 : 0));
}

/** One status item per Ingress served. */
export function ingressStatus(ctx: CompileContext, served: IngressResource[], services: ServiceResource[]): StatusItem[] {
  if (served.length === 0) return [];
  const addresses = ingressAddresses(ctx, services);
  return served.map((ing) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { namespace: ing.metadata.namespace, name: ing.metadata.name },
    status: { loadBalancer: addresses.length === 0 ? {} : { ingress: addresses.map((a) => ({ ...a })) } },
  }));
}

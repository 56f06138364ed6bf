// DestinationRule, ServiceEntry and WorkloadEntry (networking.istio.io): the
// service-side settings a gateway's clusters use.
import { isIP } from "node:net";
import { Codes } from "../model/codes.ts";
import type { DestinationRuleSpec, Resolution, ServiceEntryPort, ServiceEntrySpec, Subset, WorkloadEntrySpec } from "../model/istio.ts";
import { int, join, obj, objList, oneOf, port, str, strList, strMap, type Obj, type Reader } from "./read.ts";
import { decodeTrafficPolicy } from "./traffic-policy.ts";

export function decodeDestinationRule(r: Reader, spec: Obj): DestinationRuleSpec {
  const subsets = objList(r, spec, "subsets", "spec", (s, p): Subset => ({
    name: str(r, s, "name", p, true),
    labels: strMap(r, s, "labels", p),
    trafficPolicy: decodeTrafficPolicy(r, s, "trafficPolicy", p),
  }));
  const seen = new Set<string>();
  subsets.forEach((s, i) => {
    if (seen.has(s.name)) r.fail(Codes.Conflict, `spec.subsets[${i}].name`, `duplicate subset name ${JSON.stringify(s.name)}`);
    seen.add(s.name);
  });
  const ws = obj(r, spec, "workloadSelector", "spec");
  return {
    host: str(r, spec, "host", "spec", true).toLowerCase(),
    trafficPolicy: decodeTrafficPolicy(r, spec, "trafficPolicy", "spec"),
    subsets,
    exportTo: strList(r, spec, "exportTo", "spec"),
    workloadSelector: ws === null ? null : strMap(r, ws, "matchLabels", "spec.workloadSelector"),
  };
}

/** A WorkloadEntry spec (the kind's spec, or a ServiceEntry endpoint). */
export function decodeWorkload(r: Reader, o: Obj, path: string, requireAddress: boolean): WorkloadEntrySpec {
  const ports: Record<string, number> = {};
  const po = obj(r, o, "ports", path);
  if (po !== null) for (const k of Object.keys(po)) ports[k] = port(r, po, k, join(path, "ports"));
  return {
    address: str(r, o, "address", path, requireAddress),
    ports,
    labels: strMap(r, o, "labels", path),
    network: str(r, o, "network", path),
    locality: str(r, o, "locality", path),
    weight: int(r, o, "weight", path, 0, 0x7fffffff),
    serviceAccount: str(r, o, "serviceAccount", path),
  };
}

/** Istio's protocol.Parse names (case-insensitive). */
const SE_PROTOCOLS = new Set(["TCP", "UDP", "GRPC", "GRPC-WEB", "HTTP", "HTTP_PROXY", "HTTP2", "HTTPS", "TLS", "MONGO", "REDIS", "MYSQL"]);

/** A host name as Istio's ValidateFQDN takes it: 255 characters at most, DNS-1123 labels (either case), a top-level label not all digits, a trailing dot allowed. */
function isFqdn(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  const parts = name.split(".");
  if (/^[-+]?\d+$/.test(parts.at(-1)!)) return false;
  return parts.every((l, i) => (i === parts.length - 1 && l === "") || (l.length <= 63 && /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/.test(l)));
}

/**
 * A ServiceEntry's endpoints as Istio's webhook validates them (ValidateServiceEntry):
 * a STATIC endpoint is an IP address or a Unix socket, a DNS one an IP address or a
 * host name, and the port names an endpoint maps are the ServiceEntry's own.
 */
function checkEndpoints(r: Reader, resolution: Resolution, endpoints: WorkloadEntrySpec[], ports: ServiceEntryPort[]): void {
  if (resolution !== "STATIC" && resolution !== "DNS" && resolution !== "DNS_ROUND_ROBIN") return;
  const names = new Set(ports.map((p) => p.name));
  endpoints.forEach((e, i) => {
    const path = `spec.endpoints[${i}]`;
    const a = e.address;
    if (a === "") return; // "is required", said by the reader
    if (resolution === "STATIC" && !a.startsWith("unix://") && isIP(a) === 0) r.fail(Codes.InvalidValue, `${path}.address`, `endpoint address ${JSON.stringify(a)} is not a valid IP address (resolution STATIC)`);
    if (resolution !== "STATIC" && isIP(a) === 0 && !isFqdn(a)) r.fail(Codes.InvalidValue, `${path}.address`, `endpoint address ${JSON.stringify(a)} is not a valid FQDN or an IP address`);
    // (a name that is no port name at all gets the CRD's own message, src/decode/cel.ts)
    for (const k of Object.keys(e.ports)) if (!names.has(k) && /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/.test(k) && k.length < 63) r.fail(Codes.InvalidValue, join(join(path, "ports"), k), `endpoint port ${k} is not defined by the service entry (its ports are named ${[...names].map((n) => JSON.stringify(n)).join(", ") || "nothing"})`);
  });
}

export function decodeServiceEntry(r: Reader, spec: Obj): ServiceEntrySpec {
  const ports = objList(r, spec, "ports", "spec", (o, p): ServiceEntryPort => {
    const protocol = str(r, o, "protocol", p).toUpperCase();
    // Istio's ValidateProtocol: "" (sniffed) or a protocol it knows; anything else is refused, not read as TCP
    if (protocol !== "" && !SE_PROTOCOLS.has(protocol)) r.fail(Codes.InvalidValue, join(p, "protocol"), `unsupported protocol: ${str(r, o, "protocol", p)} (${[...SE_PROTOCOLS].join(", ")})`);
    return { number: port(r, o, "number", p, true), name: str(r, o, "name", p), protocol, targetPort: port(r, o, "targetPort", p) };
  });
  const ws = obj(r, spec, "workloadSelector", "spec");
  const resolution = oneOf<Resolution>(r, spec, "resolution", "spec", ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"], "NONE");
  const endpoints = objList(r, spec, "endpoints", "spec", (o, p) => decodeWorkload(r, o, p, true));
  if (ws !== null && endpoints.length > 0) r.fail(Codes.Conflict, "spec", "only one of endpoints and workloadSelector may be given");
  checkEndpoints(r, resolution, endpoints, ports);
  const hosts = strList(r, spec, "hosts", "spec", true).map((h) => h.toLowerCase());
  return {
    hosts,
    addresses: strList(r, spec, "addresses", "spec"),
    ports,
    location: oneOf(r, spec, "location", "spec", ["MESH_EXTERNAL", "MESH_INTERNAL"] as const, "MESH_EXTERNAL"),
    resolution,
    endpoints,
    workloadSelector: ws === null ? null : strMap(r, ws, "labels", "spec.workloadSelector"),
    exportTo: strList(r, spec, "exportTo", "spec"),
    subjectAltNames: strList(r, spec, "subjectAltNames", "spec"),
  };
}

// DestinationRule, ServiceEntry and WorkloadEntry (networking.istio.io): the
// service-side settings a gateway's clusters use.
import { Codes } from "../model/codes.ts";
import type {
  DestinationRuleSpec,
  PortTrafficPolicy,
  Resolution,
  ServiceEntryPort,
  ServiceEntrySpec,
  SimpleLb,
  Subset,
  TrafficPolicy,
  WorkloadEntrySpec,
} from "../model/istio.ts";
import { parseDuration } from "./duration.ts";
import { int, join, obj, objList, oneOf, port, str, strList, strMap, type Obj, type Reader } from "./read.ts";

const SIMPLE: readonly SimpleLb[] = ["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"];

/** Keys of `o` gangway does not apply, as `path.key`. */
function others(o: Obj | null, path: string, known: string[]): string[] {
  if (o === null) return [];
  return Object.keys(o)
    .filter((k) => !known.includes(k) && o[k] !== null && o[k] !== undefined)
    .map((k) => join(path, k));
}

function portPolicy(r: Reader, o: Obj, path: string): PortTrafficPolicy {
  const out: PortTrafficPolicy = { simple: null, connectTimeoutMs: 0, unsupported: [] };
  const lb = obj(r, o, "loadBalancer", path);
  if (lb !== null && lb.simple !== undefined) out.simple = oneOf(r, lb, "simple", join(path, "loadBalancer"), SIMPLE, "UNSPECIFIED");
  const cp = obj(r, o, "connectionPool", path);
  const tcp = cp === null ? null : obj(r, cp, "tcp", join(path, "connectionPool"));
  if (tcp !== null) {
    const p = join(path, "connectionPool.tcp");
    const t = str(r, tcp, "connectTimeout", p);
    if (t !== "") {
      const ms = parseDuration(t);
      if (ms === null || ms <= 0) r.fail(Codes.InvalidDuration, join(p, "connectTimeout"), `invalid duration ${JSON.stringify(t)} (like 1.5s, 500ms; more than 0)`);
      else out.connectTimeoutMs = ms;
    }
  }
  out.unsupported = [
    ...others(o, path, ["loadBalancer", "connectionPool", "portLevelSettings", "port"]),
    ...others(lb, join(path, "loadBalancer"), ["simple"]),
    ...others(cp, join(path, "connectionPool"), ["tcp"]),
    ...others(tcp, join(path, "connectionPool.tcp"), ["connectTimeout"]),
  ];
  return out;
}

function trafficPolicy(r: Reader, o: Obj, key: string, path: string): TrafficPolicy | null {
  const tp = obj(r, o, key, path);
  if (tp === null) return null;
  const p = join(path, key);
  const base = portPolicy(r, tp, p);
  const portLevelSettings = objList(r, tp, "portLevelSettings", p, (s, sp) => {
    const po = obj(r, s, "port", sp, true);
    return { port: po === null ? 0 : port(r, po, "number", join(sp, "port"), true), policy: portPolicy(r, s, sp) };
  });
  return { ...base, portLevelSettings };
}

export function decodeDestinationRule(r: Reader, spec: Obj): DestinationRuleSpec {
  const subsets = objList(r, spec, "subsets", "spec", (s, p): Subset => ({
    name: str(r, s, "name", p, true),
    labels: strMap(r, s, "labels", p),
    trafficPolicy: trafficPolicy(r, s, "trafficPolicy", p),
  }));
  const seen = new Set<string>();
  subsets.forEach((s, i) => {
    if (seen.has(s.name)) r.fail(Codes.Conflict, `spec.subsets[${i}].name`, `duplicate subset name ${JSON.stringify(s.name)}`);
    seen.add(s.name);
  });
  return {
    host: str(r, spec, "host", "spec", true).toLowerCase(),
    trafficPolicy: trafficPolicy(r, spec, "trafficPolicy", "spec"),
    subsets,
    exportTo: strList(r, spec, "exportTo", "spec"),
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

export function decodeServiceEntry(r: Reader, spec: Obj): ServiceEntrySpec {
  const ports = objList(r, spec, "ports", "spec", (o, p): ServiceEntryPort => ({
    number: port(r, o, "number", p, true),
    name: str(r, o, "name", p),
    protocol: str(r, o, "protocol", p).toUpperCase(),
    targetPort: port(r, o, "targetPort", p),
  }));
  const ws = obj(r, spec, "workloadSelector", "spec");
  const resolution = oneOf<Resolution>(r, spec, "resolution", "spec", ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"], "NONE");
  const endpoints = objList(r, spec, "endpoints", "spec", (o, p) => decodeWorkload(r, o, p, true));
  if (ws !== null && endpoints.length > 0) r.fail(Codes.Conflict, "spec", "only one of endpoints and workloadSelector may be given");
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
  };
}

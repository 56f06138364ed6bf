// Kubernetes kinds: Service, Endpoints, EndpointSlice, Secret, ConfigMap, Ingress, IngressClass.
// `root` is the whole document (Endpoints, EndpointSlice, Secret and ConfigMap keep their
// content at the top level, not under `spec`).
import { Codes } from "../model/codes.ts";
import type {
  EndpointPort,
  EndpointSliceSpec,
  EndpointsSpec,
  IngressBackend,
  IngressClassSpec,
  IngressPath,
  IngressSpec,
  PathType,
  SecretSpec,
  ConfigMapSpec,
  ServicePort,
  ServiceSpec,
} from "../model/kube.ts";
import { bool, intOrString, join, obj, objList, oneOf, port, str, strList, strMap, type Obj, type Reader } from "./read.ts";

export function decodeService(r: Reader, spec: Obj, doc: Obj = {}): ServiceSpec {
  const type = str(r, spec, "type", "spec") || "ClusterIP";
  const ports = objList(r, spec, "ports", "spec", (o, p): ServicePort => {
    const number = port(r, o, "port", p, true);
    const target = intOrString(r, o, "targetPort", p);
    return {
      name: str(r, o, "name", p),
      port: number,
      targetPort: target === "" || target === 0 ? number : target,
      protocol: str(r, o, "protocol", p) || "TCP",
      appProtocol: str(r, o, "appProtocol", p),
    };
  });
  if (ports.length > 1) {
    ports.forEach((sp, i) => {
      if (sp.name === "") r.fail(Codes.MissingField, `spec.ports[${i}].name`, "is required when a Service has several ports");
    });
  }
  const externalName = str(r, spec, "externalName", "spec", type === "ExternalName").toLowerCase();
  const out: ServiceSpec = { type, clusterIP: str(r, spec, "clusterIP", "spec"), externalName, selector: strMap(r, spec, "selector", "spec"), ports };
  // topology settings istiod acts on and gangway (no node, no locality) cannot: kept to be reported
  const itp = str(r, spec, "internalTrafficPolicy", "spec");
  if (itp !== "" && itp !== "Cluster") out.internalTrafficPolicy = itp;
  const td = str(r, spec, "trafficDistribution", "spec");
  if (td !== "") out.trafficDistribution = td;
  // addresses an Ingress's status reports (istiod's runningAddresses)
  const ext = strList(r, spec, "externalIPs", "spec");
  if (ext.length > 0) out.externalIPs = ext;
  const status = obj(r, doc, "status", "");
  const lb = status === null ? null : obj(r, status, "loadBalancer", "status");
  if (lb !== null) {
    const addrs = objList(r, lb, "ingress", "status.loadBalancer", (o, p) => str(r, o, "ip", p) || str(r, o, "hostname", p) || null);
    if (addrs.length > 0) out.loadBalancerIngress = addrs;
  }
  return out;
}

function endpointPorts(r: Reader, o: Obj, path: string, required: boolean): EndpointPort[] {
  return objList(r, o, "ports", path, (p, pp) => ({
    name: str(r, p, "name", pp),
    port: port(r, p, "port", pp, required),
    protocol: str(r, p, "protocol", pp) || "TCP",
  }));
}

export function decodeEndpoints(r: Reader, root: Obj): EndpointsSpec {
  const ips = (o: Obj, key: string, path: string): string[] =>
    objList(r, o, key, path, (a, p) => str(r, a, "ip", p, true) || null);
  return {
    subsets: objList(r, root, "subsets", "", (s, p) => ({
      addresses: ips(s, "addresses", p),
      notReadyAddresses: ips(s, "notReadyAddresses", p),
      ports: endpointPorts(r, s, p, true),
    })),
  };
}

export function decodeEndpointSlice(r: Reader, root: Obj, labels: Record<string, string>): EndpointSliceSpec {
  return {
    serviceName: labels["kubernetes.io/service-name"] ?? "",
    addressType: str(r, root, "addressType", "") || "IPv4",
    endpoints: objList(r, root, "endpoints", "", (e, p) => {
      const cond = obj(r, e, "conditions", p);
      // `ready: null`/absent means unknown, which Kubernetes says to read as ready.
      const ready = cond === null || cond.ready === undefined || cond.ready === null ? true : bool(r, cond, "ready", join(p, "conditions"));
      return { addresses: strList(r, e, "addresses", p, true), ready, zone: str(r, e, "zone", p) };
    }),
    // A slice port without a number means "all ports": gangway skips it (port 0).
    ports: endpointPorts(r, root, "", false),
  };
}

/** `data` values are base64: the published schema (format byte) has checked them, GW0109. */
export function decodeSecret(r: Reader, root: Obj): SecretSpec {
  const data: Record<string, string> = {};
  const d = strMap(r, root, "data", "");
  for (const k of Object.keys(d)) data[k] = Buffer.from(d[k]!.replace(/[\r\n]/g, ""), "base64").toString("utf8");
  Object.assign(data, strMap(r, root, "stringData", ""));
  return { type: str(r, root, "type", "") || "Opaque", data };
}

/** `data` as text; `binaryData` values are base64 (format byte, checked by the schema). */
export function decodeConfigMap(r: Reader, root: Obj): ConfigMapSpec {
  const data: Record<string, string> = { ...strMap(r, root, "data", "") };
  const b = strMap(r, root, "binaryData", "");
  for (const k of Object.keys(b)) data[k] = Buffer.from(b[k]!.replace(/[\r\n]/g, ""), "base64").toString("utf8");
  return { data };
}

/** v1 `{service: {name, port: {number|name}}}` or v1beta1 `{serviceName, servicePort}`. */
function backend(r: Reader, o: Obj, key: string, path: string, v1: boolean): IngressBackend | null {
  const b = obj(r, o, key, path);
  if (b === null) return null;
  const p = join(path, key);
  if (!v1) {
    const servicePort = intOrString(r, b, "servicePort", p);
    const serviceName = str(r, b, "serviceName", p);
    if (serviceName === "" && b.resource !== undefined) return { serviceName: "", port: "" };
    if (b.resource !== undefined && b.resource !== null) r.fail(Codes.Conflict, p, "only one of serviceName and resource may be given");
    if (serviceName === "") r.fail(Codes.MissingField, join(p, "serviceName"), "is required");
    if (servicePort === "") r.fail(Codes.MissingField, join(p, "servicePort"), "is required");
    return { serviceName, port: servicePort };
  }
  const svc = obj(r, b, "service", p);
  // the API server's ingress validation: "cannot set both resource and service backends"
  if (svc !== null && b.resource !== undefined && b.resource !== null) r.fail(Codes.Conflict, p, "only one of service and resource may be given");
  if (svc === null) {
    if (b.resource === undefined) r.fail(Codes.MissingField, join(p, "service"), "is required (or resource)");
    return { serviceName: "", port: "" };
  }
  const sp = join(p, "service");
  const po = obj(r, svc, "port", sp, true);
  let portRef: number | string = "";
  if (po !== null) {
    const pp = join(sp, "port");
    portRef = po.number !== undefined ? port(r, po, "number", pp) : str(r, po, "name", pp);
    if (portRef === "" || portRef === 0) r.fail(Codes.MissingField, pp, "number or name is required");
  }
  return { serviceName: str(r, svc, "name", sp, true), port: portRef };
}

export function decodeIngress(r: Reader, spec: Obj, apiVersion: string): IngressSpec {
  const v1 = apiVersion === "networking.k8s.io/v1";
  const rules = objList(r, spec, "rules", "spec", (rule, rp) => {
    const http = obj(r, rule, "http", rp);
    const paths =
      http === null
        ? []
        : objList(r, http, "paths", join(rp, "http"), (pa, pp): IngressPath => {
            const pathType = oneOf<PathType>(r, pa, "pathType", pp, ["Exact", "Prefix", "ImplementationSpecific"], "ImplementationSpecific");
            // pathType is required in networking.k8s.io/v1: the published schema says so (GW0105)
            const path = str(r, pa, "path", pp);
            if ((pathType === "Exact" || pathType === "Prefix") && !path.startsWith("/")) {
              r.fail(Codes.InvalidValue, join(pp, "path"), `must be an absolute path for pathType ${pathType}`);
            }
            return { path, pathType, backend: backend(r, pa, "backend", pp, v1) };
          }, true);
    return { host: str(r, rule, "host", rp).toLowerCase(), paths };
  });
  return {
    ingressClassName: str(r, spec, "ingressClassName", "spec"),
    defaultBackend: backend(r, spec, v1 ? "defaultBackend" : "backend", "spec", v1),
    rules,
    tls: objList(r, spec, "tls", "spec", (t, tp) => ({
      hosts: strList(r, t, "hosts", tp).map((h) => h.toLowerCase()),
      secretName: str(r, t, "secretName", tp),
    })),
  };
}

export function decodeIngressClass(r: Reader, spec: Obj): IngressClassSpec {
  const out: IngressClassSpec = { controller: str(r, spec, "controller", "spec", true) };
  if (obj(r, spec, "parameters", "spec") !== null) out.parameters = true;
  return out;
}


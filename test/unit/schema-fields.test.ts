// Every field the vendored published schemas accept for a kind gangway decodes
// is read by the decoder (what it decodes changes, or it refuses the value with
// a finding), or is listed in NOT_READ with the reason: a field accepted and
// dropped silently is the worst incompatibility (README: "a field gangway does
// not act on is never dropped silently"). A new schema version that adds a
// field fails here until it is decoded (acted on, or decoded to be reported at
// compile) or listed. What the compile does with what is decoded is pinned by
// each kind's own tests.
import { describe, expect, test } from "bun:test";
import { decodeFiles } from "../../src/decode/index.ts";
import { leaves, samples, schemaKinds, withField, type SchemaKind } from "../helpers/schema-fields.ts";

type Body = Record<string, unknown>;

/** A small valid document of each kind (without apiVersion/kind/metadata), with one of each list the fields sit in. */
const BASE: Record<string, Body> = {
  "istio/Gateway": { spec: { selector: { istio: "ingressgateway" }, servers: [{ port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["a.example.com"], tls: { mode: "SIMPLE", credentialName: "c" } }] } },
  "istio/VirtualService": {
    spec: {
      hosts: ["a.example.com"],
      gateways: ["gw"],
      http: [
        { match: [{ uri: { prefix: "/a" } }], route: [{ destination: { host: "h" }, weight: 60 }, { destination: { host: "s" }, weight: 40 }], retries: { attempts: 2 } },
        { match: [{ uri: { prefix: "/b" } }], redirect: { uri: "/x" } },
        { match: [{ uri: { prefix: "/c" } }], directResponse: { status: 200 } },
        { match: [{ uri: { prefix: "/d" } }], delegate: { name: "d" } },
      ],
      tcp: [{ route: [{ destination: { host: "h" } }] }],
      tls: [{ match: [{ sniHosts: ["a.example.com"] }], route: [{ destination: { host: "h" } }] }],
    },
  },
  "istio/DestinationRule": { spec: { host: "h", trafficPolicy: { portLevelSettings: [{ port: { number: 81 } }] }, subsets: [{ name: "v1", labels: { version: "v1" }, trafficPolicy: { portLevelSettings: [{ port: { number: 81 } }] } }] } },
  "istio/ServiceEntry": { spec: { hosts: ["se.example.com"], ports: [{ number: 80, name: "http", protocol: "HTTP" }], resolution: "STATIC", endpoints: [{ address: "10.0.0.1" }] } },
  "istio/WorkloadEntry": { spec: { address: "10.0.0.9", labels: { app: "h" } } },
  RequestAuthentication: { spec: { jwtRules: [{ issuer: "i", jwks: '{"keys":[]}' }] } },
  AuthorizationPolicy: { spec: { rules: [{ from: [{ source: { namespaces: ["a"] } }], to: [{ operation: { methods: ["GET"] } }], when: [{ key: "request.headers[x]", values: ["a"] }] }] } },
  GatewayClass: { spec: { controllerName: "istio.io/gateway-controller" } },
  // TLS, not HTTPS: an HTTPS listener's tls mode can only be Terminate (the CRD's CEL), so its mode would read as never read
  "gateway-api/Gateway": { spec: { gatewayClassName: "istio", listeners: [{ name: "l", port: 443, protocol: "TLS", tls: { certificateRefs: [{ name: "c" }] } }] } },
  HTTPRoute: { spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "s", port: 80 }] }] } },
  GRPCRoute: { spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "s", port: 80 }] }] } },
  "TLSRoute/v1": { spec: { parentRefs: [{ name: "gw" }], hostnames: ["a.example.com"], rules: [{ backendRefs: [{ name: "s", port: 80 }] }] } },
  "TLSRoute/v1alpha2": { spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "s", port: 80 }] }] } },
  "TCPRoute/v1": { spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "s", port: 80 }] }] } },
  "TCPRoute/v1alpha2": { spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "s", port: 80 }] }] } },
  ListenerSet: { spec: { parentRef: { name: "gw" }, listeners: [{ name: "l", port: 443, protocol: "TLS", tls: { certificateRefs: [{ name: "c" }] } }] } },
  ReferenceGrant: { spec: { from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "a" }], to: [{ group: "", kind: "Service" }] } },
  BackendTLSPolicy: { spec: { targetRefs: [{ group: "", kind: "Service", name: "s" }], validation: { hostname: "s.example.com", wellKnownCACertificates: "System" } } },
  ConfigMap: { data: { a: "b" } },
  Secret: { type: "Opaque", data: { a: "Yg==" } },
  Service: { spec: { ports: [{ port: 80, name: "http" }], selector: { app: "a" } } },
  Endpoints: { subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 80 }] }] },
  EndpointSlice: { addressType: "IPv4", endpoints: [{ addresses: ["10.0.0.1"] }], ports: [{ port: 80 }] },
  Ingress: { spec: { ingressClassName: "istio", rules: [{ host: "a.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 80 } } } }] } }] } },
  IngressClass: { spec: { controller: "istio.io/ingress-controller" } },
};

const KUBE_ONLY = "has no meaning without the cluster's nodes and pods (kube-proxy, the cloud load balancer or the scheduler act on it); istiod does not read it for a gateway";
const NO_DATA_PLANE = "a name or note with no meaning for the data plane";

/** Fields the decoder does not read, each with why that is right (istiod does not act on them for a gateway either). */
const NOT_READ: Record<string, Record<string, string>> = {
  GatewayClass: { "spec.description": NO_DATA_PLANE },
  "istio/Gateway": { "spec.servers[].port.targetPort": "refused when set (> 0), as Istio's validation refuses it on a Gateway; 0 is the proto's unset" },
  "TLSRoute/v1": { "spec.rules[].name": NO_DATA_PLANE },
  "TLSRoute/v1alpha2": { "spec.rules[].name": NO_DATA_PLANE },
  "TCPRoute/v1": { "spec.rules[].name": NO_DATA_PLANE },
  "TCPRoute/v1alpha2": { "spec.rules[].name": NO_DATA_PLANE },
  ConfigMap: { immutable: "an API server write guard" },
  Secret: { immutable: "an API server write guard" },
  Service: {
    "spec.allocateLoadBalancerNodePorts": KUBE_ONLY,
    "spec.clusterIPs": "gangway routes by host, not by the Service's virtual IPs",
    "spec.externalIPs": KUBE_ONLY,
    "spec.externalTrafficPolicy": KUBE_ONLY,
    "spec.healthCheckNodePort": KUBE_ONLY,
    "spec.ipFamilies": KUBE_ONLY,
    "spec.ipFamilyPolicy": KUBE_ONLY,
    "spec.loadBalancerClass": KUBE_ONLY,
    "spec.loadBalancerIP": KUBE_ONLY,
    "spec.loadBalancerSourceRanges": KUBE_ONLY,
    "spec.ports[].nodePort": KUBE_ONLY,
    "spec.publishNotReadyAddresses": "Kubernetes' endpoint controllers act on it (not-ready endpoints are then written ready); istiod reads it for DNS only",
    "spec.sessionAffinity": `${KUBE_ONLY} (stickiness at a gateway is a DestinationRule consistentHash)`,
    "spec.sessionAffinityConfig.clientIP.timeoutSeconds": KUBE_ONLY,
  },
  Endpoints: {
    "subsets[].addresses[].hostname": KUBE_ONLY,
    "subsets[].addresses[].nodeName": KUBE_ONLY,
    "subsets[].addresses[].targetRef.apiVersion": "istiod finds the pod (its labels) from it; without pods, the Endpoints' own labels stand in",
    "subsets[].addresses[].targetRef.fieldPath": "istiod finds the pod (its labels) from it; without pods, the Endpoints' own labels stand in",
    "subsets[].addresses[].targetRef.kind": "istiod finds the pod (its labels) from it; without pods, the Endpoints' own labels stand in",
    "subsets[].addresses[].targetRef.name": "istiod finds the pod (its labels) from it; without pods, the Endpoints' own labels stand in",
    "subsets[].addresses[].targetRef.namespace": "istiod finds the pod (its labels) from it; without pods, the Endpoints' own labels stand in",
    "subsets[].addresses[].targetRef.resourceVersion": "istiod finds the pod (its labels) from it; without pods, the Endpoints' own labels stand in",
    "subsets[].addresses[].targetRef.uid": "istiod finds the pod (its labels) from it; without pods, the Endpoints' own labels stand in",
    "subsets[].ports[].appProtocol": "istiod takes the protocol from the Service port, not the endpoint's",
  },
  EndpointSlice: {
    "endpoints[].conditions.serving": "istiod sends a not-ready endpoint only to persistent-session clusters (istio.io/persistent-session); gangway, as istiod otherwise, leaves it out",
    "endpoints[].conditions.terminating": "as serving: a not-ready endpoint is left out",
    "endpoints[].deprecatedTopology": KUBE_ONLY,
    "endpoints[].hints.forNodes[].name": "topology hints: istiod does not read them (Service trafficDistribution, which gangway reports, GW0412, is what it acts on)",
    "endpoints[].hints.forZones[].name": "topology hints: istiod does not read them (Service trafficDistribution, which gangway reports, GW0412, is what it acts on)",
    "endpoints[].hostname": KUBE_ONLY,
    "endpoints[].nodeName": "locality: istiod takes it from the node's topology labels; gangway has no nodes (the slice's labels and the endpoint's zone stand in)",
    "endpoints[].targetRef.apiVersion": "istiod finds the pod (its labels) from it; without pods, the slice's own labels stand in",
    "endpoints[].targetRef.fieldPath": "istiod finds the pod (its labels) from it; without pods, the slice's own labels stand in",
    "endpoints[].targetRef.kind": "istiod finds the pod (its labels) from it; without pods, the slice's own labels stand in",
    "endpoints[].targetRef.name": "istiod finds the pod (its labels) from it; without pods, the slice's own labels stand in",
    "endpoints[].targetRef.namespace": "istiod finds the pod (its labels) from it; without pods, the slice's own labels stand in",
    "endpoints[].targetRef.resourceVersion": "istiod finds the pod (its labels) from it; without pods, the slice's own labels stand in",
    "endpoints[].targetRef.uid": "istiod finds the pod (its labels) from it; without pods, the slice's own labels stand in",
    "ports[].appProtocol": "istiod takes the protocol from the Service port, not the endpoint's",
  },
  Ingress: { "spec.rules[].http.paths[].backend.service.port.name": "with number given the API server refuses name too (one of): the base document sets number" },
};

function decoded(k: SchemaKind, body: Body): { spec: string | null; said: string[] } {
  const doc = { apiVersion: k.apiVersion, kind: k.kind, metadata: { name: "n", namespace: "ns" }, ...body };
  const { resources, errors, warnings } = decodeFiles([{ path: "t.json", text: JSON.stringify(doc) }]);
  const r = resources[0];
  const spec = r === undefined ? null : JSON.stringify(r.spec, (_k, v: unknown) => (v instanceof Map ? [...v] : v instanceof Uint8Array ? [...v] : v));
  return { spec, said: [...errors, ...warnings].map((f) => `${f.field ?? ""}: ${f.message}`) };
}

/** How the decoder treats one field: "read" (the decoded spec changes), "refused" (every value gets a finding), or "silent". */
function verdict(k: SchemaKind, base: Body, baseSpec: string, path: string, values: unknown[]): string {
  let unchanged = 0;
  for (const v of values) {
    const body = withField(k, base, path, v);
    if (JSON.stringify(body) === JSON.stringify(base)) continue; // the value the base already has
    const d = decoded(k, body);
    if (d.said.length > 0) continue; // refused with a finding (or a sibling's): try another value
    if (d.spec !== baseSpec) return "read";
    unchanged++;
  }
  // no value decoded cleanly: every one was refused with a finding, so none is dropped silently
  return unchanged === 0 ? "refused" : "silent";
}

const kinds = schemaKinds();

describe("every field the published schemas accept is decoded, or listed with its reason", () => {
  for (const [name, k] of Object.entries(kinds)) {
    test(name, () => {
      const base = BASE[name]!;
      expect(base).toBeDefined();
      const b = decoded(k, base);
      expect(b.said).toEqual([]);
      const allowed = NOT_READ[name] ?? {};
      const silent: string[] = [];
      for (const leaf of leaves(k)) {
        if (leaf.path in allowed) continue;
        const v = verdict(k, base, b.spec!, leaf.path, samples(leaf.schema));
        if (v === "silent") silent.push(leaf.path);
      }
      expect(silent).toEqual([]);
    });
  }

  test("no value of a schema enum is refused as outside it (a value Istio accepts read as invalid)", () => {
    const refused: string[] = [];
    for (const [name, k] of Object.entries(kinds)) {
      for (const leaf of leaves(k)) {
        if (!Array.isArray(leaf.schema.enum)) continue;
        for (const v of leaf.schema.enum) {
          if (v === "" || v === null) continue;
          const { errors } = decodeFiles([{ path: "t.json", text: JSON.stringify({ apiVersion: k.apiVersion, kind: k.kind, metadata: { name: "n", namespace: "ns" }, ...withField(k, BASE[name]!, leaf.path, v) }) }]);
          for (const e of errors) if (e.message.startsWith("must be one of")) refused.push(`${name} ${leaf.path} ${JSON.stringify(v)}: ${e.field}: ${e.message}`);
        }
      }
    }
    expect(refused).toEqual([]);
  });

  test("NOT_READ names fields the schemas have, of kinds decoded here", () => {
    for (const [name, fields] of Object.entries(NOT_READ)) {
      const k = kinds[name];
      expect(k).toBeDefined();
      const paths = new Set(leaves(k!).map((l) => l.path));
      for (const f of Object.keys(fields)) expect(`${name} ${f} ${paths.has(f)}`).toBe(`${name} ${f} true`);
    }
  });
});

// DestinationRule trafficPolicy → the cluster's upstream policy: TLS modes and
// their credentials, consistent hash, connection pool, outlier detection, the
// upstream protocol, merging across rule / port / subset as Istio merges, and
// the findings for what an ingress cannot honour.
import { beforeAll, describe, expect, test } from "bun:test";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import type { Cluster, Snapshot } from "../../src/snapshot/types.ts";
import { gatewayWithRoutes, secret, tcpGatewayWithRoute } from "../helpers/config.ts";
import { generatedCookie } from "../../src/upstream/hash-key.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const GW_VS = (dest: string) => gatewayWithRoutes(`  - route: [{destination: ${dest}}]`, "[a.com]");

const SVC = (ports = "[{name: http, port: 8000}]") => `apiVersion: v1
kind: Service
metadata: {name: be}
spec:
  selector: {app: be}
  ports: ${ports}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: be-1, labels: {kubernetes.io/service-name: be, version: v1}}
addressType: IPv4
ports: [{name: http, port: 8080}, {name: grpc, port: 9090}, {name: "", port: 8080}]
endpoints: [{addresses: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4]}]
---
`;

const DR = (tp: string, subsets = "") => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be, namespace: default}
spec:
  host: be
  trafficPolicy:
${tp}
${subsets}
`;

const C = "outbound|8000||be.default.svc.cluster.local";

function cluster(s: Snapshot, name = C): Cluster {
  const c = s.clusters.get(name);
  if (c === undefined) throw new Error(`no cluster ${name}; have ${[...s.clusters.keys()].join(", ")}`);
  return c;
}

function decodeErrors(yaml: string): string[] {
  return decodeFiles([{ path: "t.yaml", text: yaml }]).errors.map((f) => `${f.code} ${f.field}: ${f.message}`);
}

describe("upstream TLS", () => {
  let ca: Issued;
  let client: Issued;
  beforeAll(async () => {
    ca = await createCA({ cn: "upstream-ca", keyType: "ec" });
    client = await issue(ca, { cn: "gw-client", usage: "client", keyType: "ec" });
  });

  test("SIMPLE without CA: system roots, SNI from the request (auto SNI), no ALPN on an HTTP/1.1 cluster", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    tls: {mode: SIMPLE}"));
    expect(cluster(s).upstream?.tls).toEqual({ mode: "SIMPLE", credential: "", systemRoots: true, sni: "", subjectAltNames: [], spiffeTrustDomain: "", insecureSkipVerify: false, alpn: [], problem: "" });
  });

  test("SIMPLE with credentialName: the CA of the Secret in the gateway namespace; sni and SANs kept", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + secret("be-ca", { "ca.crt": ca.cert }) + DR("    tls: {mode: SIMPLE, credentialName: be-ca, sni: be.internal, subjectAltNames: [be.internal]}"));
    const t = cluster(s).upstream!.tls!;
    expect([t.credential, t.systemRoots, t.sni, t.subjectAltNames, t.problem]).toEqual(["istio-system/be-ca", false, "be.internal", ["be.internal"], ""]);
    expect(s.credentials.get("istio-system/be-ca")!.caCert).toContain("BEGIN CERTIFICATE");
  });

  test("MUTUAL with credentialName: client certificate, key and CA from one Secret", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + secret("be-client", { "tls.crt": client.cert, "tls.key": client.key, "ca.crt": ca.cert }) + DR("    tls: {mode: MUTUAL, credentialName: be-client}"));
    const t = cluster(s).upstream!.tls!;
    expect([t.mode, t.credential, t.problem]).toEqual(["MUTUAL", "istio-system/be-client", ""]);
    const c = s.credentials.get("istio-system/be-client")!;
    expect([c.certChain !== "", c.privateKey !== "", c.caCert !== ""]).toEqual([true, true, true]);
  });

  test("MUTUAL with files (read by the loader)", () => {
    const certFiles = new Map<string, string | null>([
      ["/etc/c.pem", client.cert],
      ["/etc/k.pem", client.key],
      ["/etc/ca.pem", ca.cert],
    ]);
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    tls: {mode: MUTUAL, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem, caCertificates: /etc/ca.pem}"), { certFiles });
    const t = cluster(s).upstream!.tls!;
    expect([t.problem, t.systemRoots, s.credentials.get(t.credential)?.chain[0]?.subject]).toEqual(["", false, "CN=gw-client"]);
  });

  test.each([
    ["a missing Secret", "    tls: {mode: SIMPLE, credentialName: nope}", "Error GW0408 DestinationRule/default/be: SIMPLE to the upstream: Secret istio-system/nope not found: requests to this destination get 503"],
    ["an unreadable file", "    tls: {mode: SIMPLE, caCertificates: /nowhere/ca.pem}", "Error GW0408 DestinationRule/default/be: SIMPLE to the upstream: cannot read /nowhere/ca.pem: requests to this destination get 503"],
    ["ISTIO_MUTUAL without --mesh-certs", "    tls: {mode: ISTIO_MUTUAL}", "Error GW0410 DestinationRule/default/be: ISTIO_MUTUAL needs the mesh certificates: start with --mesh-certs DIR: requests to this destination get 503"],
  ])("%s: the cluster keeps a problem (503 UF), reported", (_n, tp, line) => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR(tp));
    expect(cluster(s).upstream!.tls!.problem).not.toBe("");
    expect(findingLines(s)).toContain(line);
  });

  test("MUTUAL whose Secret has only a CA is refused (GW0409)", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + secret("only-ca", { "ca.crt": ca.cert }) + DR("    tls: {mode: MUTUAL, credentialName: only-ca}"));
    expect(findingLines(s)).toContain("Error GW0409 DestinationRule/default/be: MUTUAL to the upstream: istio-system/only-ca has no client certificate and key: requests to this destination get 503");
  });

  test("ISTIO_MUTUAL: mesh identity, Istio's SNI and ALPN, SPIFFE trust domain", () => {
    const certFiles = new Map<string, string | null>([
      ["/mesh/cert-chain.pem", client.cert],
      ["/mesh/key.pem", client.key],
      ["/mesh/root-cert.pem", ca.cert],
    ]);
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    tls: {mode: ISTIO_MUTUAL}"), { certFiles, meshCerts: "/mesh", trustDomain: "example.org" });
    const t = cluster(s).upstream!.tls!;
    expect([t.problem, t.sni, t.spiffeTrustDomain, t.alpn]).toEqual(["", "outbound_.8000_._.be.default.svc.cluster.local", "example.org", ["istio-peer-exchange", "istio"]]);
  });

  test("a ServiceEntry's subjectAltNames are the SANs verified when the DestinationRule's tls names none (istiod's serviceAccounts)", () => {
    const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
  subjectAltNames: [spiffe://example.org/ns/ext/sa/api]
---
`;
    const dr = (tls: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ext, namespace: default}
spec:
  host: api.example.com
  trafficPolicy: {tls: ${tls}}
`;
    const sans = (tls: string) => cluster(compileYaml(GW_VS("{host: api.example.com, port: {number: 443}}") + se + dr(tls)), "outbound|443||api.example.com").upstream!.tls!.subjectAltNames;
    expect(sans("{mode: SIMPLE}")).toEqual(["spiffe://example.org/ns/ext/sa/api"]);
    expect(sans("{mode: SIMPLE, subjectAltNames: [api.example.com]}")).toEqual(["api.example.com"]);
  });

  test("DISABLE: no TLS (and no upstream policy at all)", () => {
    expect(cluster(compileYaml(GW_VS("{host: be}") + SVC() + DR("    tls: {mode: DISABLE}"))).upstream).toBeUndefined();
  });

  test("DISABLE with sni, subjectAltNames or insecureSkipVerify: nothing to act on (istiod ignores them too), each reported (GW0407)", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    tls: {mode: DISABLE, sni: be.internal, subjectAltNames: [be.internal], insecureSkipVerify: true}"));
    expect(cluster(s).upstream).toBeUndefined();
    expect(s.findings.filter((f) => f.code === "GW0407").map((f) => f.field)).toEqual(["spec.trafficPolicy.tls.sni", "spec.trafficPolicy.tls.subjectAltNames", "spec.trafficPolicy.tls.insecureSkipVerify"]);
  });

  test.each([
    ["ISTIO_MUTUAL with certificates", "    tls: {mode: ISTIO_MUTUAL, caCertificates: /a}", "GW0110 spec.trafficPolicy.tls.mode: ISTIO_MUTUAL takes no certificates: caCertificates given"],
    ["MUTUAL without client certificate", "    tls: {mode: MUTUAL}", "GW0105 spec.trafficPolicy.tls.clientCertificate: MUTUAL needs clientCertificate and privateKey (or credentialName)"],
    ["credentialName with files", "    tls: {mode: SIMPLE, credentialName: x, caCertificates: /a}", "GW0110 spec.trafficPolicy.tls.credentialName: credentialName and caCertificates cannot be used together"],
    ["unknown mode", "    tls: {mode: STRICT}", "GW0106 spec.trafficPolicy.tls.mode: must be one of"],
  ])("decode refuses %s", (_n, tp, err) => {
    // the schema check (vendored CRD schemas) or gangway's own decoder, whichever speaks first
    expect(decodeErrors(DR(tp)).some((e) => e.startsWith(err))).toBe(true);
  });
});

describe("consistent hash", () => {
  test.each([
    ["{httpHeaderName: X-User}", { kind: "header", name: "x-user" }, "RING_HASH", 1024, 65537],
    ["{httpCookie: {name: s, path: /, ttl: 60s}, ringHash: {minimumRingSize: 4096}}", { kind: "cookie", name: "s", path: "/", ttlMs: 60000 }, "RING_HASH", 4096, 65537],
    // a cookie's Max-Age is no timer: a year is not capped at the timers' ~24.8 days
    ["{httpCookie: {name: s, ttl: 8760h}}", { kind: "cookie", name: "s", path: "", ttlMs: 31_536_000_000 }, "RING_HASH", 1024, 65537],
    ["{useSourceIp: true, minimumRingSize: 2048}", { kind: "sourceIp" }, "RING_HASH", 2048, 65537],
    ["{httpQueryParameterName: u, maglev: {tableSize: 251}}", { kind: "query", name: "u" }, "MAGLEV", 1024, 251],
  ])("%s", (ch, key, algorithm, ring, table) => {
    const c = cluster(compileYaml(GW_VS("{host: be}") + SVC() + DR(`    loadBalancer: {consistentHash: ${ch}}`)));
    expect(c.lbPolicy).toBe(algorithm as Cluster["lbPolicy"]);
    expect(c.upstream?.hash).toEqual({ key: key as never, algorithm: algorithm as "RING_HASH", minimumRingSize: ring, maximumRingSize: 8_388_608, tableSize: table });
  });
  test("httpCookie.attributes go on the made-up cookie after Path, as Envoy's makeSetCookieValue writes them", () => {
    const c = cluster(compileYaml(GW_VS("{host: be}") + SVC() + DR("    loadBalancer: {consistentHash: {httpCookie: {name: s, path: /, ttl: 60s, attributes: [{name: SameSite, value: Strict}, {name: Secure}]}}}")));
    const key = c.upstream!.hash!.key;
    expect(key).toEqual({ kind: "cookie", name: "s", path: "/", ttlMs: 60000, attributes: [{ name: "SameSite", value: "Strict" }, { name: "Secure", value: "" }] });
    const g = generatedCookie(key as Extract<typeof key, { kind: "cookie" }>, "192.0.2.7:5555", "10.0.0.1:8080");
    expect(g.setCookie).toBe(`s="${g.value}"; Max-Age=60; Path=/; SameSite=Strict; Secure; HttpOnly`);
  });
  test("a table size that is not prime: Envoy's default, reported", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 1000}}}"));
    expect(cluster(s).upstream?.hash?.tableSize).toBe(65537);
    expect(findingLines(s)).toContain("Warning GW0414 DestinationRule/default/be: maglev tableSize 1000 is not a prime (Envoy rejects it): 65537 is used");
  });
  test.each([
    ["no key", "{ringHash: {minimumRingSize: 10}}", "GW0105 spec.trafficPolicy.loadBalancer.consistentHash: needs exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName"],
    ["two keys", "{httpHeaderName: a, useSourceIp: true}", "GW0110 spec.trafficPolicy.loadBalancer.consistentHash: "],
    ["ring and maglev", "{useSourceIp: true, ringHash: {}, maglev: {}}", "GW0110 spec.trafficPolicy.loadBalancer.consistentHash: "],
    ["cookie without name", "{httpCookie: {ttl: 1s}}", "GW0105 spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: is required"],
  ])("decode refuses %s", (_n, ch, err) => {
    // the schema check (vendored CRD schemas) or gangway's own decoder, whichever speaks first
    expect(decodeErrors(DR(`    loadBalancer: {consistentHash: ${ch}}`)).some((e) => e.startsWith(err))).toBe(true);
  });
});

describe("load balancer findings an ingress owes", () => {
  test("PASSTHROUGH: LEAST_REQUEST over the endpoints, said so", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    loadBalancer: {simple: PASSTHROUGH}"));
    expect(cluster(s).lbPolicy).toBe("LEAST_REQUEST");
    expect(findingLines(s).some((l) => l.startsWith("Warning GW0411 DestinationRule/default/be: simple PASSTHROUGH"))).toBe(true);
  });
  test("localityLbSetting failover without outlierDetection: istiod's warning, nothing applied", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    loadBalancer: {simple: ROUND_ROBIN, localityLbSetting: {failover: [{from: r1, to: r2}]}}"));
    expect(findingLines(s)).toContain("Warning GW0418 DestinationRule/default/be: failover needs outlierDetection (istiod's rule: without it Envoy never leaves priority 0): no locality failover is applied");
    expect(cluster(s).localityLb).toBeUndefined();
  });
});

describe("warmup (slow start)", () => {
  // istiod's slow_start_config: warmup over warmupDurationSecs; aggression 1 and minimumPercent 10 when unset
  test.each([
    ["{simple: ROUND_ROBIN, warmupDurationSecs: 30s}", "ROUND_ROBIN", { windowMs: 30_000, aggression: 1, minWeightPercent: 10 }],
    ["{simple: LEAST_REQUEST, warmup: {duration: 2s, aggression: 2, minimumPercent: 25}}", "LEAST_REQUEST", { windowMs: 2000, aggression: 2, minWeightPercent: 25 }],
    ["{simple: LEAST_CONN, warmup: {duration: 10s, minimumPercent: 0}}", "LEAST_REQUEST", { windowMs: 10_000, aggression: 1, minWeightPercent: 0 }],
    ["{warmup: {duration: 1.5s, aggression: 0.5}}", "LEAST_REQUEST", { windowMs: 1500, aggression: 0.5, minWeightPercent: 10 }],
    ["{simple: ROUND_ROBIN, warmupDurationSecs: 30s, warmup: {duration: 5s}}", "ROUND_ROBIN", { windowMs: 5000, aggression: 1, minWeightPercent: 10 }],
  ])("%s → %s with %o, no finding", (lb, policy, slowStart) => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR(`    loadBalancer: ${lb}`));
    expect(cluster(s).lbPolicy).toBe(policy as Cluster["lbPolicy"]);
    expect(cluster(s).upstream?.slowStart).toEqual(slowStart);
    expect(findingLines(s).filter((l) => l.includes("GW0413"))).toEqual([]);
  });
  test("a port-level loadBalancer carries its own warmup", () => {
    const s = compileYaml(
      GW_VS("{host: be}") + SVC() + DR("    loadBalancer: {simple: RANDOM}\n    portLevelSettings: [{port: {number: 8000}, loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 3s}}]"),
    );
    expect(cluster(s).upstream?.slowStart).toEqual({ windowMs: 3000, aggression: 1, minWeightPercent: 10 });
  });
  test.each([
    ["{simple: RANDOM, warmupDurationSecs: 30s}", "simple RANDOM", "warmupDurationSecs"],
    ["{simple: PASSTHROUGH, warmup: {duration: 30s}}", "simple PASSTHROUGH", "warmup"],
    ["{consistentHash: {httpHeaderName: x-user}, warmup: {duration: 30s}}", "consistentHash", "warmup"],
  ])("%s: not applied (istiod writes no slow start there), said so", (lb, by, field) => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR(`    loadBalancer: ${lb}`));
    expect(cluster(s).upstream?.slowStart).toBeUndefined();
    const f = s.findings.filter((x) => x.code === "GW0413");
    expect(f.map((x) => x.message)).toEqual([`warmup applies to ROUND_ROBIN and LEAST_REQUEST only (as istiod writes it): not applied with ${by}`]);
    expect(f[0]!.field).toBe(`spec.trafficPolicy.loadBalancer.${field}`);
  });
  test.each([
    ["{warmup: {minimumPercent: 5}}", "warmup.duration"],
    ["{warmup: {duration: 30s, aggression: 0}}", "warmup.aggression"],
    ["{warmup: {duration: 30s, minimumPercent: 150}}", "warmup.minimumPercent"],
    ["{warmupDurationSecs: 0s}", "warmupDurationSecs"],
  ])("%s is refused as Istio's validation refuses it (%s)", (lb, field) => {
    const errs = decodeErrors(DR(`    loadBalancer: ${lb}`));
    expect(errs.some((e) => e.includes(`spec.trafficPolicy.loadBalancer.${field}`))).toBe(true);
  });
});

describe("connection pool", () => {
  test("every field lands in the cluster's limits", () => {
    const c = cluster(
      compileYaml(
        GW_VS("{host: be}") +
          SVC() +
          DR(`    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 2s, tcpKeepalive: {probes: 3, time: 60s, interval: 10s}}
      http: {http1MaxPendingRequests: 5, http2MaxRequests: 100, maxRequestsPerConnection: 50, maxRetries: 2, idleTimeout: 30s, maxConcurrentStreams: 64}`),
      ),
    );
    expect(c.connectTimeoutMs).toBe(2000);
    expect(c.upstream?.limits).toEqual({
      maxConnections: 10,
      maxPendingRequests: 5,
      maxRequests: 100,
      maxRetries: 2,
      maxRequestsPerConnection: 50,
      idleTimeoutMs: 30000,
      maxConcurrentStreams: 64,
      tcpKeepalive: { probes: 3, timeMs: 60000, intervalMs: 10000 },
    });
  });
  test("http.maxRetries is applied (the retry budget), so no finding says otherwise", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    connectionPool: {http: {maxRetries: 2}}"));
    expect(findingLines(s).filter((l) => l.includes("maxRetries"))).toEqual([]);
  });
  test("tcp.idleTimeout stands in for http.idleTimeout", () => {
    const c = cluster(compileYaml(GW_VS("{host: be}") + SVC() + DR("    connectionPool: {tcp: {idleTimeout: 5s}}")));
    expect(c.upstream?.limits.idleTimeoutMs).toBe(5000);
  });
  test("fields not applied are reported (GW0407)", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC() + DR("    connectionPool: {tcp: {maxConnectionDuration: 1h}, http: {useClientProtocol: true}}"));
    const lines = findingLines(s);
    expect(lines).toContain("Warning GW0407 DestinationRule/default/be: maxConnectionDuration is not applied by gangway (ignored)");
    expect(lines.filter((l) => l.includes("useClientProtocol"))).toEqual([]);
  });
});

describe("upstream protocol", () => {
  const proto = (svcPorts: string, tp = "", dest = "{host: be}") => {
    const s = compileYaml(GW_VS(dest) + SVC(svcPorts) + (tp === "" ? "" : DR(tp)));
    const c = [...s.clusters.values()][0]!;
    return [c.upstream?.protocol ?? "HTTP1", c.upstream?.protocolSource ?? ""];
  };
  test.each([
    ["[{name: http, port: 8000}]", "", ["HTTP1", ""]],
    ["[{name: grpc, port: 8000}]", "", ["HTTP2", "port protocol GRPC"]],
    ["[{name: grpc-echo, port: 8000}]", "", ["HTTP2", "port protocol GRPC"]],
    ["[{name: grpc-web, port: 8000}]", "", ["HTTP1", ""]],
    ["[{name: http2-x, port: 8000}]", "", ["HTTP2", "port protocol HTTP2"]],
    ["[{name: web, port: 8000, appProtocol: grpc}]", "", ["HTTP2", "port protocol GRPC"]],
    ["[{name: web, port: 8000, appProtocol: kubernetes.io/h2c}]", "", ["HTTP2", "port protocol HTTP2"]],
    ["[{name: grpc, port: 8000, appProtocol: http}]", "", ["HTTP1", ""]],
    ["[{name: http, port: 8000}]", "    connectionPool: {http: {h2UpgradePolicy: UPGRADE}}", ["HTTP2", "h2UpgradePolicy UPGRADE"]],
    ["[{name: grpc, port: 8000}]", "    connectionPool: {http: {h2UpgradePolicy: DO_NOT_UPGRADE}}", ["HTTP2", "port protocol GRPC"]],
  ])("Service ports %s %s", (ports, tp, want) => {
    expect(proto(ports, tp)).toEqual(want);
  });
  test("useClientProtocol: an HTTP/1.1 cluster (also on a grpc port) and its HTTP/2 twin for HTTP/2 clients, TLS offering h2", () => {
    const s = compileYaml(GW_VS("{host: be}") + SVC("[{name: grpc, port: 8000}]") + DR("    tls: {mode: SIMPLE, insecureSkipVerify: true}\n    connectionPool: {http: {useClientProtocol: true}}"));
    const base = cluster(s, "outbound|8000||be.default.svc.cluster.local");
    const twin = cluster(s, "outbound|8000||be.default.svc.cluster.local|h2-clients");
    expect([base.upstream?.protocol, base.upstream?.tls?.alpn, base.http2Clients]).toEqual(["HTTP1", [], "outbound|8000||be.default.svc.cluster.local|h2-clients"]);
    expect([twin.upstream?.protocol, twin.upstream?.tls?.alpn, twin.http2ClientsOf, twin.http2Clients]).toEqual(["HTTP2", ["h2"], "outbound|8000||be.default.svc.cluster.local", undefined]);
    expect(twin.endpoints).toEqual(base.endpoints);
  });
  test("ServiceEntry port protocol GRPC", () => {
    const s = compileYaml(
      GW_VS("{host: api.ext, port: {number: 443}}") +
        `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.ext]
  ports: [{number: 443, name: g, protocol: GRPC}]
  resolution: DNS
`,
    );
    expect(cluster(s, "outbound|443||api.ext").upstream?.protocol).toBe("HTTP2");
  });
});

describe("merging as Istio: whole components; port level replaces; subset overrides", () => {
  const subsets = `  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      outlierDetection: {consecutive5xxErrors: 7, maxEjectionPercent: 100}
  - name: v2
    labels: {version: v1}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 8000}
        tls: {mode: SIMPLE}`;
  const s = compileYaml(
    gatewayWithRoutes(
      `  - match: [{uri: {prefix: /1}}]
    route: [{destination: {host: be, subset: v1}}]
  - match: [{uri: {prefix: /2}}]
    route: [{destination: {host: be, subset: v2}}]
  - route: [{destination: {host: be}}]`,
      "[a.com]",
    ) +
      SVC() +
      DR(
        `    loadBalancer: {consistentHash: {useSourceIp: true}}
    connectionPool: {tcp: {maxConnections: 3}}
    outlierDetection: {consecutive5xxErrors: 2, maxEjectionPercent: 50}`,
        subsets,
      ),
  );
  test("the rule's policy", () => {
    const u = cluster(s).upstream!;
    expect([u.hash?.key.kind, u.limits.maxConnections, u.outlier?.consecutive5xx]).toEqual(["sourceIp", 3, 2]);
  });
  test("a subset's outlierDetection replaces the rule's; the other components stay", () => {
    const u = cluster(s, "outbound|8000|v1|be.default.svc.cluster.local").upstream!;
    expect([u.hash?.key.kind, u.limits.maxConnections, u.outlier?.consecutive5xx, u.outlier?.maxEjectionPercent]).toEqual(["sourceIp", 3, 7, 100]);
  });
  test("a subset's port-level entry replaces all four components (omitted ones are defaults)", () => {
    const c = cluster(s, "outbound|8000|v2|be.default.svc.cluster.local");
    const u = c.upstream!;
    expect([c.lbPolicy, u.hash, u.limits.maxConnections, u.outlier, u.tls?.mode]).toEqual(["LEAST_REQUEST", null, 0, null, "SIMPLE"]);
  });
});

describe("TCP routes", () => {
  const tcpGateway = tcpGatewayWithRoute(31400, "be", 8000);
  test("tls, connection limits and a useSourceIp hash on a cluster a tcp route forwards to apply: no GW0415", () => {
    const s = compileYaml(tcpGateway + SVC() + DR("    tls: {mode: SIMPLE}\n    connectionPool: {tcp: {maxConnections: 1}}\n    loadBalancer: {consistentHash: {useSourceIp: true}}"));
    const u = cluster(s, "outbound|8000||be.default.svc.cluster.local").upstream!;
    expect([u.tls?.mode, u.hash?.key.kind, u.limits.maxConnections]).toEqual(["SIMPLE", "sourceIp", 1]);
    expect(findingLines(s).filter((l) => l.includes("GW0415"))).toEqual([]);
  });
  test("a consistentHash key a TCP connection does not have is reported", () => {
    const s = compileYaml(tcpGateway + SVC() + DR("    loadBalancer: {consistentHash: {httpHeaderName: x-user}}"));
    expect(findingLines(s)).toContain(
      "Warning GW0415 VirtualService/default/vs: outbound|8000||be.default.svc.cluster.local: consistentHash by header has no key on TCP routes (only useSourceIp does): connections go to a random endpoint",
    );
  });
  test("tls on a cluster a TLS passthrough route forwards to is reported as not applied", () => {
    const s = compileYaml(
      `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 443, name: tls, protocol: TLS}, hosts: ["a.example.com"], tls: {mode: PASSTHROUGH}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ["a.example.com"]
  gateways: [gw]
  tls: [{match: [{sniHosts: [a.example.com]}], route: [{destination: {host: be, port: {number: 8000}}}]}]
---
` +
        SVC() +
        DR("    tls: {mode: SIMPLE}"),
    );
    expect(findingLines(s)).toContain(
      "Warning GW0415 VirtualService/default/vs: outbound|8000||be.default.svc.cluster.local: tls of its DestinationRule is not applied to TLS passthrough routes (the client's TLS goes through untouched)",
    );
  });
});

// BackendTLSPolicy: decoding (v1, v1alpha3; the Gateway's tls.backend.clientCertificateRef)
// and what the compile makes of it: the cluster's upstream TLS, how it merges
// with DestinationRules (the user's tls wins, as istiod merges its generated
// rule under the user's), port targets, CA references and their status.
import { beforeAll, describe, expect, test } from "bun:test";
import { createCA, type Issued } from "../../src/certs/generate.ts";
import type { BackendTLSPolicyResource } from "../../src/model/backendtls.ts";
import type { KubernetesGatewayResource } from "../../src/model/gatewayapi.ts";
import type { StatusItem } from "../../src/snapshot/status.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import type { UpstreamTls } from "../../src/snapshot/upstream.ts";
import { gatewayWithRoutes } from "../helpers/config.ts";
import { compileYaml, decodeOk, findingLines } from "./pipeline-helpers.ts";

let ca: Issued;
beforeAll(async () => {
  ca = await createCA({ cn: "backend-ca", keyType: "ec" });
});

const caMap = (name = "ca", pem = () => ca.cert) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data: { "ca.crt": pem() } }) + "\n---\n";

const SVC = `apiVersion: v1
kind: Service
metadata: {name: be, namespace: default}
spec:
  ports: [{name: https, port: 443}, {name: other, port: 8443}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: be-1, namespace: default, labels: {kubernetes.io/service-name: be}}
addressType: IPv4
ports: [{name: https, port: 8443}, {name: other, port: 9443}]
endpoints: [{addresses: [10.0.0.1]}]
---
`;

const POLICY = (name: string, target: string, validation: string, meta = "") => `apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: ${name}, namespace: default${meta}}
spec:
  targetRefs: [${target}]
  validation: ${validation}
---
`;
const BE = `{group: "", kind: Service, name: be}`;
const BE_PORT = (section: string) => `{group: "", kind: Service, name: be, sectionName: ${section}}`;
const VALID = (host = "be.internal", ref = `{group: "", kind: ConfigMap, name: ca}`) => `{caCertificateRefs: [${ref}], hostname: ${host}}`;

/** An Istio Gateway routing a.com to be:443 and /other to be:8443 (istiod applies a BackendTLSPolicy whoever routes to the Service). */
const ROUTES = gatewayWithRoutes(`  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: be, port: {number: 8443}}}]
  - route: [{destination: {host: be, port: {number: 443}}}]`, "[a.com]");

const C443 = "outbound|443||be.default.svc.cluster.local";
const C8443 = "outbound|8443||be.default.svc.cluster.local";
const tlsOf = (s: Snapshot, c = C443): UpstreamTls | null => s.clusters.get(c)?.upstream?.tls ?? null;
const statusOf = (s: Snapshot, name: string): StatusItem | undefined => s.gatewayStatus?.find((i) => i.kind === "BackendTLSPolicy" && i.metadata.name === name);
const conds = (s: Snapshot, name: string): string[][] =>
  statusOf(s, name)!.status.ancestors!.map((a) => [`${a.ancestorRef.kind}/${a.ancestorRef.name}${a.ancestorRef.sectionName ? `:${a.ancestorRef.sectionName}` : ""}`, ...a.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)]);

describe("decode", () => {
  test("v1 and v1alpha3: targetRefs, validation (CA refs, wellKnown, SANs by type)", () => {
    for (const v of ["v1", "v1alpha3"]) {
      const [p] = decodeOk(`apiVersion: gateway.networking.k8s.io/${v}
kind: BackendTLSPolicy
metadata: {name: p, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: be, sectionName: https}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
    hostname: be.example.com
    subjectAltNames: [{type: URI, uri: "spiffe://x/y"}, {type: Hostname, hostname: a.example.com}]
`) as [BackendTLSPolicyResource];
      expect(p.kind).toBe("BackendTLSPolicy");
      expect(p.spec).toEqual({
        targetRefs: [{ group: "", kind: "Service", name: "be", sectionName: "https" }],
        options: {},
        validation: {
          caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }],
          wellKnownCACertificates: "",
          hostname: "be.example.com",
          subjectAltNames: [{ type: "URI", value: "spiffe://x/y" }, { type: "Hostname", value: "a.example.com" }],
        },
      });
    }
  });

  test("a Gateway's tls.backend.clientCertificateRef (kind Secret when not written); absent without one", () => {
    const [g, h] = decodeOk(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: g, namespace: ns}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
  tls: {backend: {clientCertificateRef: {name: client, namespace: other}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: h, namespace: ns}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
`) as KubernetesGatewayResource[];
    expect(g!.spec.backendClientCertificateRef).toEqual({ group: "", kind: "Secret", name: "client", namespace: "other" });
    expect(h!.spec.backendClientCertificateRef ?? null).toBeNull();
  });
});

describe("compile: the cluster's upstream TLS", () => {
  test("a Service's clusters get SIMPLE TLS: SNI = hostname, the ConfigMap's CA, the SANs; also when only an Istio Gateway routes there", () => {
    const s = compileYaml(ROUTES + SVC + caMap() + POLICY("p", BE, `{caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: be.internal, subjectAltNames: [{type: URI, uri: "spiffe://td/be"}]}`));
    const t = tlsOf(s)!;
    expect(t).toMatchObject({ mode: "SIMPLE", sni: "be.internal", subjectAltNames: ["spiffe://td/be"], credential: "configmap://default/ca", systemRoots: false, problem: "" });
    expect(s.credentials.get("configmap://default/ca")!.caCert).toContain("BEGIN CERTIFICATE");
    expect(tlsOf(s, C8443)!.sni).toBe("be.internal");
    expect(conds(s, "p")).toEqual([["Service/be", "Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]]);
  });

  test("spec.options: istiod reads none; each key is a Warning naming it, the policy still applies", () => {
    const policy = POLICY("p", BE, VALID()).replace("  validation:", "  options: {example.com/min-version: TLSv1.3}\n  validation:");
    const s = compileYaml(ROUTES + SVC + caMap() + policy);
    expect(tlsOf(s)!.sni).toBe("be.internal");
    expect(s.findings.filter((f) => f.code === "GW0807").map((f) => `${f.field}: ${f.message}`)).toEqual(["spec.options.example.com/min-version: option example.com/min-version is not read (istiod reads no BackendTLSPolicy option): ignored"]);
  });

  test("sectionName: only that port; it wins over an all-ports policy there", () => {
    const s = compileYaml(ROUTES + SVC + caMap() + POLICY("all", BE, VALID("all.internal")) + POLICY("port", BE_PORT("other"), VALID("port.internal")));
    expect(tlsOf(s)!.sni).toBe("all.internal");
    expect(tlsOf(s, C8443)!.sni).toBe("port.internal");
    const only = compileYaml(ROUTES + SVC + caMap() + POLICY("port", BE_PORT("other"), VALID("port.internal")));
    expect(tlsOf(only)).toBeNull();
  });

  test("wellKnownCACertificates System: the system's roots, no credential", () => {
    const s = compileYaml(ROUTES + SVC + POLICY("p", BE, `{wellKnownCACertificates: System, hostname: be.internal}`));
    expect(tlsOf(s)).toMatchObject({ mode: "SIMPLE", credential: "", systemRoots: true, problem: "" });
  });

  test("a DestinationRule's tls wins over the policy; a rule without tls lets the policy fill in", () => {
    const dr = (tp: string, ns = "default") => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be, namespace: ${ns}}
spec:
  host: be.default.svc.cluster.local
  trafficPolicy:
${tp}
---
`;
    const base = ROUTES + SVC + caMap() + POLICY("p", BE, VALID());
    expect(tlsOf(compileYaml(base + dr("    tls: {mode: SIMPLE, sni: user.internal}")))!.sni).toBe("user.internal");
    expect(tlsOf(compileYaml(base + dr("    loadBalancer: {simple: ROUND_ROBIN}")))!.sni).toBe("be.internal");
    // a port-level entry for 443 replaces the rule's policy there (istiod: the policy's all-ports tls does not reach it)
    const portLevel = compileYaml(base + dr("    portLevelSettings: [{port: {number: 443}, loadBalancer: {simple: ROUND_ROBIN}}]"));
    expect(tlsOf(portLevel)).toBeNull();
    expect(tlsOf(portLevel, C8443)!.sni).toBe("be.internal");
    // a rule in the gateway's namespace is the one istiod picks: the policy's rule (in the Service's namespace) is not merged
    expect(tlsOf(compileYaml(base + dr("    loadBalancer: {simple: ROUND_ROBIN}", "istio-system")))).toBeNull();
  });
});

describe("compile: references, conflicts and status", () => {
  test("a missing ConfigMap, one without ca.crt, a Secret, another kind: Accepted False NoValidCACertificate, the clusters answer 503", () => {
    const cases: [string, string, string][] = [
      [`{group: "", kind: ConfigMap, name: nope}`, "InvalidCACertificateRef", "Certificate reference not found: reference default/nope (of kind ConfigMap) not found"],
      [`{group: "", kind: ConfigMap, name: empty}`, "InvalidCACertificateRef", "Certificate invalid: found secret, but didn't have expected keys cacert or ca.crt; found: other"],
      [`{group: "", kind: Secret, name: ca}`, "InvalidKind", "Certificate reference invalid: unsupported reference kind: Secret"],
      [`{group: example.com, kind: Thing, name: ca}`, "InvalidKind", "Certificate reference not supported: unsupported kind Thing"],
    ];
    const empty = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "empty", namespace: "default" }, data: { other: "x" } }) + "\n---\n";
    for (const [ref, reason, message] of cases) {
      const s = compileYaml(ROUTES + SVC + empty + POLICY("p", BE, VALID("be.internal", ref)));
      expect(tlsOf(s)!.problem).not.toBe("");
      const a = statusOf(s, "p")!.status.ancestors![0]!;
      expect(a.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([["Accepted", "False", "NoValidCACertificate"], ["ResolvedRefs", "False", reason]]);
      expect(a.conditions[1]!.message).toBe(message);
      expect(findingLines(s).some((l) => l.startsWith("Error GW0830 BackendTLSPolicy/default/p"))).toBe(true);
    }
  });

  test("several caCertificateRefs: the first is used, Accepted says so", () => {
    const s = compileYaml(ROUTES + SVC + caMap() + POLICY("p", BE, `{caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}, {group: "", kind: ConfigMap, name: nope}], hostname: be.internal}`));
    expect(tlsOf(s)!.credential).toBe("configmap://default/ca");
    expect(statusOf(s, "p")!.status.ancestors![0]!.conditions[0]!.message).toBe("Configuration is valid; warning: only the first caCertificateRefs will be used");
  });

  test("targets: a missing Service or port name is TargetNotFound (and stays so for the later targets, as istiod writes it); the valid targets are served", () => {
    const s = compileYaml(ROUTES + SVC + caMap() + POLICY("p", `${BE_PORT("https")}, ${BE_PORT("nope")}, {group: "", kind: Service, name: ghost}`, VALID()));
    expect(tlsOf(s)!.sni).toBe("be.internal");
    expect(tlsOf(s, C8443)).toBeNull();
    expect(conds(s, "p")).toEqual([
      ["Service/be:https", "Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"],
      ["Service/be:nope", "Accepted=False/TargetNotFound", "ResolvedRefs=True/ResolvedRefs"],
      ["Service/ghost", "Accepted=False/TargetNotFound", "ResolvedRefs=True/ResolvedRefs"],
    ]);
    expect(statusOf(s, "p")!.status.ancestors![1]!.conditions[0]!.message).toBe(`targetRefs invalid: sectionName "nope" does not exist in Service default/be`);
  });

  test("conflict: the older policy (creationTimestamp, then name) keeps the target; the newer is Accepted False Conflicted", () => {
    const s = compileYaml(
      ROUTES + SVC + caMap() +
        POLICY("a-newer", BE, VALID("newer.internal"), ", creationTimestamp: '2026-01-02T00:00:00Z'") +
        POLICY("z-older", BE, VALID("older.internal"), ", creationTimestamp: '2026-01-01T00:00:00Z'"),
    );
    expect(tlsOf(s)!.sni).toBe("older.internal");
    expect(conds(s, "a-newer")).toEqual([["Service/be", "Accepted=False/Conflicted", "ResolvedRefs=True/ResolvedRefs"]]);
    expect(statusOf(s, "a-newer")!.status.ancestors![0]!.conditions[0]!.message).toBe(`Conflicts with BackendTLSPolicy "z-older" targeting the same backend`);
    expect(conds(s, "z-older")[0]![1]).toBe("Accepted=True/Accepted");
  });
});

test("annotation istio.io/ignore-policy-attachment: true: not applied, never conflicts, Accepted False IgnoredByIstio", () => {
  const s = compileYaml(
    ROUTES + SVC + caMap() +
      POLICY("a-ignored", BE, VALID("ignored.internal"), ", annotations: {istio.io/ignore-policy-attachment: 'True'}, creationTimestamp: '2026-01-01T00:00:00Z'") +
      POLICY("b-applied", BE, VALID("applied.internal"), ", creationTimestamp: '2026-01-02T00:00:00Z'"),
  );
  expect(tlsOf(s)!.sni).toBe("applied.internal");
  expect(conds(s, "a-ignored")).toEqual([["Service/be", "Accepted=False/IgnoredByIstio"]]);
  expect(conds(s, "b-applied")[0]![1]).toBe("Accepted=True/Accepted");
});

test("a ServiceEntry target (istiod's extension): each of its hosts, sectionName naming one of its ports", () => {
  const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}, {number: 8443, name: alt, protocol: HTTPS}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.9}]
---
`;
  const routes = gatewayWithRoutes(`  - route: [{destination: {host: api.example.com, port: {number: 443}}}]`, "[a.com]");
  const s = compileYaml(routes + se + caMap() + POLICY("p", `{group: networking.istio.io, kind: ServiceEntry, name: ext, sectionName: https}`, VALID("api.example.com")));
  expect(tlsOf(s, "outbound|443||api.example.com")).toMatchObject({ mode: "SIMPLE", sni: "api.example.com", credential: "configmap://default/ca" });
  expect(conds(s, "p")).toEqual([["ServiceEntry/ext:https", "Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]]);
});

test("proxy-config secrets names the ConfigMap CA as istiod's credentialName for it (configmap://ns/name)", async () => {
  const { render } = await import("../../src/cli/proxy-config.ts");
  const { snapshotToJSON } = await import("../../src/snapshot/dump.ts");
  const s = compileYaml(ROUTES + SVC + caMap() + POLICY("p", BE, VALID()));
  const table = render("secrets", snapshotToJSON(s) as Record<string, unknown>);
  expect(table.split("\n")[1]!.split(/\s+/).slice(0, 3)).toEqual(["configmap://default/ca", "CA", "ACTIVE"]);
});

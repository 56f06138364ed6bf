// Gateway API frontend client certificate validation (`spec.tls.frontend`):
// decoding, the per-port choice, the chain each listener compiles to (MUTUAL or
// OPTIONAL_MUTUAL with the CA of its ConfigMap or Secret), and the listener
// status istiod writes when the reference does not resolve.
import { beforeAll, describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import { render } from "../../src/cli/proxy-config.ts";
import { snapshotToJSON } from "../../src/snapshot/dump.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import type { KubernetesGatewayResource } from "../../src/model/gatewayapi.ts";
import type { FilterChain, Snapshot } from "../../src/snapshot/types.ts";
import type { StatusItem } from "../../src/snapshot/status.ts";
import { compileYaml, decodeOk, findingLines } from "./pipeline-helpers.ts";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";

let caA: Issued;
let caB: Issued;
let server: Issued;

beforeAll(async () => {
  [caA, caB] = await Promise.all([createCA({ cn: "ca-a", keyType: "ec" }), createCA({ cn: "ca-b", keyType: "ec" })]);
  server = await issue(caA, { cn: "example.org", names: ["example.org", "*.example.org"], usage: "server", keyType: "ec" });
});

const CLASS = ISTIO_GATEWAY_CLASS;

function configMap(ns: string, name: string, data: Record<string, string>): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: ${ns}}\ndata: ${JSON.stringify(data)}\n`;
}

/** A Gateway in `gw` with an HTTPS listener on 443 (a.example.org) and one on 8443 (b.example.org), and `frontend` as its `tls.frontend`. */
function gateway(frontend: string, more = ""): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: gw}
spec:
  gatewayClassName: istio
  tls:
    frontend: ${frontend}
  listeners:
  - {name: https, port: 443, protocol: HTTPS, hostname: a.example.org, tls: {certificateRefs: [{name: cert}]}}
  - {name: https-8443, port: 8443, protocol: HTTPS, hostname: b.example.org, tls: {certificateRefs: [{name: cert}]}}
${more}`;
}

function compile(...docs: string[]): Snapshot {
  return compileYaml([CLASS, secretYaml("cert", "gw", "tls", server.cert, server.key), ...docs].join("---\n"));
}

function chainOf(s: Snapshot, port: number): FilterChain {
  const l = s.listeners.find((x) => x.port === port);
  if (l === undefined) throw new Error(`no listener on ${port}`);
  return l.tls!.chains[0]!;
}

function gatewayStatus(s: Snapshot): StatusItem["status"] {
  return s.gatewayStatus!.find((i) => i.kind === "Gateway")!.status;
}

/** The listener's conditions as `Type=Status/Reason`. */
function listenerConditions(s: Snapshot, name: string): string[] {
  const l = gatewayStatus(s).listeners!.find((x) => x.name === name)!;
  return l.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}

const REF_A = "{validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-a}]}}";
const DEFAULT_A = `{default: ${REF_A}}`;

describe("decode: spec.tls.frontend", () => {
  test("default and perPort are read, mode defaults to AllowValidOnly", () => {
    const [g] = decodeOk(
      CLASS.replace(/[\s\S]*/, "") +
        gateway(`{default: {validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-a}]}}, perPort: [{port: 8443, tls: {validation: {mode: AllowInsecureFallback, caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-b, namespace: other}]}}}, {port: 9443, tls: {}}]}`),
    ) as [KubernetesGatewayResource];
    expect(g.spec.frontendTls).toEqual({
      default: { validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca-a", namespace: "" }], mode: "AllowValidOnly" } },
      perPort: [
        { port: 8443, tls: { validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca-b", namespace: "other" }], mode: "AllowInsecureFallback" } } },
        { port: 9443, tls: { validation: null } },
      ],
    });
  });

  test("a port twice in perPort is an Error (the CRD's rule: unique within the Gateway)", () => {
    const ref = "{validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-a}]}}";
    const { resources, errors } = decodeFiles([{ path: "gw.yaml", text: gateway(`{default: ${ref}, perPort: [{port: 443, tls: ${ref}}, {port: 443, tls: ${ref}}]}`) }]);
    expect(resources).toEqual([]);
    expect(errors[0]).toMatchObject({ level: "Error", field: "spec.tls.frontend.perPort[1].port" });
    expect(errors[0]!.message).toContain("must be unique within the Gateway");
  });
});

describe("compile: the chain of each TLS-terminating listener", () => {
  test("AllowValidOnly: MUTUAL with the ConfigMap's CA (istiod's configmap://ns/name-cacert), the credential's own CA unused", () => {
    const s = compile(gateway(DEFAULT_A), configMap("gw", "ca-a", { "ca.crt": caA.cert }));
    for (const port of [443, 8443]) {
      const c = chainOf(s, port);
      expect(c.mode).toBe("MUTUAL");
      expect(c.clientCa).toBe("configmap://gw/ca-a-cacert");
      expect(c.acceptUntrusted).toBeUndefined();
      expect(c.disabled).toBe("");
    }
    const ca = s.credentials.get("configmap://gw/ca-a-cacert")!;
    expect(ca.caCert.trim()).toBe(caA.cert.trim());
    expect(ca.certChain).toBe("");
    expect(ca.sources).toEqual(["ConfigMap/gw/ca-a"]);
    // proxy-config secrets names it as istiod does
    const table = render("secrets", snapshotToJSON(s) as Record<string, unknown>);
    expect(table).toMatch(/^configmap:\/\/gw\/ca-a-cacert +CA +ACTIVE +true/m);
    expect(table).toMatch(/^kubernetes:\/\/cert +Cert Chain/m);
    expect(findingLines(s).filter((l) => l.startsWith("Error"))).toEqual([]);
  });

  test("a perPort entry replaces the default for its port only; one without validation asks for no certificate", () => {
    const perPort = (port: number, tls: string) => `{port: ${port}, tls: ${tls}}`;
    const s = compile(
      gateway(`{default: ${REF_A}, perPort: [${perPort(8443, "{validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-b}]}}")}]}`),
      configMap("gw", "ca-a", { "ca.crt": caA.cert }),
      configMap("gw", "ca-b", { "ca.crt": caB.cert }),
    );
    expect(chainOf(s, 443).clientCa).toBe("configmap://gw/ca-a-cacert");
    expect(chainOf(s, 8443).clientCa).toBe("configmap://gw/ca-b-cacert");
    const none = compile(gateway(`{default: ${REF_A}, perPort: [${perPort(8443, "{}")}]}`), configMap("gw", "ca-a", { "ca.crt": caA.cert }));
    expect(chainOf(none, 443).mode).toBe("MUTUAL");
    expect(chainOf(none, 8443).mode).toBe("SIMPLE");
    expect(chainOf(none, 8443).clientCa).toBeUndefined();
  });

  test("AllowInsecureFallback: OPTIONAL_MUTUAL accepting untrusted certificates, and the Gateway's InsecureFrontendValidationMode condition", () => {
    const s = compile(gateway("{default: {validation: {mode: AllowInsecureFallback, caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-a}]}}}"), configMap("gw", "ca-a", { "ca.crt": caA.cert }));
    expect(chainOf(s, 443)).toMatchObject({ mode: "OPTIONAL_MUTUAL", clientCa: "configmap://gw/ca-a-cacert", acceptUntrusted: true });
    expect(gatewayStatus(s).conditions).toContainEqual({
      type: "InsecureFrontendValidationMode",
      status: "True",
      reason: "ConfigurationChanged",
      message: "Gateway is operating in AllowInsecureFallback mode for frontend validation",
    });
    const strict = compile(gateway(DEFAULT_A), configMap("gw", "ca-a", { "ca.crt": caA.cert }));
    expect(gatewayStatus(strict).conditions!.map((c) => c.type)).toEqual(["Accepted", "Programmed"]);
  });

  test("a Secret as CA (kubernetes-gateway://ns/name-cacert), key cacert before ca.crt as istiod reads it", () => {
    const secret = `apiVersion: v1\nkind: Secret\nmetadata: {name: ca-secret, namespace: gw}\nstringData: ${JSON.stringify({ cacert: caB.cert, "ca.crt": caA.cert })}\n`;
    const s = compile(gateway("{default: {validation: {caCertificateRefs: [{kind: Secret, group: '', name: ca-secret}]}}}"), secret);
    expect(chainOf(s, 443).clientCa).toBe("kubernetes-gateway://gw/ca-secret-cacert");
    expect(s.credentials.get("kubernetes-gateway://gw/ca-secret-cacert")!.caCert.trim()).toBe(caB.cert.trim());
  });

  test("a ConfigMap of another namespace that a ReferenceGrant allows", () => {
    const grant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: ca, namespace: pki}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: gw}]
  to: [{group: "", kind: ConfigMap, name: ca-a}]
`;
    const s = compile(gateway("{default: {validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-a, namespace: pki}]}}}"), configMap("pki", "ca-a", { "ca.crt": caA.cert }), grant);
    expect(chainOf(s, 443).clientCa).toBe("configmap://pki/ca-a-cacert");
    expect(listenerConditions(s, "https")).toContain("ResolvedRefs=True/ResolvedRefs");
  });

  test("a TLS Passthrough listener and an HTTP listener are not touched by the default", () => {
    const more = `  - {name: tls, port: 9443, protocol: TLS, tls: {mode: Passthrough}}\n  - {name: http, port: 80, protocol: HTTP}\n`;
    const s = compile(gateway(DEFAULT_A, more), configMap("gw", "ca-a", { "ca.crt": caA.cert }));
    expect(chainOf(s, 9443).mode).toBe("PASSTHROUGH");
    expect(s.listeners.find((l) => l.port === 80)!.tls).toBeNull();
    expect(listenerConditions(s, "tls")).toContain("Accepted=True/Accepted");
  });
});

describe("status: a caCertificateRef that does not resolve (the listener is not accepted, not served)", () => {
  const cases: [string, string, string[], string][] = [
    ["a missing ConfigMap", "[{kind: ConfigMap, group: '', name: nope}]", [], "configmap gw/nope not found"],
    ["a ConfigMap without cacert or ca.crt", "[{kind: ConfigMap, group: '', name: ca-a}]", [configMap("gw", "ca-a", { other: "x" })], "found secret, but didn't have expected keys cacert or ca.crt; found: other"],
    ["an empty ca.crt", "[{kind: ConfigMap, group: '', name: ca-a}]", [configMap("gw", "ca-a", { "ca.crt": "" })], 'found key "ca.crt", but it was empty'],
    ["a ca.crt that is not PEM", "[{kind: ConfigMap, group: '', name: ca-a}]", [configMap("gw", "ca-a", { "ca.crt": "not pem" })], "the bundle is malformed"],
    ["two references", "[{kind: ConfigMap, group: '', name: ca-a}, {kind: ConfigMap, group: '', name: ca-b}]", [], "only one caCertificateRef is supported"],
  ];
  for (const [what, refs, docs, message] of cases) {
    test(`${what}: ResolvedRefs False InvalidCACertificateRef, Accepted False NoValidCACertificate`, () => {
      const s = compile(gateway(`{default: {validation: {caCertificateRefs: ${refs}}}}`), ...docs);
      expect(listenerConditions(s, "https")).toEqual(["Accepted=False/NoValidCACertificate", "Conflicted=False/NoConflicts", "Programmed=False/Invalid", "ResolvedRefs=False/InvalidCACertificateRef"]);
      expect(gatewayStatus(s).listeners![0]!.conditions[3]!.message).toContain(message);
      expect(s.listeners).toEqual([]); // neither listener is served
      expect(gatewayStatus(s).conditions![0]).toMatchObject({ type: "Accepted", status: "False", reason: "ListenersNotValid" });
      expect(findingLines(s).filter((l) => l.startsWith("Error GW0804")).join("\n")).toContain(message);
    });
  }

  test("a kind other than ConfigMap or Secret: InvalidCACertificateKind", () => {
    const s = compile(gateway("{default: {validation: {caCertificateRefs: [{kind: Service, group: '', name: svc}]}}}"));
    expect(listenerConditions(s, "https")).toContain("ResolvedRefs=False/InvalidCACertificateKind");
    expect(listenerConditions(s, "https")).toContain("Accepted=False/NoValidCACertificate");
  });

  test("another namespace without a ReferenceGrant: RefNotPermitted, whether the ConfigMap exists or not", () => {
    const ref = "{default: {validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: ca-a, namespace: pki}]}}}";
    const present = compile(gateway(ref), configMap("pki", "ca-a", { "ca.crt": caA.cert }));
    const absent = compile(gateway(ref));
    for (const s of [present, absent]) expect(listenerConditions(s, "https")).toContain("ResolvedRefs=False/RefNotPermitted");
    expect(gatewayStatus(present).listeners![0]!.conditions[3]!.message).toBe(gatewayStatus(absent).listeners![0]!.conditions[3]!.message);
  });

  test("only the listener whose port has the broken reference is affected", () => {
    const s = compile(
      gateway(`{default: ${REF_A}, perPort: [{port: 8443, tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: missing}]}}}]}`),
      configMap("gw", "ca-a", { "ca.crt": caA.cert }),
    );
    expect(listenerConditions(s, "https")).toContain("Programmed=True/Programmed");
    expect(listenerConditions(s, "https-8443")).toContain("Programmed=False/Invalid");
    expect(s.listeners.map((l) => l.port)).toEqual([443]);
    expect(s.findings.find((f) => f.code === "GW0804")).toMatchObject({ level: "Error", field: "spec.tls.frontend.perPort[0].tls.validation.caCertificateRefs[0]" });
  });

  test("a listener certificate that does not resolve is reported first (the CA is not looked at)", () => {
    const g = gateway("{default: {validation: {caCertificateRefs: [{kind: ConfigMap, group: '', name: nope}]}}}");
    const s = compileYaml([CLASS, g].join("---\n"));
    expect(listenerConditions(s, "https")).toContain("ResolvedRefs=False/InvalidCertificateRef");
    expect(listenerConditions(s, "https")).toContain("Accepted=True/Accepted");
  });
});

// A Gateway API listener's `tls.options`, as istiod's buildTLS reads them:
// `gateway.istio.io/tls-terminate-mode` (MUTUAL, OPTIONAL_MUTUAL with the
// certificateRef Secret's ca.crt; ISTIO_SIMPLE, ISTIO_MUTUAL with the mesh
// certificate and no certificateRefs) and `gateway.istio.io/tls-cipher-suites`.
// Other keys are reported, never dropped silently.
import { beforeAll, describe, expect, test } from "bun:test";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import type { FilterChain, Snapshot } from "../../src/snapshot/types.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";
import { ISTIO_GATEWAY_CLASS } from "../helpers/config.ts";

let ca: Issued;
let server: Issued;

beforeAll(async () => {
  ca = await createCA({ cn: "ca", keyType: "ec" });
  server = await issue(ca, { cn: "a.example.org", usage: "server", keyType: "ec" });
});

const CLASS = ISTIO_GATEWAY_CLASS;

function gateway(tls: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: gw}
spec:
  gatewayClassName: istio
  listeners:
  - {name: https, port: 443, protocol: HTTPS, hostname: a.example.org, tls: ${tls}}
`;
}

function compile(tls: string, withCa = true, meshCerts?: string): Snapshot {
  const secret = secretYaml("cert", "gw", "tls", server.cert, server.key, withCa ? ca.cert : undefined);
  return compileYaml([CLASS, secret, gateway(tls)].join("---\n"), meshCerts === undefined ? {} : { meshCerts });
}

function chain(s: Snapshot): FilterChain {
  return s.listeners.find((l) => l.port === 443)!.tls!.chains[0]!;
}

function listenerConditions(s: Snapshot): Record<string, string> {
  const item = s.gatewayStatus!.find((i) => i.kind === "Gateway")!;
  const l = (item.status as { listeners: { conditions: { type: string; status: string; reason: string }[] }[] }).listeners[0]!;
  return Object.fromEntries(l.conditions.map((c) => [c.type, `${c.status} ${c.reason}`]));
}

describe("gateway.istio.io/tls-terminate-mode", () => {
  test("no options: SIMPLE", () => {
    const c = chain(compile("{certificateRefs: [{name: cert}]}"));
    expect(c.mode).toBe("SIMPLE");
    expect(c.disabled).toBe("");
  });

  test("MUTUAL and OPTIONAL_MUTUAL: clients verified with the certificateRef Secret's ca.crt", () => {
    for (const mode of ["MUTUAL", "OPTIONAL_MUTUAL"] as const) {
      const c = chain(compile(`{certificateRefs: [{name: cert}], options: {gateway.istio.io/tls-terminate-mode: ${mode}}}`));
      expect(c.mode).toBe(mode);
      expect(c.disabled).toBe("");
      expect(c.clientCa).toBeUndefined();
    }
  });

  test("MUTUAL without a ca.crt in the Secret: the chain is disabled with an Error", () => {
    const s = compile(`{certificateRefs: [{name: cert}], options: {gateway.istio.io/tls-terminate-mode: MUTUAL}}`, false);
    expect(chain(s).disabled).toContain("needs a CA certificate");
    expect(findingLines(s).some((l) => l.startsWith("Error") && l.includes("needs a CA certificate"))).toBe(true);
  });

  test("ISTIO_MUTUAL and ISTIO_SIMPLE serve the mesh certificate, without certificateRefs", () => {
    const mesh = "/var/run/secrets/istio";
    const m = compile(`{options: {gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL}}`, true, mesh);
    expect(chain(m).mode).toBe("ISTIO_MUTUAL");
    expect(listenerConditions(m).ResolvedRefs).toBe("True ResolvedRefs");
    const simple = compile(`{options: {gateway.istio.io/tls-terminate-mode: ISTIO_SIMPLE}}`, true, mesh);
    expect(chain(simple).mode).toBe("SIMPLE");
    expect(listenerConditions(simple).Accepted).toBe("True Accepted");
    // the files are not there in this unit test: the credential names them
    expect(findingLines(simple).join("\n")).toContain(`${mesh}/cert-chain.pem`);
  });

  test("ISTIO_SIMPLE without --mesh-certs: an Error naming the option", () => {
    const s = compile(`{options: {gateway.istio.io/tls-terminate-mode: ISTIO_SIMPLE}}`);
    expect(findingLines(s).some((l) => l.startsWith("Error") && l.includes("ISTIO_SIMPLE serves the mesh certificate: start with --mesh-certs DIR"))).toBe(true);
  });
});

describe("other options", () => {
  test("gateway.istio.io/tls-cipher-suites: the listed suites (unknown ones dropped with a Warning)", () => {
    const s = compile(`{certificateRefs: [{name: cert}], options: {gateway.istio.io/tls-cipher-suites: "ECDHE-ECDSA-AES128-GCM-SHA256, NOT-A-CIPHER"}}`);
    expect(chain(s).ciphers).toBe("ECDHE-ECDSA-AES128-GCM-SHA256");
    expect(findingLines(s).some((l) => l.startsWith("Warning") && l.includes("NOT-A-CIPHER"))).toBe(true);
  });

  test("a key istiod does not read, or a mode it does not know, is a Warning; the listener still serves", () => {
    const s = compile(`{certificateRefs: [{name: cert}], options: {example.com/foo: bar, gateway.istio.io/tls-terminate-mode: STRICT}}`);
    const lines = findingLines(s).join("\n");
    expect(lines).toContain("option example.com/foo is not read");
    expect(lines).toContain('gateway.istio.io/tls-terminate-mode "STRICT" is not one of');
    expect(chain(s).mode).toBe("SIMPLE");
    expect(chain(s).disabled).toBe("");
  });
});

describe("certificateRefs, as istiod's buildTLS", () => {
  const second = () => secretYaml("cert2", "gw", "tls", server.cert, server.key);
  const compileRefs = (refs: string) => compileYaml([CLASS, secretYaml("cert", "gw", "tls", server.cert, server.key), second(), gateway(`{certificateRefs: ${refs}}`)].join("---\n"));

  test("two: the first is served, the second checked and reported as not presented", () => {
    const s = compileRefs("[{name: cert}, {name: cert2}]");
    expect(chain(s).credential).toBe("gw/cert");
    expect(findingLines(s).some((l) => l.startsWith("Warning") && l.includes('credentialNames[1] "gw/cert2" is not presented'))).toBe(true);
    expect(listenerConditions(s).ResolvedRefs).toBe("True ResolvedRefs");
  });

  test("one of two does not resolve: the other serves (istiod drops it silently)", () => {
    const s = compileRefs("[{name: missing}, {name: cert2}]");
    expect(chain(s).credential).toBe("gw/cert2");
    expect(chain(s).disabled).toBe("");
  });

  test("more than two: ResolvedRefs False, InvalidTLS, not served", () => {
    const s = compileRefs("[{name: cert}, {name: cert2}, {name: cert}]");
    expect(listenerConditions(s).ResolvedRefs).toBe("False InvalidTLS");
    expect(s.listeners.find((l) => l.port === 443)).toBeUndefined();
  });
});

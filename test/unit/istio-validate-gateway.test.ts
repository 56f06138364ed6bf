// Istio's Gateway validation cases (pkg/config/validation/validation_test.go:
// TestValidateGateway, TestValidateServer, TestValidateServerPort,
// TestValidateTlsOptions), replayed through gangway's decode (an Error refuses the
// document, as the admission webhook refuses it) and compile (Istio's validation
// Warnings, GW0208/GW0604: the document is served). `out` is a piece of the Error
// expected ("" none), `warning` a piece of the Warning expected ("" none checked).
import { describe, expect, test } from "bun:test";
import { compileSnapshot } from "../../src/compile/index.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import { options } from "./pipeline-helpers.ts";

function check(yaml: string): { errors: string[]; warnings: string[] } {
  const { resources, errors } = decodeFiles([{ path: "t.yaml", text: yaml }]);
  const errs = errors.filter((e) => e.level === "Error").map((e) => `${e.field ?? ""}: ${e.message}`);
  if (errs.length > 0) return { errors: errs, warnings: [] };
  const s = compileSnapshot(resources, options(), 1);
  return { errors: [], warnings: s.findings.filter((f) => f.level === "Warning").map((f) => `${f.code} ${f.message}`) };
}

function gateway(servers: string, name = "gw"): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}}
spec:
  selector: {istio: ingressgateway}
  servers:
${servers}
`;
}

function expectOutcome(yaml: string, out: string, warning = ""): void {
  const r = check(yaml);
  if (out === "") expect(r.errors).toEqual([]);
  else expect(r.errors.some((e) => e.includes(out)), `errors ${JSON.stringify(r.errors)} should name ${out}`).toBe(true);
  if (warning !== "") expect(r.warnings.some((w) => w.includes(warning)), `warnings ${JSON.stringify(r.warnings)} should name ${warning}`).toBe(true);
}

const server = (o: { hosts?: string[]; port?: string; tls?: string; bind?: string }) =>
  `  - hosts: ${JSON.stringify(o.hosts ?? ["foo.bar.com"])}
    port: ${o.port ?? "{name: http, number: 7, protocol: http}"}${o.bind === undefined ? "" : `\n    bind: "${o.bind}"`}${o.tls === undefined ? "" : `\n    tls: ${o.tls}`}`;

describe("TestValidateGateway", () => {
  const cases: [string, string, string, string?][] = [
    ["empty", `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec: {}\n`, "servers"],
    ["happy domain", gateway(server({ port: "{name: name1, number: 7, protocol: http}" })), ""],
    ["invalid port", gateway(server({ port: "{name: name1, number: 66000, protocol: http}" })), "port"],
    ["duplicate port names", gateway(server({ port: "{name: foo, number: 80, protocol: http}" }) + "\n" + server({ hosts: ["scooby.doo.com"], port: "{name: foo, number: 8080, protocol: http}" })), "port names"],
    ["invalid domain", gateway(server({ hosts: ["foo.*.bar.com"] })), "invalid host"],
    ["valid httpsRedirect", gateway(server({ hosts: ["bar.com"], port: "{name: http, number: 80, protocol: http}", tls: "{httpsRedirect: true}" })), ""],
    ["invalid https httpsRedirect", gateway(server({ hosts: ["bar.com"], port: "{name: https, number: 80, protocol: https}", tls: "{httpsRedirect: true, mode: SIMPLE, credentialName: c}" })), "", "httpsRedirect should only be used with HTTP servers"],
    ["invalid partial wildcard", gateway(server({ hosts: ["*bar.com"], port: "{name: tls, number: 443, protocol: tls}", tls: "{mode: ISTIO_MUTUAL}" })), "invalid host"],
    ["happy k8s gateway-api server with no attached routes (an Istio Gateway: ~ refused)", gateway(server({ hosts: ["~/foo.bar.com"] })), "invalid host"],
    ["invalid gateway name (ValidateGateway's DNS-1123 label check)", gateway(server({}), "gw.with.dots"), "invalid gateway name"],
  ];
  for (const [name, yaml, out, warning] of cases) test(name, () => expectOutcome(yaml, out, warning));
});

describe("TestValidateServer", () => {
  const cases: [string, Parameters<typeof server>[0], string][] = [
    ["happy", {}, ""],
    ["happy ip", { hosts: ["1.1.1.1"] }, ""],
    ["happy ns/name", { hosts: ["ns1/foo.bar.com"] }, ""],
    ["happy */name", { hosts: ["*/foo.bar.com"] }, ""],
    ["happy ./name", { hosts: ["./foo.bar.com"] }, ""],
    ["invalid ~/name", { hosts: ["~/foo.bar.com"] }, "invalid host"],
    ["invalid domain ns/name format", { hosts: ["ns1/foo.*.bar.com"] }, "invalid host"],
    ["invalid domain", { hosts: ["foo.*.bar.com"] }, "invalid host"],
    ["invalid short name host", { hosts: ["foo"] }, "short names"],
    ["invalid port", { port: "{number: 66000, name: http, protocol: http}" }, "port"],
    ["invalid tls options", { port: "{number: 1, name: http, protocol: http}", tls: "{mode: SIMPLE}" }, "TLS"],
    ["no tls on HTTPS", { port: "{number: 10000, name: https, protocol: https}" }, "must have TLS"],
    ["tls on HTTP", { port: "{number: 10000, name: http, protocol: http}", tls: "{mode: SIMPLE}" }, "cannot have TLS"],
    ["tls redirect on HTTP", { port: "{number: 10000, name: http, protocol: http}", tls: "{httpsRedirect: true}" }, ""],
    ["bind ip", { bind: "127.0.0.1" }, ""],
    ["bind bad ip", { bind: "foo.bar" }, "not an IP address"],
  ];
  for (const [name, o, out] of cases) test(name, () => expectOutcome(gateway(server(o)), out));
});

describe("TestValidateServerPort", () => {
  const cases: [string, string, string][] = [
    ["happy", "{protocol: http, number: 1, name: henry}", ""],
    ["invalid protocol", "{protocol: kafka, number: 1, name: henry}", "unknown protocol"],
    ["invalid number", `{protocol: http, number: ${1 << 30}, name: http}`, "port"],
    ["name, no number", "{protocol: http, number: 0, name: henry}", "number"],
    ["targetPort (validateServerPort: no impact on Gateways)", "{protocol: http, number: 80, name: http, targetPort: 8080}", "targetPort has no impact"],
  ];
  for (const [name, port, out] of cases) test(name, () => expectOutcome(gateway(server({ port })), out));
});

describe("TestValidateTlsOptions", () => {
  const https = (tls: string) => gateway(server({ port: "{name: https, number: 443, protocol: HTTPS}", tls }));
  const tlsPort = (tls: string) => gateway(server({ port: "{name: tls, number: 443, protocol: TLS}", tls }));
  const cases: [string, string, string, string?][] = [
    ["simple", https("{mode: SIMPLE, serverCertificate: /a.crt, privateKey: /a.key}"), ""],
    ["simple with client bundle", https("{mode: SIMPLE, serverCertificate: /a.crt, privateKey: /a.key, caCertificates: /ca.crt}"), ""],
    ["simple sds with client bundle", https("{mode: SIMPLE, credentialName: sds-name, caCertificates: /ca.crt}"), ""],
    ["simple sds with client bundle but with server cert", https("{mode: SIMPLE, credentialName: sds-name, serverCertificate: /a.crt, privateKey: /a.key, caCertificates: /ca.crt}"), "only one of credentialName"],
    ["simple no server cert", https("{mode: SIMPLE, privateKey: /a.key}"), "server certificate"],
    ["simple no private key", https("{mode: SIMPLE, serverCertificate: /a.crt}"), "private key"],
    ["simple sds no server cert", https("{mode: SIMPLE, credentialName: sds-name, privateKey: /a.key}"), ""],
    ["mutual", https("{mode: MUTUAL, serverCertificate: /a.crt, privateKey: /a.key, caCertificates: /ca.crt}"), ""],
    ["mutual sds", https("{mode: MUTUAL, credentialName: sds-name}"), ""],
    ["mutual no client CA bundle", https("{mode: MUTUAL, serverCertificate: /a.crt, privateKey: /a.key}"), "client CA bundle"],
    ["optional mutual no certs", https("{mode: OPTIONAL_MUTUAL}"), "server certificate"],
    ["credential names and certificates", https("{mode: SIMPLE, credentialNames: [a, b], serverCertificate: /a.crt, privateKey: /a.key}"), "only one of credentialName"],
    ["pass through sds no certs", tlsPort("{mode: PASSTHROUGH, credentialName: sds-name}"), "", "PASSTHROUGH mode does not use certificates"],
    ["pass through sds crl", tlsPort("{mode: PASSTHROUGH, caCrl: /crl.pem}"), "", "PASSTHROUGH mode does not use certificates"],
    ["istio_mutual no certs", https("{mode: ISTIO_MUTUAL}"), ""],
    ["istio_mutual with server cert", https("{mode: ISTIO_MUTUAL, serverCertificate: /a.crt}"), "cannot have an associated serverCertificate"],
    ["istio_mutual with client bundle", https("{mode: ISTIO_MUTUAL, caCertificates: /ca.crt}"), "cannot have an associated"],
    ["istio_mutual with private key", https("{mode: ISTIO_MUTUAL, privateKey: /a.key}"), "cannot have an associated privateKey"],
    ["istio_mutual with credential name", https("{mode: ISTIO_MUTUAL, credentialName: some-cred}"), "cannot have an associated credentialName"],
    ["invalid cipher suites", https("{mode: SIMPLE, credentialName: sds-name, cipherSuites: [not-a-cipher-suite]}"), "", "not-a-cipher-suite"],
    ["duplicate cipher suites", https("{mode: SIMPLE, credentialName: sds-name, cipherSuites: [ECDHE-ECDSA-AES128-SHA, ECDHE-ECDSA-AES128-SHA]}"), "", "duplicate cipher suites ignored: ECDHE-ECDSA-AES128-SHA"],
    ["invalid cipher suites with invalid config", https("{mode: SIMPLE, serverCertificate: /a.crt, cipherSuites: [not-a-cipher-suite]}"), "private key"],
    ["crl specified for SIMPLE TLS", https("{mode: SIMPLE, serverCertificate: /a.crt, privateKey: /a.key, caCrl: /crl.pem}"), "CRL is not supported with SIMPLE TLS"],
    ["crl specified for CredentialName", https("{mode: SIMPLE, credentialName: credential, caCrl: /crl.pem}"), "", "caCrl is ignored with credentialName"],
    ["with CredentialNames", https("{mode: SIMPLE, credentialNames: [credential1, credential2]}"), ""],
    // not in Istio's ValidCipherSuites (BoringSSL's cipher list cannot name TLS 1.3 suites): "ignoring invalid cipher suites"
    ["a TLS 1.3 suite name", https("{mode: SIMPLE, credentialName: sds-name, cipherSuites: [TLS_AES_128_GCM_SHA256]}"), "", "cipher suite TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite"],
    ["TLS version below TLSV1_2 without ciphers (validateTLSOptions warning)", https("{mode: SIMPLE, credentialName: c, minProtocolVersion: TLSV1_1}"), "", "needs cipherSuites"],
  ];
  for (const [name, yaml, out, warning] of cases) test(name, () => expectOutcome(yaml, out, warning));

  test("valid cipher suites / cipher suites operations: no warning; the operator entry reaches the cipher list", () => {
    const r = check(https("{mode: SIMPLE, credentialName: sds-name, cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256, -ECDHE-ECDSA-AES128-SHA]}"));
    expect(r.errors).toEqual([]);
    expect(r.warnings.filter((w) => w.startsWith("GW0604") || w.startsWith("GW0208"))).toEqual([]);
    const { resources } = decodeFiles([{ path: "t.yaml", text: https("{mode: SIMPLE, credentialName: sds-name, cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256, -ECDHE-ECDSA-AES128-SHA]}") }]);
    const chain = compileSnapshot(resources, options(), 1).listeners[0]!.tls!.chains[0]!;
    expect(chain.ciphers).toBe("ECDHE-ECDSA-AES128-GCM-SHA256:-ECDHE-ECDSA-AES128-SHA");
  });

  test("a cipher list that selects nothing (only a removal) disables the server, as Envoy refuses that context", () => {
    const { resources } = decodeFiles([{ path: "t.yaml", text: https("{mode: SIMPLE, credentialName: sds-name, cipherSuites: [-ECDHE-ECDSA-AES128-SHA]}") }]);
    const s = compileSnapshot(resources, options(), 1);
    expect(s.listeners[0]!.tls!.chains[0]!.disabled).toContain("select no cipher");
  });

  test("HTTP server with AUTO_PASSTHROUGH TLS settings and httpsRedirect (IsPassThroughServer): accepted", () => {
    expectOutcome(gateway(server({ port: "{name: http, number: 80, protocol: HTTP}", tls: "{mode: AUTO_PASSTHROUGH, httpsRedirect: true}" })), "");
  });
});

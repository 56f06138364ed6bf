// BackendTLSPolicy: decoding (v1, v1alpha3; the Gateway's tls.backend.clientCertificateRef)
// and what the compile makes of it: the cluster's upstream TLS, how it merges
// with DestinationRules (the user's tls wins, as istiod merges its generated
// rule under the user's), port targets, CA references and their status.
import { describe, expect, test } from "bun:test";
import type { BackendTLSPolicyResource } from "../../src/model/backendtls.ts";
import type { KubernetesGatewayResource } from "../../src/model/gatewayapi.ts";
import { decodeOk } from "./pipeline-helpers.ts";

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

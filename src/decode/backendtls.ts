// BackendTLSPolicy (gateway.networking.k8s.io v1, v1alpha3), and the Gateway's
// `spec.tls.backend.clientCertificateRef`. Only the shape is read here; what the
// references resolve to (Service, port name, ConfigMap) is status, settled by
// compile/gatewayapi/backendtls.ts.
import type { BackendClientCertificateRef, BackendTLSPolicySpec } from "../model/backendtls.ts";
import { join, obj, objList, oneOf, str, strMap, type Obj, type Reader } from "./read.ts";

export const BACKEND_TLS_POLICY = /^gateway\.networking\.k8s\.io\/(v1|v1alpha3)$/;

export function decodeBackendTLSPolicy(r: Reader, spec: Obj): BackendTLSPolicySpec {
  const v = obj(r, spec, "validation", "spec", true) ?? {};
  const vp = "spec.validation";
  return {
    targetRefs: objList(r, spec, "targetRefs", "spec", (t, p) => ({
      group: str(r, t, "group", p),
      kind: str(r, t, "kind", p, true),
      name: str(r, t, "name", p, true),
      sectionName: str(r, t, "sectionName", p),
    }), true),
    options: strMap(r, spec, "options", "spec"),
    validation: {
      caCertificateRefs: objList(r, v, "caCertificateRefs", vp, (c, p) => ({ group: str(r, c, "group", p), kind: str(r, c, "kind", p, true), name: str(r, c, "name", p, true) })),
      wellKnownCACertificates: str(r, v, "wellKnownCACertificates", vp),
      hostname: str(r, v, "hostname", vp, true),
      subjectAltNames: objList(r, v, "subjectAltNames", vp, (s, p) => {
        const type = oneOf(r, s, "type", p, ["Hostname", "URI"] as const, "Hostname");
        return { type, value: type === "Hostname" ? str(r, s, "hostname", p) : str(r, s, "uri", p) };
      }),
    },
  };
}

/** The Gateway's `spec.tls.backend.clientCertificateRef`, or null. */
export function decodeBackendClientCertificateRef(r: Reader, spec: Obj): BackendClientCertificateRef | null {
  const tls = obj(r, spec, "tls", "spec");
  const backend = tls === null ? null : obj(r, tls, "backend", "spec.tls");
  const ref = backend === null ? null : obj(r, backend, "clientCertificateRef", "spec.tls.backend");
  if (ref === null) return null;
  const p = join("spec.tls.backend", "clientCertificateRef");
  return { group: str(r, ref, "group", p), kind: str(r, ref, "kind", p) || "Secret", name: str(r, ref, "name", p, true), namespace: str(r, ref, "namespace", p) };
}

// Gateway API BackendTLSPolicy (gateway.networking.k8s.io v1, v1alpha3): how
// the gateway speaks TLS to a Service it forwards to, and the Gateway's
// `spec.tls.backend.clientCertificateRef` (the certificate it presents there).
import type { ResourceBase } from "./meta.ts";

/** LocalPolicyTargetReferenceWithSectionName: a Service (group ""), optionally one of its ports by name. */
export interface PolicyTargetRef {
  group: string;
  kind: string;
  name: string;
  /** A port name of the target; "": every port. */
  sectionName: string;
}

export interface BackendTLSPolicySpec {
  targetRefs: PolicyTargetRef[];
  /** `spec.options`: implementation-specific; istiod reads none (each is a Warning). */
  options: Record<string, string>;
  validation: {
    /** LocalObjectReferences (group "" kind ConfigMap is what istiod reads). */
    caCertificateRefs: { group: string; kind: string; name: string }[];
    /** "System", another value, or "" (not written). */
    wellKnownCACertificates: string;
    /** SNI sent, and the name verified when subjectAltNames is empty. */
    hostname: string;
    /** Hostname or URI SANs, as written (type order kept). */
    subjectAltNames: { type: "Hostname" | "URI"; value: string }[];
  };
}

export type BackendTLSPolicyResource = ResourceBase<"BackendTLSPolicy", BackendTLSPolicySpec>;

/** A Gateway's `spec.tls.backend.clientCertificateRef` (a SecretObjectReference; kind defaults to Secret). */
export interface BackendClientCertificateRef {
  group: string;
  kind: string;
  name: string;
  /** "": the Gateway's namespace. */
  namespace: string;
}

// Kubernetes kinds gangway reads (core v1, discovery.k8s.io/v1, networking.k8s.io),
// decoded and checked, every field with its default. Endpoints and Secret have
// no `spec` in Kubernetes; here their content sits under `spec` like the others.
import type { ResourceBase } from "./meta.ts";

// ---- Ingress / IngressClass ------------------------------------------------

/** A Service backend; `port` is a number or a port name (v1beta1 `servicePort` likewise). */
export interface IngressBackend {
  serviceName: string;
  port: number | string;
}

export type PathType = "Exact" | "Prefix" | "ImplementationSpecific";

export interface IngressPath {
  path: string;
  /** ImplementationSpecific when not written (v1beta1). */
  pathType: PathType;
  backend: IngressBackend | null;
}

export interface IngressRule {
  /** "" : every host. */
  host: string;
  paths: IngressPath[];
}

export interface IngressTLS {
  hosts: string[];
  secretName: string;
}

export interface IngressSpec {
  ingressClassName: string;
  defaultBackend: IngressBackend | null;
  rules: IngressRule[];
  tls: IngressTLS[];
}

export interface IngressClassSpec {
  controller: string;
  /** `parameters` was written (istiod reads none: reported). Absent: not written. */
  parameters?: true;
}

// ---- Secret ----------------------------------------------------------------

export interface SecretSpec {
  type: string;
  /** Key → value as UTF-8 text (`data` base64-decoded, `stringData` merged over it). */
  data: Record<string, string>;
}

// ---- ConfigMap ------------------------------------------------------------

export interface ConfigMapSpec {
  /** `data` as written, with `binaryData` (base64) decoded to UTF-8 text over it. */
  data: Record<string, string>;
}

// ---- Service / Endpoints / EndpointSlice -----------------------------------------

export interface ServicePort {
  name: string;
  port: number;
  /** Number or container port name; equals `port` when not written. */
  targetPort: number | string;
  protocol: string;
  appProtocol: string;
}

export interface ServiceSpec {
  type: string;
  clusterIP: string;
  externalName: string;
  selector: Record<string, string>;
  ports: ServicePort[];
  /** `internalTrafficPolicy` ("" when not written): `Local` keeps istiod to endpoints on the proxy's node. */
  internalTrafficPolicy?: string;
  /** `trafficDistribution` ("" when not written): istiod prefers endpoints near the proxy. */
  trafficDistribution?: string;
  /** `spec.externalIPs`, when written. */
  externalIPs?: string[];
  /** `status.loadBalancer.ingress[]`: each `ip`, else `hostname`, when written. */
  loadBalancerIngress?: string[];
}

export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
}

export interface EndpointSubset {
  addresses: string[];
  notReadyAddresses: string[];
  ports: EndpointPort[];
}

export interface EndpointsSpec {
  subsets: EndpointSubset[];
}

export interface SliceEndpoint {
  addresses: string[];
  /** `conditions.ready`; unset counts as ready, as Kubernetes says. */
  ready: boolean;
  /** `zone` (the zone of its node); "" when not given. */
  zone: string;
}

export interface EndpointSliceSpec {
  /** From label `kubernetes.io/service-name`; "" when missing. */
  serviceName: string;
  addressType: string;
  endpoints: SliceEndpoint[];
  ports: EndpointPort[];
}

export type IngressResource = ResourceBase<"Ingress", IngressSpec>;
export type IngressClassResource = ResourceBase<"IngressClass", IngressClassSpec>;
export type SecretResource = ResourceBase<"Secret", SecretSpec>;
export type ConfigMapResource = ResourceBase<"ConfigMap", ConfigMapSpec>;
export type ServiceResource = ResourceBase<"Service", ServiceSpec>;
export type EndpointsResource = ResourceBase<"Endpoints", EndpointsSpec>;
export type EndpointSliceResource = ResourceBase<"EndpointSlice", EndpointSliceSpec>;

// The typed model decode produces and resolve/compile consume.
import type {
  DestinationRuleResource,
  GatewayResource,
  ServiceEntryResource,
  VirtualServiceResource,
  WorkloadEntryResource,
} from "./istio.ts";
import type {
  ConfigMapResource,
  EndpointSliceResource,
  EndpointsResource,
  IngressClassResource,
  IngressResource,
  SecretResource,
  ServiceResource,
} from "./kube.ts";
import type { GatewayApiResource } from "./gatewayapi.ts";
import type { BackendTLSPolicyResource } from "./backendtls.ts";
import type { AuthorizationPolicyResource, OtherSecurityResource, RequestAuthenticationResource } from "./security.ts";
import type { TelemetryResource } from "./telemetry.ts";

export type * from "./istio.ts";
export type * from "./kube.ts";
export type * from "./security.ts";
export type * from "./telemetry.ts";
export type { ObjectMeta, ResourceBase, SourceFile, SourceRef } from "./meta.ts";
export { compareCreation, fieldPath, resourceRef } from "./meta.ts";

export type Resource =
  | GatewayResource
  | VirtualServiceResource
  | DestinationRuleResource
  | ServiceEntryResource
  | WorkloadEntryResource
  | IngressResource
  | IngressClassResource
  | SecretResource
  | ConfigMapResource
  | ServiceResource
  | EndpointsResource
  | EndpointSliceResource
  | GatewayApiResource
  | BackendTLSPolicyResource
  | RequestAuthenticationResource
  | AuthorizationPolicyResource
  | OtherSecurityResource
  | TelemetryResource;

export type ResourceKind = Resource["kind"];

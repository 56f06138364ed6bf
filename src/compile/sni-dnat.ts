// istiod's SNI-DNAT clusters (`outbound_.<port>_.<subset>_.<host>`, what an
// AUTO_PASSTHROUGH gateway routes to by SNI) keep only the endpoints that take
// Istio mTLS: the gateway cannot tell whether the passed-through TLS is the
// mesh's, so a plain-text workload is never reached that way (istiod's
// EndpointBuilder.generate → EndpointsWithMTLSFilter, with mtlsChecker).
import type { ClientTlsMode, Subset, TrafficPolicy } from "../model/istio.ts";
import type { Endpoint } from "../snapshot/types.ts";

/** istiod's label for an endpoint whose sidecar takes Istio mTLS (set on injected pods, or on a WorkloadEntry). */
export const TLS_MODE_LABEL = "security.istio.io/tlsMode";

/**
 * An endpoint's Istio TLS mode, as istiod reads it: the label (a pod's; here
 * the EndpointSlice's or Endpoints' labels, or a WorkloadEntry's / ServiceEntry
 * endpoint's own), else `istio` for a WorkloadEntry with a serviceAccount
 * (getTLSModeFromWorkloadEntry), else `disabled`.
 */
export function endpointTlsMode(e: Endpoint): string {
  return e.labels[TLS_MODE_LABEL] ?? e.tlsMode ?? "disabled";
}

/** A policy's tls mode for a port: a port-level tls replaces the policy's (trafficPolicyTLSModeForPort). */
function tlsModeForPort(tp: TrafficPolicy | null, port: number): ClientTlsMode | null {
  if (tp === null) return null;
  let mode = tp.tls?.mode ?? null;
  for (const p of tp.portLevelSettings) {
    if (p.port === port && p.policy.tls !== null) {
      mode = p.policy.tls.mode;
      break;
    }
  }
  return mode;
}

/**
 * The DestinationRule tls mode that decides for every endpoint of the cluster
 * (istiod's tlsModeForDestinationRule): the subset's (port level, then its
 * own), else the rule's (port level, then its own); null: the rule says
 * nothing (or there is none) and each endpoint's label decides. Unlike the
 * cluster's effective policy, a port-level entry without tls does not hide
 * the level's tls here.
 */
export function ruleTlsMode(trafficPolicy: TrafficPolicy | null, subset: Subset | null, port: number): ClientTlsMode | null {
  if (subset !== null) {
    const own = tlsModeForPort(subset.trafficPolicy, port);
    if (own !== null) return own;
  }
  return tlsModeForPort(trafficPolicy, port);
}

/**
 * The endpoints of an SNI-DNAT cluster (mtlsChecker.checkMtlsEnabled): a rule
 * tls mode of ISTIO_MUTUAL keeps every endpoint, any other mode (DISABLE,
 * SIMPLE, MUTUAL) none; without one, those whose TLS mode is `istio`.
 * (istiod then also drops an endpoint whose PeerAuthentication disables mTLS
 * on its port; gangway reads no PeerAuthentication for this.)
 */
export function sniDnatEndpoints(eps: Endpoint[], ruleMode: ClientTlsMode | null): Endpoint[] {
  if (ruleMode !== null) return ruleMode === "ISTIO_MUTUAL" ? eps : [];
  return eps.filter((e) => endpointTlsMode(e) === "istio");
}

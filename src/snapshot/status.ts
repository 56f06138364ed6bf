// Gateway API status as a conformant controller would write it (compile/gatewayapi
// computes it; `gateway status` prints it; admin /status serves it), and the
// Kubernetes Ingress status istiod writes (compile/ingress-status.ts).

export interface Condition {
  type: string;
  status: "True" | "False";
  /** The object's `metadata.generation` the condition was computed from; left out when the object has none written (istiod's omitempty 0). */
  observedGeneration?: number;
  reason: string;
  message: string;
}

export interface ListenerStatus {
  name: string;
  attachedRoutes: number;
  supportedKinds: { group: string; kind: string }[];
  conditions: Condition[];
}

export interface RouteParentStatus {
  parentRef: { group: string; kind: string; name: string; namespace?: string; sectionName?: string; port?: number };
  controllerName: string;
  conditions: Condition[];
}

/** A policy's status per ancestor (BackendTLSPolicy: each target Service, then each Gateway reaching it). */
export interface PolicyAncestorStatus {
  ancestorRef: { group: string; kind: string; name: string; namespace?: string; sectionName?: string };
  controllerName: string;
  conditions: Condition[];
}

export interface StatusItem {
  apiVersion: string;
  kind: string;
  /** No `namespace` for a cluster-scoped GatewayClass. */
  metadata: { namespace?: string; name: string };
  /** `attachedListenerSets`: a Gateway's ListenerSets with a programmed listener, when there are any. */
  status: {
    conditions?: Condition[];
    listeners?: ListenerStatus[];
    parents?: RouteParentStatus[];
    ancestors?: PolicyAncestorStatus[];
    attachedListenerSets?: number;
    /** Ingress: the ingress gateway's addresses (`ingress` left out when none, as istiod's JSON). */
    loadBalancer?: { ingress?: ({ ip: string } | { hostname: string })[] };
    addresses?: StatusAddress[];
  };
}

/** A Gateway's `status.addresses[]`: where it is reachable (istiod: the Service it is assigned to). */
export interface StatusAddress {
  type: "IPAddress" | "Hostname";
  value: string;
}

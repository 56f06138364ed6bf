// Telemetry (telemetry.istio.io v1, v1alpha1): gangway reads its accessLogging;
// tracing and metrics are kept only to be reported (not applied).
import type { ResourceBase } from "./meta.ts";
import type { PolicyScope } from "./security.ts";

export type WorkloadMode = "CLIENT" | "SERVER" | "CLIENT_AND_SERVER";

/** One `spec.accessLogging[]` entry. */
export interface AccessLoggingSpec {
  /** `providers[].name`; empty: the parent level's (or the mesh config's defaultProviders). */
  providers: string[];
  /** `disabled` (a BoolValue): null when not written. */
  disabled: boolean | null;
  /** `match.mode`; CLIENT_AND_SERVER when absent. A gateway is CLIENT to istiod. */
  mode: WorkloadMode;
  /** `filter.expression`, "" when none (checked to be CEL at decode, as Istio's webhook does). */
  filter: string;
}

export interface TelemetrySpec extends PolicyScope {
  accessLogging: AccessLoggingSpec[];
  /** The top-level fields set that gangway does not apply (`tracing`, `metrics`): each a Warning. */
  notRead: string[];
}

export type TelemetryResource = ResourceBase<"Telemetry", TelemetrySpec>;

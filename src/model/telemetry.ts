// Telemetry (telemetry.istio.io v1, v1alpha1): gangway reads its accessLogging
// and tracing; metrics are kept only to be reported (not applied).
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

/** A `customTags` entry of a `spec.tracing[]` entry. */
export type TracingCustomTagSpec =
  | { tag: string; kind: "literal"; value: string }
  | { tag: string; kind: "environment"; name: string; defaultValue: string }
  | { tag: string; kind: "header"; name: string; defaultValue: string }
  /** `formatter` (an Envoy format string): not produced, a Warning. */
  | { tag: string; kind: "formatter"; value: string };

/** One `spec.tracing[]` entry; null fields were not written (the level above decides). */
export interface TracingEntrySpec {
  /** `providers[].name` (only the first is used, as istiod). */
  providers: string[];
  mode: WorkloadMode;
  randomSamplingPercentage: number | null;
  disableSpanReporting: boolean | null;
  /** null: not written; a written map (even empty) replaces the level above's. */
  customTags: TracingCustomTagSpec[] | null;
  useRequestIdForTraceSampling: boolean | null;
  enableIstioTags: boolean | null;
  disableContextPropagation: boolean | null;
}

export interface TelemetrySpec extends PolicyScope {
  accessLogging: AccessLoggingSpec[];
  tracing: TracingEntrySpec[];
  /** The top-level fields set that gangway does not apply (`metrics`): each a Warning. */
  notRead: string[];
}

export type TelemetryResource = ResourceBase<"Telemetry", TelemetrySpec>;

// A cluster's effective DestinationRule components (resolve/destinationrules.ts
// merged them as Istio does) → the snapshot's UpstreamPolicy: protocol, TLS,
// consistent hash, circuit breakers and outlier detection, with Envoy's
// defaults as Istio writes them; plus the findings for what an ingress cannot
// honour (PASSTHROUGH, warmup where istiod writes none) or cannot
// ever trigger.
import { Codes } from "../model/codes.ts";
import type { DestinationRuleResource, OutlierDetectionPolicy, PortTrafficPolicy } from "../model/istio.ts";
import type { EffectivePolicy } from "../resolve/destinationrules.ts";
import { isHttp2Protocol } from "../resolve/protocol.ts";
import type { Cluster, LbPolicy, Listener, TcpRouteTable } from "../snapshot/types.ts";
import { NO_LIMITS, type CircuitBreakers, type HashPolicy, type OutlierPolicy, type SlowStartPolicy, type UpstreamPolicy, type UpstreamTls } from "../snapshot/upstream.ts";
import type { CompileContext } from "./context.ts";
import type { TlsCompileState } from "./tls.ts";
import { compileUpstreamTls } from "./upstream-tls.ts";

export const DEFAULT_MIN_RING = 1024;
export const DEFAULT_MAX_RING = 8_388_608;
export const DEFAULT_MAGLEV_TABLE = 65537;

export interface UpstreamInput {
  clusterName: string;
  host: string;
  port: number;
  subset: string;
  /** The service port's protocol (resolve/protocol.ts), "" when unknown. */
  portProtocol: string;
  endpointCount: number;
  /** `Service/ns/name` or `ServiceEntry/ns/name` whose port says the protocol; null when unknown. */
  serviceSource: string | null;
  policy: EffectivePolicy;
  /** The DestinationRule a level belongs to (the rule, or the one defining the subset). */
  ownerOf: (level: PortTrafficPolicy) => DestinationRuleResource;
  /** A BackendTLSPolicy's TLS (no DestinationRule tls applies to this cluster); null: none. */
  backendTls?: UpstreamTls | null;
  /** The ServiceEntry's subjectAltNames: the SANs to verify when the DestinationRule's tls names none (istiod's serviceAccounts). */
  serviceSubjectAltNames?: string[];
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Istio → Envoy outlier_detection (cluster_traffic_policy.go applyOutlierDetection), Envoy's defaults filled in. */
export function outlierPolicy(o: OutlierDetectionPolicy): OutlierPolicy {
  const base = o.baseEjectionTimeMs ?? 30_000;
  const lo = o.consecutiveLocalOriginFailures;
  return {
    // unset: Envoy's default 5 with enforcing 100; 0: off (Istio writes enforcing 0)
    consecutive5xx: o.consecutive5xxErrors ?? 5,
    // unset: Envoy's enforcing_consecutive_gateway_failure defaults to 0 (off)
    consecutiveGatewayFailure: o.consecutiveGatewayErrors ?? 0,
    consecutiveLocalOriginFailure: o.splitExternalLocalOriginErrors ? (lo !== null && lo > 0 ? lo : 5) : 0,
    splitExternalLocalOriginErrors: o.splitExternalLocalOriginErrors,
    intervalMs: o.intervalMs ?? 10_000,
    baseEjectionTimeMs: base,
    maxEjectionTimeMs: Math.max(300_000, base),
    maxEjectionPercent: o.maxEjectionPercent !== null && o.maxEjectionPercent > 0 ? o.maxEjectionPercent : 10,
    panicThresholdPercent: o.minHealthPercent ?? 0,
  };
}

/** Upstream policy and the load balancer it implies; `upstream` undefined when everything is the default. */
export function compileUpstream(ctx: CompileContext, st: TlsCompileState, inp: UpstreamInput): { lbPolicy: LbPolicy; upstream: UpstreamPolicy | undefined } {
  const { levels } = inp.policy;
  let lbPolicy = inp.policy.lbPolicy;
  const lb = levels.loadBalancer;
  let hash: HashPolicy | null = null;
  let slowStart: SlowStartPolicy | null = null;
  if (lb !== null) {
    const owner = inp.ownerOf(lb);
    const p = `${lb.path}.loadBalancer`;
    if (lb.simple === "PASSTHROUGH") {
      lbPolicy = "LEAST_REQUEST";
      ctx.report("Warning", Codes.LbPassthroughAtIngress, owner, "simple PASSTHROUGH sends to the original destination address, which an ingress gateway does not have: gangway balances the endpoints with LEAST_REQUEST", `${p}.simple`);
    }
    const ch = lb.consistentHash;
    if (ch !== null) {
      let tableSize = ch.tableSize || DEFAULT_MAGLEV_TABLE;
      if (!isPrime(tableSize)) {
        ctx.report("Warning", Codes.MaglevTableSizeNotPrime, owner, `maglev tableSize ${tableSize} is not a prime (Envoy rejects it): ${DEFAULT_MAGLEV_TABLE} is used`, `${p}.consistentHash.maglev.tableSize`);
        tableSize = DEFAULT_MAGLEV_TABLE;
      }
      hash = {
        key: ch.key,
        algorithm: ch.algorithm,
        minimumRingSize: ch.minimumRingSize || DEFAULT_MIN_RING,
        maximumRingSize: DEFAULT_MAX_RING,
        tableSize,
      };
      lbPolicy = ch.algorithm;
    }
    const w = lb.warmup;
    if (w !== null) {
      // istiod writes slow_start_config into the ROUND_ROBIN and LEAST_REQUEST configs only
      // (cluster_traffic_policy.go): RANDOM, PASSTHROUGH and consistent hashing have none
      const field = `${p}.${w.field}`;
      const ignoredBy = ch !== null ? "consistentHash" : lb.simple === "RANDOM" || lb.simple === "PASSTHROUGH" ? `simple ${lb.simple}` : null;
      if (ignoredBy !== null) ctx.report("Warning", Codes.WarmupNotApplied, owner, `warmup applies to ROUND_ROBIN and LEAST_REQUEST only (as istiod writes it): not applied with ${ignoredBy}`, field);
      else slowStart = { windowMs: Math.floor(w.durationMs), aggression: w.aggression, minWeightPercent: w.minimumPercent };
    }
  }

  const cp = levels.connectionPool;
  const pool = cp?.pool ?? null;
  const limits: CircuitBreakers =
    pool === null
      ? NO_LIMITS
      : {
          maxConnections: pool.maxConnections,
          maxPendingRequests: pool.http1MaxPendingRequests,
          maxRequests: pool.http2MaxRequests,
          maxRetries: pool.maxRetries,
          maxRequestsPerConnection: pool.maxRequestsPerConnection,
          idleTimeoutMs: pool.idleTimeoutMs,
          maxConcurrentStreams: pool.maxConcurrentStreams,
          tcpKeepalive: pool.tcpKeepalive,
        };
  if (pool !== null && pool.tcpIdleTimeoutMs !== null) limits.tcpIdleTimeoutMs = pool.tcpIdleTimeoutMs;

  let protocol: UpstreamPolicy["protocol"] = "HTTP1";
  let protocolSource = "";
  const clientProtocol = pool?.useClientProtocol === true;
  if (clientProtocol) {
    // Envoy's use_downstream_protocol, over whatever the port says: this cluster serves HTTP/1.1
    // clients; compileClusters adds its HTTP/2 twin for HTTP/2 clients
    protocolSource = "useClientProtocol";
  } else if (isHttp2Protocol(inp.portProtocol)) {
    protocol = "HTTP2";
    protocolSource = `port protocol ${inp.portProtocol}`;
  } else if (pool?.h2UpgradePolicy === "UPGRADE") {
    protocol = "HTTP2";
    protocolSource = "h2UpgradePolicy UPGRADE";
  }

  const tlsLevel = levels.tls;
  const btls = inp.backendTls ?? null;
  const tls =
    tlsLevel === null || tlsLevel.tls === null
      ? btls === null
        ? null
        : { ...btls, alpn: protocol === "HTTP2" ? ["h2"] : [] }
      : compileUpstreamTls(ctx, st, {
          tls: tlsLevel.tls.subjectAltNames.length === 0 && (inp.serviceSubjectAltNames?.length ?? 0) > 0 ? { ...tlsLevel.tls, subjectAltNames: inp.serviceSubjectAltNames! } : tlsLevel.tls,
          owner: inp.ownerOf(tlsLevel),
          field: `${tlsLevel.path}.tls`,
          http2: protocol === "HTTP2",
          istioSni: `outbound_.${inp.port}_.${inp.subset}_.${inp.host}`,
        });

  let outlier: OutlierPolicy | null = null;
  const od = levels.outlierDetection;
  if (od !== null && od.outlierDetection !== null) {
    outlier = outlierPolicy(od.outlierDetection);
    const n = inp.endpointCount;
    const anyDetector = outlier.consecutive5xx > 0 || outlier.consecutiveGatewayFailure > 0 || outlier.consecutiveLocalOriginFailure > 0;
    if (anyDetector && n > 0 && 100 / n > outlier.maxEjectionPercent) {
      ctx.report(
        "Info",
        Codes.OutlierNeverEjects,
        inp.ownerOf(od),
        `${inp.clusterName}: with ${n} endpoint${n === 1 ? "" : "s"} one ejection is ${Math.round(100 / n)} % of the hosts, above maxEjectionPercent ${outlier.maxEjectionPercent}: Envoy (and gangway) never eject here; raise maxEjectionPercent to eject`,
        `${od.path}.outlierDetection.maxEjectionPercent`,
      );
    }
  }

  const upstream: UpstreamPolicy = { protocol, protocolSource, tls, hash, limits, outlier };
  if (clientProtocol) upstream.useClientProtocol = true;
  const pp = inp.policy.proxyProtocol;
  if (pp !== null) upstream.proxyProtocol = pp === "V2" ? 2 : 1;
  if (slowStart !== null) upstream.slowStart = slowStart;
  const isDefault = protocol === "HTTP1" && tls === null && hash === null && limits === NO_LIMITS && outlier === null && !clientProtocol && pp === null && slowStart === null;
  return { lbPolicy, upstream: isDefault ? undefined : upstream };
}

/**
 * Clusters that TCP (and TLS passthrough) routes forward to: the data plane
 * applies their balancer, outlier detection, maxConnections, connectTimeout
 * and (except on passthrough routes) TLS; what it does not apply there is
 * reported (GW0415): tls on a passthrough route (the client's TLS goes
 * through untouched) and a consistentHash key other than useSourceIp (a TCP
 * connection has no header, cookie or query).
 */
export function reportTcpUpstreams(ctx: CompileContext, listeners: Listener[], clusters: Map<string, Cluster>): void {
  const tables: [TcpRouteTable, boolean][] = [];
  for (const l of listeners) {
    if (l.tcpRoutes !== null) tables.push([l.tcpRoutes, false]);
    for (const c of l.tls?.chains ?? []) if (c.tcpRoutes !== null) tables.push([c.tcpRoutes, c.mode === "PASSTHROUGH" || c.mode === "AUTO_PASSTHROUGH"]);
  }
  const seen = new Set<string>();
  for (const [t, passthrough] of tables) {
    for (const r of t.routes) {
      for (const d of r.destinations) {
        const key = `${passthrough}|${d.cluster}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const u = clusters.get(d.cluster)?.upstream;
        if (u === undefined) continue;
        if (passthrough && u.tls !== null) ctx.report("Warning", Codes.UpstreamNotServed, r.source, `${d.cluster}: tls of its DestinationRule is not applied to TLS passthrough routes (the client's TLS goes through untouched)`);
        if (u.hash !== null && u.hash.key.kind !== "sourceIp") {
          ctx.report("Warning", Codes.UpstreamNotServed, r.source, `${d.cluster}: consistentHash by ${u.hash.key.kind} has no key on TCP routes (only useSourceIp does): connections go to a random endpoint`);
        }
      }
    }
  }
}

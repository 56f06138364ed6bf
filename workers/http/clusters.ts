// Per-cluster runtime state built when a snapshot is applied: one pool per
// endpoint and the load-balancer's memory (round-robin position, active
// request counts), gathered with the snapshot into a Generation. A request
// is decided and forwarded within one generation (the one current when its
// head arrived): its route table and the clusters it forwards to always
// agree. Pools survive a snapshot swap when the endpoint stays; a retired
// generation is garbage once its last exchange lets go of it. A pool's
// creation time is its endpoint's start of slow start (warmup).
import type { Cluster, Snapshot } from "../../src/snapshot/types.ts";
import type { StatsSample } from "../../src/snapshot/messages.ts";
import { Balancer } from "../../src/upstream/balancer.ts";
import { CircuitBreaker } from "../../src/upstream/circuit-breaker.ts";
import { NO_LIMITS } from "../../src/snapshot/upstream.ts";
import type { OutlierResult } from "../../src/upstream/outlier.ts";
import { reportError } from "../context.ts";
import { clusterLabel, stats } from "../stats.ts";
import type { UpstreamConn, UpstreamUser } from "./upstream-conn.ts";
import { EndpointPool } from "./upstream-pool.ts";
import { upstreamTlsRuntime, type UpstreamTlsRuntime } from "./upstream-tls.ts";

export class ClusterRuntime {
  /** The load balancer: policy, consistent hash, outlier ejection (src/upstream/balancer.ts). */
  readonly balancer: Balancer;
  private sweep: ReturnType<typeof setInterval> | null = null;

  constructor(
    public cluster: Cluster,
    readonly pools: EndpointPool[],
  ) {
    this.balancer = new Balancer(cluster, Math.random, cluster.upstream?.slowStart === undefined ? null : { addedAt: pools.map((p) => p.addedAt), now: monotonicNow });
    this.breaker = new CircuitBreaker(cluster.upstream?.limits ?? NO_LIMITS);
    const od = this.balancer.outlier;
    if (od !== null) this.sweep = setInterval(sweepOutliers, od.policy.intervalMs, this);
  }

  /** Requests active on endpoint `j` (LEAST_REQUEST); one function for the runtime, not a closure per pick. */
  private readonly activeOf = (j: number): number => this.pools[j]!.active;

  /** The endpoint pool for the next request (`hash`: the request's, for consistent hashing), or null when no endpoint is usable. */
  pick(hash: bigint | null = null): EndpointPool | null {
    const i = this.balancer.pick(hash, this.activeOf);
    return i < 0 ? null : this.pools[i]!;
  }

  /** A result of endpoint `index` for outlier detection. */
  report(index: number, r: OutlierResult): void {
    const od = this.balancer.outlier;
    if (od === null) return;
    const ev = od.report(index, r, Date.now());
    if (ev !== null) stats.outlierEvent(this.cluster.name, ev.action);
  }

  /** Envoy's circuit breakers for this cluster, in this worker. */
  readonly breaker: CircuitBreaker;

  /**
   * A connection for a request to `pool`, as Envoy's pool admits it: an idle
   * one (open), a new one (the user hears onUpstreamOpen), "queued" (the user
   * hears onUpstreamGranted when one is free), or "overflow" (503 UO).
   */
  acquire(pool: EndpointPool, user: UpstreamUser & { onUpstreamGranted(c: UpstreamConn): void }, sni: string, proxy: Buffer | null = null): UpstreamConn | "queued" | "overflow" {
    const b = this.breaker;
    if (b.limits === NO_LIMITS) {
      const idle = pool.takeIdle(user, sni, proxy);
      if (idle !== null) return idle;
      pool.pending++; // pools outlive runtimes: keep the count right for one with limits after a reload
      return pool.connect(user, sni, proxy);
    }
    let connections = 0;
    let pending = 0;
    let active = -1; // this request is already counted in its pool's active
    for (const p of this.pools) {
      connections += p.connections;
      pending += p.pending;
      active += p.active;
    }
    b.connections = connections;
    b.pending = pending;
    b.active = active;
    const a = b.admit(pool.hasIdle(sni, proxy));
    if (a === "overflow") return "overflow";
    if (a === "use_idle") return pool.takeIdle(user, sni, proxy)!;
    pool.pending++;
    if (a === "connect") return pool.connect(user, sni, proxy);
    pool.waiters.push({ user, sni, proxy });
    return "queued";
  }

  /** A connection of this cluster closed: a queued request may now open one. */
  connectionClosed(): void {
    if (this.breaker.limits === NO_LIMITS) return;
    for (const p of this.pools) {
      if (p.waiters.length === 0) continue;
      let connections = 0;
      for (const q of this.pools) connections += q.connections;
      this.breaker.connections = connections;
      if (!this.breaker.canConnect()) return;
      const w = p.waiters.shift()!;
      w.user.onUpstreamGranted(p.connect(w.user, w.sni, w.proxy));
    }
  }

  /** No longer serving (replaced by a reload): stop the outlier sweep. */
  close(): void {
    if (this.sweep !== null) clearInterval(this.sweep);
    this.sweep = null;
  }
}

const monotonicNow = (): number => performance.now();

function sweepOutliers(rt: ClusterRuntime): void {
  try {
    for (const ev of rt.balancer.outlier?.tick(Date.now()) ?? []) stats.outlierEvent(rt.cluster.name, ev.action);
  } catch (err) {
    reportError("outlier sweep", err);
  }
}

/** A snapshot and the cluster runtimes built for it. */
export class Generation {
  constructor(
    readonly snapshot: Snapshot,
    /** Cluster name → runtime; exactly the clusters of `snapshot`. */
    readonly clusters: ReadonlyMap<string, ClusterRuntime>,
  ) {}
}

const EMPTY: Snapshot = { version: 0, hash: "", createdAt: "", listeners: [], clusters: new Map(), credentials: new Map(), findings: [] };

let current = new Generation(EMPTY, new Map());

/** The generation applied last (new requests and connections are decided in it). */
export function currentGeneration(): Generation {
  return current;
}

function endpointsKey(c: Cluster): string {
  let k = c.lbPolicy + "|" + c.connectTimeoutMs + "|" + JSON.stringify([c.upstream?.hash ?? null, c.upstream?.outlier ?? null, c.upstream?.limits ?? null, c.upstream?.slowStart ?? null]);
  for (const e of c.endpoints) k += `|${e.address}:${e.port}*${e.weight}@${e.priority ?? 0}/${e.localityWeight ?? ""}/${e.locality ?? ""}`;
  return k;
}

const keys = new WeakMap<ClusterRuntime, string>();

/** TLS runtimes by their content (policy and credential PEMs): an unchanged one is kept across reloads, so its idle connections stay. */
let tlsRuntimes = new Map<string, UpstreamTlsRuntime>();

function tlsFor(c: Cluster, snapshot: Snapshot, next: Map<string, UpstreamTlsRuntime>): UpstreamTlsRuntime | null {
  const t = c.upstream?.tls ?? null;
  if (t === null) return null;
  const cred = t.credential === "" ? undefined : snapshot.credentials.get(t.credential);
  const key = JSON.stringify([t, cred?.certChain, cred?.privateKey, cred?.caCert]);
  const rt = next.get(key) ?? tlsRuntimes.get(key) ?? upstreamTlsRuntime(t, snapshot.credentials);
  next.set(key, rt);
  return rt;
}

/** Rebuild runtimes for a new snapshot, keeping pools of endpoints that stay: the new current generation. */
export function applyClusters(snapshot: Snapshot): Generation {
  const clusters = current.clusters;
  const oldPools = new Map<string, EndpointPool>();
  for (const rt of clusters.values()) for (const p of rt.pools) oldPools.set(`${p.cluster}|${p.address}|${p.port}`, p);
  const kept = new Set<EndpointPool>();
  const next = new Map<string, ClusterRuntime>();
  const nextTls = new Map<string, UpstreamTlsRuntime>();
  for (const [name, c] of snapshot.clusters) {
    const prev = clusters.get(name);
    const key = endpointsKey(c);
    let rt: ClusterRuntime;
    if (prev !== undefined && keys.get(prev) === key) {
      prev.cluster = c;
      rt = prev;
    } else {
      const pools = c.endpoints.map((e) => {
        const old = oldPools.get(`${name}|${e.address}|${e.port}`);
        if (old !== undefined) {
          old.connectTimeoutMs = c.connectTimeoutMs;
          return old;
        }
        return new EndpointPool(name, e.address, e.port, c.connectTimeoutMs);
      });
      rt = new ClusterRuntime(c, pools);
      keys.set(rt, key);
    }
    const tls = tlsFor(c, snapshot, nextTls);
    const limits = c.upstream?.limits ?? NO_LIMITS;
    rt.pools.forEach((p, i) => {
      p.setTls(tls);
      p.setProtocol(c.upstream?.protocol === "HTTP2", limits.maxConcurrentStreams);
      p.maxRequestsPerConnection = limits.maxRequestsPerConnection;
      p.idleTimeoutMs = limits.idleTimeoutMs;
      p.keepaliveMs = limits.tcpKeepalive === null ? 0 : limits.tcpKeepalive.timeMs || 7_200_000;
      p.owner = rt;
      p.index = i;
      kept.add(p);
    });
    next.set(name, rt);
  }
  for (const p of oldPools.values()) if (!kept.has(p)) p.retire();
  tlsRuntimes = nextTls;
  // replaced runtimes stop their outlier sweep (exchanges of the old generation may still report to them)
  const live = new Set(next.values());
  for (const rt of clusters.values()) if (!live.has(rt)) rt.close();
  current = new Generation(snapshot, next);
  return current;
}

/** Close upstream connections idle since before `before` (or their cluster's connectionPool idleTimeout, when set). */
export function sweepUpstreams(before: number, now = before): void {
  for (const rt of current.clusters.values()) for (const p of rt.pools) p.closeIdle(p.idleTimeoutMs > 0 && before !== Infinity ? now - p.idleTimeoutMs : before);
}

/** gangway_upstream_cx_active per cluster (and gangway_upstream_rq_pending, requests waiting for a connection, where limits apply); gangway_upstream_endpoint_ejected per endpoint of a cluster with outlier detection (1: ejected in this worker). */
export function upstreamGauges(): StatsSample {
  const out: StatsSample = {};
  for (const [name, rt] of current.clusters) {
    let open = 0;
    for (const p of rt.pools) open += p.connections;
    out[`gangway_upstream_cx_active{${clusterLabel(name)}}`] = open;
    let pending = 0;
    for (const p of rt.pools) pending += p.pending;
    if (rt.breaker.limits !== NO_LIMITS || pending !== 0) out[`gangway_upstream_rq_pending{${clusterLabel(name)}}`] = pending;
    const od = rt.balancer.outlier;
    if (od !== null) {
      rt.pools.forEach((p, i) => {
        out[`gangway_upstream_endpoint_ejected{${clusterLabel(name)},endpoint="${p.hostPort}"}`] = od.isEjected(i) ? 1 : 0;
      });
    }
  }
  return out;
}

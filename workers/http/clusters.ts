// Per-cluster runtime state built when a snapshot is applied: one pool per
// endpoint and the load-balancer's memory (round-robin position, active
// request counts), gathered with the snapshot into a Generation. A request
// is decided and forwarded within one generation (the one current when its
// head arrived): its route table and the clusters it forwards to always
// agree. Pools survive a snapshot swap when the endpoint stays; a retired
// generation is garbage once its last exchange lets go of it.
import type { Cluster, Snapshot } from "../../src/snapshot/types.ts";
import type { StatsSample } from "../../src/snapshot/messages.ts";
import { clusterLabel } from "../stats.ts";
import { EndpointPool } from "./upstream-pool.ts";

export class ClusterRuntime {
  private rr = 0;
  /** Smooth weighted round robin state (nginx's), only when weights differ. */
  private current: Float64Array | null = null;
  private readonly weights: number[];
  private readonly totalWeight: number;
  private readonly uniform: boolean;

  constructor(
    public cluster: Cluster,
    readonly pools: EndpointPool[],
  ) {
    this.weights = cluster.endpoints.map((e) => (e.weight > 0 ? e.weight : 1));
    this.totalWeight = this.weights.reduce((a, b) => a + b, 0);
    this.uniform = this.weights.every((w) => w === this.weights[0]);
    if (!this.uniform) this.current = new Float64Array(this.weights.length);
  }

  /** The endpoint pool for the next request, or null when there is no endpoint. */
  pick(): EndpointPool | null {
    const pools = this.pools;
    const n = pools.length;
    if (n === 0) return null;
    if (n === 1) return pools[0]!;
    switch (this.cluster.lbPolicy) {
      case "ROUND_ROBIN":
        return pools[this.uniform ? this.rr++ % n : this.smoothWeighted()]!;
      case "LEAST_REQUEST": {
        // power of two choices (Envoy's default for LEAST_REQUEST)
        const a = this.randomIndex();
        let b = this.randomIndex();
        if (b === a) b = (a + 1) % n;
        return pools[pools[b]!.active < pools[a]!.active ? b : a]!;
      }
      default:
        return pools[this.randomIndex()]!;
    }
  }

  private randomIndex(): number {
    if (this.uniform) return Math.floor(Math.random() * this.pools.length);
    let r = Math.random() * this.totalWeight;
    const w = this.weights;
    for (let i = 0; i < w.length; i++) {
      r -= w[i]!;
      if (r < 0) return i;
    }
    return w.length - 1;
  }

  private smoothWeighted(): number {
    const cur = this.current!;
    const w = this.weights;
    let best = 0;
    for (let i = 0; i < w.length; i++) {
      cur[i]! += w[i]!;
      if (cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= this.totalWeight;
    return best;
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
  let k = c.lbPolicy + "|" + c.connectTimeoutMs;
  for (const e of c.endpoints) k += `|${e.address}:${e.port}*${e.weight}`;
  return k;
}

const keys = new WeakMap<ClusterRuntime, string>();

/** Rebuild runtimes for a new snapshot, keeping pools of endpoints that stay: the new current generation. */
export function applyClusters(snapshot: Snapshot): Generation {
  const clusters = current.clusters;
  const oldPools = new Map<string, EndpointPool>();
  for (const rt of clusters.values()) for (const p of rt.pools) oldPools.set(`${p.cluster}|${p.address}|${p.port}`, p);
  const kept = new Set<EndpointPool>();
  const next = new Map<string, ClusterRuntime>();
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
    for (const p of rt.pools) kept.add(p);
    next.set(name, rt);
  }
  for (const p of oldPools.values()) if (!kept.has(p)) p.retire();
  current = new Generation(snapshot, next);
  return current;
}

/** Close upstream connections idle since before `before`. */
export function sweepUpstreams(before: number): void {
  for (const rt of current.clusters.values()) for (const p of rt.pools) p.closeIdle(before);
}

/** gangway_upstream_cx_active per cluster. */
export function upstreamGauges(): StatsSample {
  const out: StatsSample = {};
  for (const [name, rt] of current.clusters) {
    let open = 0;
    for (const p of rt.pools) open += p.connections;
    out[`gangway_upstream_cx_active{${clusterLabel(name)}}`] = open;
  }
  return out;
}

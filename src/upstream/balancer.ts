// Picks an endpoint of one cluster, as Envoy's load balancers do, over the
// endpoints outlier detection has not ejected (all of them in panic):
// ROUND_ROBIN (smooth weighted when weights differ, nginx's), LEAST_REQUEST
// (power of two choices), RANDOM (weighted), RING_HASH / MAGLEV (the request's
// hash; none: random). The hash tables are built over the usable endpoints
// and rebuilt when that set changes, as Envoy rebuilds them per host set.
// Slow start (warmup) on ROUND_ROBIN and LEAST_REQUEST: while an endpoint is
// in its window, every pick is smooth weighted over the weights scaled by
// slowStartFactor (LEAST_REQUEST: also divided by requests in flight + 1, the
// weight Envoy's EDF scheduler uses then).
// Priorities and locality weights (localityLbSetting: src/upstream/priority.ts)
// come first: a request's priority level (and locality) is drawn, then the
// policy picks among that level's usable endpoints.
// Pure: the caller supplies each endpoint's requests in flight, randomness,
// the clock and when each endpoint was added.
import type { Cluster } from "../snapshot/types.ts";
import type { SlowStartPolicy } from "../snapshot/upstream.ts";
import { buildMaglev, buildRing, type HashTable } from "./consistent-hash.ts";
import { OutlierDetector } from "./outlier.ts";
import { PriorityPlan } from "./priority.ts";
import { slowStartFactor } from "./slow-start.ts";

/** When each endpoint was added to the cluster (ms on `now`'s clock) and that clock: what slow start needs. */
export interface EndpointClock {
  addedAt: ArrayLike<number>;
  now: () => number;
}

export class Balancer {
  readonly outlier: OutlierDetector | null;
  private readonly weights: number[];
  private readonly uniform: boolean;
  private rr = 0;
  /** Smooth weighted round-robin state, per endpoint. */
  private readonly current: Float64Array;
  /** Usable endpoint indices and the hash table over them; rebuilt when the usable set changes. */
  private usable: number[] = [];
  private usableKey = "";
  private table: HashTable | null = null;
  /** Slow start while some endpoint may still be in its window (until `warmUntil`); null: never again, or none. */
  private warming: SlowStartPolicy | null = null;
  private warmUntil = 0;
  /** Priority levels / locality weights (localityLbSetting); null: one level, unweighted. */
  readonly plan: PriorityPlan | null = null;
  private planVersion = -1;
  /** Hash tables per host list of the plan (lists are replaced when the ejected set changes). */
  private planTables = new WeakMap<number[], HashTable>();

  constructor(
    readonly cluster: Cluster,
    private readonly random: () => number = Math.random,
    private readonly clock: EndpointClock | null = null,
  ) {
    this.weights = cluster.endpoints.map((e) => (e.weight > 0 ? e.weight : 1));
    this.uniform = this.weights.every((w) => w === this.weights[0]);
    this.current = new Float64Array(this.weights.length);
    const o = cluster.upstream?.outlier ?? null;
    this.outlier = o === null ? null : new OutlierDetector(o, cluster.endpoints.length);
    if (cluster.endpoints.some((e) => (e.priority ?? 0) > 0 || e.localityWeight !== undefined)) this.plan = new PriorityPlan(cluster.endpoints, o?.panicThresholdPercent ?? 0);
    const ss = cluster.upstream?.slowStart ?? null;
    if (ss !== null && clock !== null && (cluster.lbPolicy === "ROUND_ROBIN" || cluster.lbPolicy === "LEAST_REQUEST")) {
      let last = -Infinity;
      for (let i = 0; i < clock.addedAt.length; i++) last = Math.max(last, clock.addedAt[i]!);
      this.warming = ss;
      this.warmUntil = last + ss.windowMs;
    }
    this.refresh();
  }

  /** The endpoints usable now (not ejected, or all in panic); rebuilds the hash table when they changed. */
  private refresh(): number[] {
    const n = this.weights.length;
    const od = this.outlier;
    if (od === null || od.ejectedCount === 0 || od.panic) {
      if (this.usableKey !== "all") {
        this.usable = Array.from({ length: n }, (_, i) => i);
        this.usableKey = "all";
        this.table = null;
      }
    } else {
      let key = "";
      for (let i = 0; i < n; i++) if (od.usable(i)) key += i + ",";
      if (key !== this.usableKey) {
        const u: number[] = [];
        for (let i = 0; i < n; i++) if (od.usable(i)) u.push(i);
        this.usable = u;
        this.usableKey = key;
        this.table = null;
      }
    }
    const h = this.cluster.upstream?.hash ?? null;
    if (h !== null && this.table === null) this.table = this.buildTable(h);
    return this.usable;
  }

  /** The plan's hosts for this request: its priority level (and locality) drawn by the hash, else at random. */
  private planHosts(hash: bigint | null): number[] {
    const plan = this.plan!;
    const od = this.outlier;
    if (od !== null && od.version !== this.planVersion) {
      plan.update((i) => od.isEjected(i));
      this.planVersion = od.version;
    }
    const u = plan.hostsFor(hash === null ? Math.floor(this.random() * 100) : Number(hash % 100n));
    const h = this.cluster.upstream?.hash ?? null;
    if (h !== null && u.length > 1) {
      let t = this.planTables.get(u);
      if (t === undefined) {
        t = this.buildTable(h, u);
        this.planTables.set(u, t);
      }
      this.table = t;
    }
    return u;
  }

  // (its closure kept out of refresh(), which runs for every pick: there it made refresh's scope
  // an object allocated per request, measured with heapStats: ALLOC=1 bench/http-proxy-loop.ts)
  private buildTable(h: NonNullable<NonNullable<Cluster["upstream"]>["hash"]>, hosts: number[] = this.usable): HashTable {
    const targets = hosts.map((i) => {
      const e = this.cluster.endpoints[i]!;
      return { address: e.address, port: e.port, weight: this.weights[i]! };
    });
    return h.algorithm === "MAGLEV" ? buildMaglev(targets, h.tableSize) : buildRing(targets, h.minimumRingSize, h.maximumRingSize);
  }

  /**
   * The endpoint index for the next request, or -1 when none is usable (no
   * endpoint, or all ejected without panic: 503 UH). `hash`: the request's
   * (consistent hashing), null when it has none. `active(i)`: requests in
   * flight on endpoint i (LEAST_REQUEST).
   */
  pick(hash: bigint | null, active: (i: number) => number): number {
    const u = this.plan === null ? this.refresh() : this.planHosts(hash);
    const n = u.length;
    if (n === 0) return -1;
    if (n === 1) return u[0]!;
    if (this.warming !== null) {
      const now = this.clock!.now();
      if (now < this.warmUntil) return this.slowStartPick(u, now, active);
      this.warming = null; // every endpoint is past its window: the plain picks from now on
    }
    switch (this.cluster.lbPolicy) {
      case "RING_HASH":
      case "MAGLEV":
        return hash === null ? u[Math.floor(this.random() * n)]! : u[this.table!.pick(hash)]!;
      case "ROUND_ROBIN":
        return this.uniform ? u[this.rr++ % n]! : this.smoothWeighted(u);
      case "LEAST_REQUEST": {
        // power of two choices (Envoy's default for LEAST_REQUEST)
        const a = this.randomOf(u);
        let b = this.randomOf(u);
        if (b === a) b = u[(u.indexOf(a) + 1) % n]!;
        return active(b) < active(a) ? b : a;
      }
      default:
        return this.randomOf(u);
    }
  }

  private randomOf(u: number[]): number {
    if (this.uniform) return u[Math.floor(this.random() * u.length)]!;
    let total = 0;
    for (const i of u) total += this.weights[i]!;
    let r = this.random() * total;
    for (const i of u) {
      r -= this.weights[i]!;
      if (r < 0) return i;
    }
    return u[u.length - 1]!;
  }

  /**
   * Smooth weighted over each endpoint's weight (LEAST_REQUEST: divided by its
   * requests in flight + 1), scaled by its slow start factor; Envoy scales only
   * healthy hosts (an ejected endpoint, used in panic, keeps its weight).
   */
  private slowStartPick(u: number[], now: number, active: (i: number) => number): number {
    const ss = this.warming!;
    const addedAt = this.clock!.addedAt;
    const lr = this.cluster.lbPolicy === "LEAST_REQUEST";
    const od = this.outlier;
    const cur = this.current;
    let total = 0;
    let best = u[0]!;
    for (const i of u) {
      let w = this.weights[i]!;
      if (lr) w /= active(i) + 1;
      if (od === null || !od.isEjected(i)) w *= slowStartFactor(ss, now - addedAt[i]!);
      cur[i]! += w;
      total += w;
      if (cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= total;
    return best;
  }

  private smoothWeighted(u: number[]): number {
    const cur = this.current;
    const w = this.weights;
    let total = 0;
    let best = u[0]!;
    for (const i of u) {
      cur[i]! += w[i]!;
      total += w[i]!;
      if (cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= total;
    return best;
  }
}

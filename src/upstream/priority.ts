// Envoy's priority levels and locality-weighted balancing for one cluster
// (source/extensions/load_balancing_policies/common/load_balancer_impl.cc,
// upstream_impl.cc effectiveLocalityWeight), over the `priority` and
// `localityWeight` compile gave the endpoints (compile/locality-lb.ts).
//
// - A priority's health is min(100, 140 × healthy / hosts) (the default
//   overprovisioning factor 1.4, integer percent): a level with 72 % of its
//   hosts healthy still takes all it is given. Outlier-ejected hosts are not
//   healthy.
// - Load: each level in turn takes min(what is left, health × 100 / total
//   health), total health capped at 100; rounding leftovers go to the first
//   level with health. A request's level is drawn against these loads.
// - Panic (healthy_panic_threshold, Istio's minHealthPercent): never while the
//   total health is 100; else a level whose healthy share is below the
//   threshold uses all its hosts. All levels in panic: load by host count.
//   Threshold 0 and no healthy host: all load on P0, nothing usable (503).
// - Locality weighted (distribute): within the level, a locality is chosen by
//   smooth weighted round robin over weight × min(1, 1.4 × healthy / hosts);
//   none with weight left: the level's healthy hosts.
export const OVERPROVISIONING_PERCENT = 140;

/** Envoy's per-priority health (0-100). */
export function priorityHealth(healthy: number, total: number): number {
  return total === 0 ? 0 : Math.min(100, Math.floor((OVERPROVISIONING_PERCENT * healthy) / total));
}

export interface PriorityState {
  /** Percent of requests per level, summing to 100. */
  load: number[];
  /** Per level: use all its hosts (panic). */
  panic: boolean[];
}

/** Loads and panic flags for levels with `healthy[i]` of `total[i]` hosts healthy. */
export function priorityState(healthy: number[], total: number[], panicThreshold: number): PriorityState {
  const n = total.length;
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (n === 0) return { load, panic };
  const health = total.map((t, i) => priorityHealth(healthy[i]!, t));
  const normalized = Math.min(100, health.reduce((a, h) => a + h, 0));
  const threshold = Math.min(100, panicThreshold);
  if (normalized === 0 && threshold === 0) {
    load[0] = 100;
    return { load, panic };
  }
  if (normalized > 0) {
    let left = 100;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (first < 0 && health[i]! > 0) first = i;
      load[i] = Math.min(left, Math.floor((health[i]! * 100) / normalized));
      left -= load[i]!;
    }
    if (left > 0) load[first]! += left;
  }
  let totalPanic = true;
  for (let i = 0; i < n; i++) {
    const t = total[i]!;
    panic[i] = normalized === 100 ? false : (t === 0 ? 0 : (100 * healthy[i]!) / t) < threshold;
    totalPanic &&= panic[i]!;
  }
  if (totalPanic) {
    const hosts = total.reduce((a, t) => a + t, 0);
    load.fill(0);
    if (hosts === 0) load[0] = 100;
    else {
      let left = 100;
      let first = -1;
      for (let i = 0; i < n; i++) {
        if (first < 0 && total[i]! > 0) first = i;
        load[i] = Math.floor((100 * total[i]!) / hosts);
        left -= load[i]!;
      }
      load[first]! += left;
    }
  }
  return { load, panic };
}

/** The level for a draw `r` in [0, 100) (Envoy's choosePriority). */
export function choosePriority(load: number[], r: number): number {
  const h = r + 1;
  let acc = 0;
  for (let i = 0; i < load.length; i++) {
    acc += load[i]!;
    if (h <= acc) return i;
  }
  return 0;
}

/** Envoy's effective locality weight: weight × min(1, 1.4 × healthy / hosts). */
export function effectiveLocalityWeight(weight: number, healthy: number, hosts: number): number {
  if (hosts === 0) return 0;
  return weight * Math.min(1, (OVERPROVISIONING_PERCENT / 100) * (healthy / hosts));
}

interface Locality {
  weight: number;
  hosts: number[];
  /** Healthy hosts (or all, in panic) after the last update. */
  usable: number[];
  effective: number;
  current: number;
}

interface Level {
  hosts: number[];
  usable: number[];
  localities: Locality[];
}

/**
 * The priority levels of one cluster's endpoints and the host list a request
 * balances over, refreshed when the ejected set changes (`update`).
 */
export class PriorityPlan {
  private readonly levels: Level[] = [];
  private state: PriorityState = { load: [100], panic: [false] };
  private readonly weighted: boolean;

  constructor(
    endpoints: ReadonlyArray<{ priority?: number; localityWeight?: number; locality?: string }>,
    private readonly panicThreshold: number,
  ) {
    this.weighted = endpoints.some((e) => e.localityWeight !== undefined);
    const top = endpoints.reduce((a, e) => Math.max(a, e.priority ?? 0), 0);
    for (let p = 0; p <= top; p++) this.levels.push({ hosts: [], usable: [], localities: [] });
    endpoints.forEach((e, i) => {
      const lv = this.levels[e.priority ?? 0]!;
      lv.hosts.push(i);
      if (!this.weighted) return;
      const key = e.locality ?? "";
      let loc = lv.localities.find((l) => (endpoints[l.hosts[0]!]!.locality ?? "") === key);
      if (loc === undefined) {
        loc = { weight: e.localityWeight ?? 1, hosts: [], usable: [], effective: 0, current: 0 };
        lv.localities.push(loc);
      }
      loc.hosts.push(i);
    });
    this.update(() => false);
  }

  /** Envoy's loads and panic flags now (for explain and tests). */
  get current(): PriorityState {
    return this.state;
  }

  /** Recompute health, loads and usable hosts; `ejected(i)`: endpoint i is ejected. */
  update(ejected: (i: number) => boolean): void {
    const healthy: number[] = [];
    const total: number[] = [];
    for (const lv of this.levels) {
      let h = 0;
      for (const i of lv.hosts) if (!ejected(i)) h++;
      healthy.push(h);
      total.push(lv.hosts.length);
    }
    this.state = priorityState(healthy, total, this.panicThreshold);
    this.levels.forEach((lv, p) => {
      const all = this.state.panic[p]!;
      lv.usable = all ? lv.hosts : lv.hosts.filter((i) => !ejected(i));
      for (const l of lv.localities) {
        l.usable = l.hosts.filter((i) => !ejected(i));
        l.effective = effectiveLocalityWeight(l.weight, l.usable.length, l.hosts.length);
      }
    });
  }

  /** The hosts a request with draw `r` (0-99) balances over: its level's (one locality's, when weighted); empty: none. */
  hostsFor(r: number): number[] {
    const p = choosePriority(this.state.load, r);
    const lv = this.levels[p]!;
    if (!this.weighted || this.state.panic[p]) return lv.usable;
    let total = 0;
    let best: Locality | null = null;
    for (const l of lv.localities) {
      if (l.effective <= 0) continue;
      l.current += l.effective;
      total += l.effective;
      if (best === null || l.current > best.current) best = l;
    }
    if (best === null) return lv.usable;
    best.current -= total;
    return best.usable;
  }
}

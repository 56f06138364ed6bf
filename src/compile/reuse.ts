// Compile results kept from one compile to the next (CompileOptions.reuse), so
// that a reload that changed one VirtualService compiles the routes of that one
// VirtualService again, not of all 10,000.
//
// What is reused, and why it is equal to compiling again:
// - the routes of one VirtualService for one (gateway, port, tls) scope. They
//   are a function of the VirtualService object, the scope, and the context
//   (options, service registry, DestinationRules). Reuse is keyed by the
//   VirtualService's identity (the decode cache hands out the same object while
//   its file is unchanged) and is valid only while every other input resource
//   and the options are the same (the context fingerprint below; any change to a
//   Gateway, DestinationRule, ServiceEntry, Secret ... drops everything). Only
//   VirtualServices as decoded are reused: those compile derives (Ingress,
//   Gateway API, delegate merges) are compiled every time. The side effects of
//   building the routes (findings reported, clusters requested) are recorded
//   as calls and replayed in the same order, so findings (with their
//   once-only rule) and the cluster set come out the same.
// - the path index of a virtual host, a pure function of its route list
//   (keyed by the identities of the routes).
// - the findings analyze reports about a VirtualService (a function of it, the
//   Gateways and the options: the context), replayed in order.
// - the previous compile's route tables, by name and port: a virtual host with
//   the very same domains and routes (by identity) is taken as it is, and the
//   host maps when every virtual host has the same domains at the same index
//   (src/compile/virtualhosts.ts, pathindex.ts).
// test/unit/compile-reuse.test.ts checks a sequence of varied changes against
// compiles from scratch.
import type { Resource } from "../model/index.ts";
import type { VirtualServiceResource } from "../model/istio.ts";
import type { PathIndex, Route, RouteTable } from "../snapshot/types.ts";
import { ConditionRegistry } from "./conditions.ts";
import type { ClusterRequest, CompileContext, CompileOptions, CompileReuseHooks } from "./context.ts";

type ReportArgs = Parameters<CompileContext["report"]>;

const NO_REPORTS: ReportArgs[] = [];

interface Recorded {
  routes: Route[];
  reports: ReportArgs[];
  clusters: [string, ClusterRequest][];
  /** Each cluster's name as its number in CompileReuse.clusterIds. */
  clusterIds: Int32Array;
}

export interface ReuseStats {
  /** Route lists taken from the previous compile / built. */
  reused: number;
  built: number;
  /** False when the context changed and nothing could be reused. */
  contextSame: boolean;
}

/** The options that change compile output, as text (lastGood and reuse are not inputs). */
function optionsText(opts: CompileOptions): string {
  return JSON.stringify({
    ...opts,
    lastGood: undefined,
    reuse: undefined,
    portMap: [...opts.portMap].sort((a, b) => a[0] - b[0]),
    certFiles: [...(opts.certFiles ?? [])].sort(),
  });
}

export class CompileReuse implements CompileReuseHooks {
  private texts = new WeakMap<Resource, string>();
  private context = "";
  /** Recorded builds per VirtualService and scope; an entry not used by a compile (its stamp) is dropped at its end. */
  private records = new Map<VirtualServiceResource, { stamp: number; scopes: Map<string, Recorded> }>();
  /** Entries of `records` this compile used. */
  private recordsUsed = 0;
  private prevIndex = new Map<Route, { routes: Route[]; index: PathIndex }[]>();
  private nextIndex = new Map<Route, { routes: Route[]; index: PathIndex }[]>();
  private originals = new Set<VirtualServiceResource>();
  /** By route table name; content-keyed, so valid whatever else changed. Dropped when a compile has no such table. */
  private registries = new Map<string, ConditionRegistry>();
  private registriesUsed = new Set<string>();
  private prevAnalysis = new Map<VirtualServiceResource, ReportArgs[]>();
  private nextAnalysis = new Map<VirtualServiceResource, ReportArgs[]>();
  private prevTables = new Map<string, { port: number; table: RouteTable }>();
  private nextTables = new Map<string, { port: number; table: RouteTable }>();
  stats: ReuseStats = { reused: 0, built: 0, contextSame: false };
  /** Cluster names recorded builds request, numbered (started over with the records, when the context changes). */
  private clusterIds = new Map<string, number>();
  /** Per cluster number, the last compile that requested it. */
  private requested = new Int32Array(64);
  private compiles = 0;

  private clusterId(name: string): number {
    let id = this.clusterIds.get(name);
    if (id === undefined) {
      this.clusterIds.set(name, (id = this.clusterIds.size));
      if (id >= this.requested.length) {
        const r = new Int32Array(this.requested.length * 2);
        r.set(this.requested);
        this.requested = r;
      }
    }
    return id;
  }

  /** Called by compileSnapshot before anything is compiled. */
  begin(resources: Resource[], opts: CompileOptions): void {
    const h = new Bun.CryptoHasher("sha256");
    h.update(optionsText(opts));
    this.originals = new Set();
    for (const r of resources) {
      if (r.kind === "VirtualService") {
        this.originals.add(r);
        continue;
      }
      let t = this.texts.get(r);
      if (t === undefined) this.texts.set(r, (t = JSON.stringify(r)));
      h.update(t);
      h.update("\0");
    }
    const context = h.digest("hex");
    const same = context === this.context;
    this.context = context;
    if (!same) {
      this.records = new Map();
      this.prevIndex = new Map();
      this.prevAnalysis = new Map();
      this.clusterIds = new Map();
      this.requested = new Int32Array(64);
    }
    this.compiles++;
    this.recordsUsed = 0;
    this.nextIndex = new Map();
    this.nextTables = new Map();
    this.nextAnalysis = new Map();
    this.stats = { reused: 0, built: 0, contextSame: same };
  }

  /** Called at the end of a compile: what it used is what the next one may reuse. */
  end(): void {
    if (this.recordsUsed < this.records.size) for (const [vs, e] of this.records) if (e.stamp !== this.compiles) this.records.delete(vs);
    this.prevIndex = this.nextIndex;
    this.nextIndex = new Map();
    this.prevTables = this.nextTables;
    this.nextTables = new Map();
    this.prevAnalysis = this.nextAnalysis;
    this.nextAnalysis = new Map();
    for (const name of this.registries.keys()) if (!this.registriesUsed.has(name)) this.registries.delete(name);
    this.registriesUsed = new Set();
  }

  /** A compile that threw: keep nothing from it. */
  abort(): void {
    this.registriesUsed = new Set();
    this.context = "";
    this.records = new Map();
    this.prevIndex = new Map();
    this.clusterIds = new Map();
    this.requested = new Int32Array(64);
    this.prevTables = new Map();
    this.nextTables = new Map();
    this.prevAnalysis = new Map();
    this.nextAnalysis = new Map();
  }

  analysis(ctx: CompileContext, vs: VirtualServiceResource, run: () => void): void {
    if (!this.originals.has(vs)) return run();
    let reports = this.prevAnalysis.get(vs);
    if (reports !== undefined) for (const args of reports) ctx.report(...args);
    else {
      const log = ctx.reportLog;
      const mine: ReportArgs[] = [];
      ctx.reportLog = mine;
      try {
        run();
      } finally {
        ctx.reportLog = log;
        if (log !== null) log.push(...mine);
      }
      reports = mine.length === 0 ? NO_REPORTS : mine;
    }
    this.nextAnalysis.set(vs, reports);
  }

  previousTable(table: string, port: number): RouteTable | undefined {
    const p = this.prevTables.get(table);
    return p !== undefined && p.port === port ? p.table : undefined;
  }

  keepTable(table: string, port: number, t: RouteTable): void {
    this.nextTables.set(table, { port, table: t });
  }

  /** The routes of `vs` in `scope`: from the previous compile when allowed, else built (and recorded). */
  routes(ctx: CompileContext, vs: VirtualServiceResource, scope: string, build: () => Route[]): Route[] {
    if (!this.originals.has(vs)) return build();
    let e = this.records.get(vs);
    const old = e?.scopes.get(scope);
    let rec: Recorded;
    if (old !== undefined) {
      for (const args of old.reports) ctx.report(...args);
      const ids = old.clusterIds;
      for (let k = 0; k < ids.length; k++) {
        // a name this compile has requested already is in ctx.clusters: no map lookup (the records lie all over a large heap, so each costs cache misses)
        const id = ids[k]!;
        if (this.requested[id] === this.compiles) continue;
        this.requested[id] = this.compiles;
        const [name, req] = old.clusters[k]!;
        if (!ctx.clusters.has(name)) ctx.clusters.set(name, req);
      }
      rec = old;
      this.stats.reused++;
    } else {
      rec = record(ctx, build, (name) => this.clusterId(name));
      for (const id of rec.clusterIds) this.requested[id] = this.compiles;
      this.stats.built++;
    }
    if (e === undefined) this.records.set(vs, (e = { stamp: -1, scopes: new Map() }));
    if (e.stamp !== this.compiles) {
      e.stamp = this.compiles;
      this.recordsUsed++;
    }
    if (old !== rec) e.scopes.set(scope, rec);
    return rec.routes;
  }

  conditions(table: string): ConditionRegistry {
    this.registriesUsed.add(table);
    let r = this.registries.get(table);
    if (r === undefined) this.registries.set(table, (r = new ConditionRegistry()));
    return r;
  }

  /** buildPathIndex(routes), from the previous compile when the very same routes were indexed. */
  pathIndex(routes: Route[], build: (routes: Route[]) => PathIndex): PathIndex {
    const first = routes[0];
    if (first === undefined) return build(routes);
    const same = (e: { routes: Route[] }) => e.routes.length === routes.length && e.routes.every((r, i) => r === routes[i]);
    let hit = this.nextIndex.get(first)?.find(same) ?? this.prevIndex.get(first)?.find(same);
    if (hit === undefined) hit = { routes: [...routes], index: build(routes) };
    let list = this.nextIndex.get(first);
    if (list === undefined) this.nextIndex.set(first, (list = []));
    if (!list.includes(hit)) list.push(hit);
    return hit.index;
  }
}

/**
 * ctx.clusters while a build is recorded: every request reaches `set` with its
 * own values (`has` says no) and is recorded; the real map gets those it lacks.
 * A class of its own: the map itself is not patched (own properties added and
 * deleted on a Map left every later call on it slow).
 */
class RecordingClusters extends Map<string, ClusterRequest> {
  constructor(
    private readonly real: Map<string, ClusterRequest>,
    private readonly out: [string, ClusterRequest][],
  ) {
    super();
  }
  override has(_k: string): boolean {
    return false;
  }
  override get(k: string): ClusterRequest | undefined {
    return this.real.get(k);
  }
  override set(k: string, v: ClusterRequest): this {
    this.out.push([k, v]);
    if (!this.real.has(k)) this.real.set(k, v);
    return this;
  }
}

/** Run `build`, recording the findings it reports and the clusters it requests (as calls, in order). */
function record(ctx: CompileContext, build: () => Route[], clusterId: (name: string) => number): Recorded {
  const reports: ReportArgs[] = [];
  const clusters: [string, ClusterRequest][] = [];
  const map = ctx.clusters;
  const log = ctx.reportLog;
  ctx.reportLog = reports;
  ctx.clusters = new RecordingClusters(map, clusters);
  try {
    const routes = build();
    return { routes, reports, clusters, clusterIds: Int32Array.from(clusters, ([name]) => clusterId(name)) };
  } finally {
    ctx.reportLog = log;
    if (log !== null) log.push(...reports); // a recording around this one has them too
    ctx.clusters = map;
  }
}

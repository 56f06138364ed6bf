// What every compile step shares: options, the service registry, the
// DestinationRule index, the clusters requested so far, and the findings.
import type { ConditionRegistry } from "./conditions.ts";
import type { MeshConfig } from "../decode/meshconfig.ts";
import type { Code } from "../model/codes.ts";
import type { Resource } from "../model/index.ts";
import { fieldPath, resourceRef } from "../model/meta.ts";
import type { RuleIndex } from "../resolve/destinationrules.ts";
import type { Registry, ServiceInfo } from "../resolve/services.ts";
import type { Credential, Finding, FindingLevel, PathIndex, Route, RouteTable } from "../snapshot/types.ts";
import type { VirtualServiceResource } from "../model/istio.ts";

/** The command line's say on the access log: --access-log and --log-format, and whether each was given (src/compile/access-log.ts). */
export interface AccessLogFlags {
  target: string;
  targetExplicit: boolean;
  format: "text" | "json";
  formatExplicit: boolean;
}

export interface CompileOptions {
  /** Gateway namespace (--namespace, default istio-system). */
  namespace: string;
  /** --labels (default istio=ingressgateway). */
  labels: Record<string, string>;
  /** --locality REGION/ZONE/SUBZONE: the gateway's locality, over what its labels say (src/resolve/locality.ts). Unset: from the labels. */
  locality?: string;
  /** --port-map P:L: gateway port → local bind port; unmapped ports bind their own number. */
  portMap: Map<number, number>;
  /** --bind (default 0.0.0.0). */
  bindAddress: string;
  /**
   * Where the listeners can be reached, best first (src/primary/listen-addresses.ts): the
   * `status.addresses` of a Gateway API Gateway with no Service in the files. Unset: none reported.
   */
  listenAddresses?: string[];
  /**
   * Contents of the files Gateway servers name in tls.serverCertificate,
   * privateKey and caCertificates (read by the loader; null: unreadable).
   */
  certFiles?: Map<string, string | null>;
  /** --mesh-certs: directory of the mesh certificates ISTIO_MUTUAL servers present and trust. */
  meshCerts?: string | null;
  /** --trust-domain: ISTIO_MUTUAL clients need a `spiffe://<trustDomain>/` identity. */
  trustDomain?: string;
  /** --ingress-class: the `kubernetes.io/ingress.class` annotation value served (else the mesh config's, else `istio`). */
  ingressClass?: string;
  /**
   * --ingress-mode, Istio's meshConfig.ingressControllerMode: `strict` (default)
   * serves classed Ingresses only; `default` also serves Ingresses without a class
   * (unless a default IngressClass names another controller); `off` serves none.
   * Unset: the mesh config's ingressControllerMode, else `strict`.
   */
  ingressMode?: IngressMode;
  /**
   * Credentials of the snapshot serving now, by key (`ns/name`, `file:PATH`): a
   * credential that turns broken on reload keeps serving its last good version
   * (as Envoy keeps a secret whose update it rejects); a missing one does not.
   */
  lastGood?: Map<string, Credential>;
  /** --gateway NS/NAME (repeatable): the Gateway API Gateways this instance serves; empty: all of our class. */
  gateways?: string[];
  /** --mesh-config, decoded: extension providers for CUSTOM authorization, numTrustedProxies. */
  mesh?: MeshConfig;
  /** --access-log / --log-format and whether given: the snapshot then carries its access-log configuration (src/compile/access-log.ts); absent: none (the workers' options). */
  accessLog?: AccessLogFlags;
  /** --trusted-proxies (else the mesh config's gatewayTopology.numTrustedProxies, else 0). */
  trustedProxies?: number;
  /** Results of the previous compile a long-running primary keeps (src/compile/reuse.ts); never changes the output. */
  reuse?: CompileReuseHooks;
}

/** Trusted proxies in front of the gateway: `--trusted-proxies`, else the mesh config's numTrustedProxies, else 0. */
export function trustedProxies(opts: CompileOptions): number {
  return opts.trustedProxies ?? opts.mesh?.numTrustedProxies ?? 0;
}

/** What compile asks of CompileReuse (src/compile/reuse.ts implements it; declared here so the two do not import each other). */
export interface CompileReuseHooks {
  begin(resources: Resource[], opts: CompileOptions): void;
  end(): void;
  abort(): void;
  routes(ctx: CompileContext, vs: VirtualServiceResource, scope: string, build: () => Route[]): Route[];
  pathIndex(routes: Route[], build: (routes: Route[]) => PathIndex): PathIndex;
  /** The route program conditions of route table `table`, kept from one compile to the next. */
  conditions(table: string): ConditionRegistry;
  /** Runs `run` (analyze's findings about `vs`), or replays the findings it reported in the previous compile while nothing but VirtualServices changed. */
  analysis(ctx: CompileContext, vs: VirtualServiceResource, run: () => void): void;
  /** The previous compile's route table `table` for the same port (its virtual hosts and host maps may be taken as they are). */
  previousTable(table: string, port: number): RouteTable | undefined;
  /** Route table `table` as this compile built it, for the next compile's previousTable. */
  keepTable(table: string, port: number, t: RouteTable): void;
}

export type IngressMode = "strict" | "default" | "off";

/** A cluster some route points at, before its endpoints are resolved. */
export interface ClusterRequest {
  name: string;
  host: string;
  port: number;
  subset: string;
  /** null: host is no Service or ServiceEntry (the cluster has no endpoints). */
  service: ServiceInfo | null;
  /** Namespace the DestinationRule lookup starts from (the service's, else the route's). */
  namespace: string;
  /**
   * istiod's SNI-DNAT cluster (`outbound_.<port>_.<subset>_.<host>`, an
   * AUTO_PASSTHROUGH route's): only endpoints that take Istio mTLS, no TLS
   * origination, no PROXY header (clusters.ts sniDnatEndpoints).
   */
  sniDnat?: true;
}

export class CompileContext {
  readonly findings: Finding[] = [];
  private readonly seen = new Set<string>();
  /** Clusters requested so far (compile reuse swaps in a recording map while it records a build: src/compile/reuse.ts). */
  clusters = new Map<string, ClusterRequest>();
  /**
   * While compile reuse records a build: every report call, as made. A field of
   * the class (not a method patched in and deleted again, which left the object
   * in dictionary mode: every later property read of the context was slow).
   */
  reportLog: Parameters<CompileContext["report"]>[] | null = null;
  /**
   * Objects compile derived from another (an Ingress's Gateway and
   * VirtualServices): findings about them name the original, without a field.
   */
  readonly origins = new Map<Resource, Resource>();
  /**
   * For some derived objects: a field of theirs as the field of the original it
   * came from (a listener's Gateway `spec.servers[0]` → `spec.listeners[2]`, an
   * Ingress VirtualService's `spec.http[1]` → `spec.rules[0].http.paths[1]`);
   * "" when it has none. Without one, findings name the original alone.
   */
  readonly originFields = new Map<Resource, (field: string) => string>();
  /** The resources compiled, by `Kind/ns/name` (the later of two definitions): a finding given only the name still says where it was read. */
  byRef: ReadonlyMap<string, Resource> = new Map();

  constructor(
    readonly opts: CompileOptions,
    readonly registry: Registry,
    readonly rules: RuleIndex,
  ) {}

  /**
   * Record a finding about `r` (a resource, or a `Kind/ns/name` without a
   * source), once: the same code, resource, field and message are reported once.
   */
  report(level: FindingLevel, code: Code, r: Resource | string | null, message: string, field?: string): void {
    if (this.reportLog !== null) this.reportLog.push(field === undefined ? [level, code, r, message] : [level, code, r, message, field]);
    const f: Finding = { code, level, message };
    // a `Kind/ns/name` of a resource read from a file (a Service a cluster resolves to): its file and document too
    if (typeof r === "string") r = this.byRef.get(r) ?? r;
    if (typeof r === "string") {
      f.resource = r;
      if (field !== undefined) f.field = field;
    } else if (r !== null) {
      const origin = this.origins.get(r);
      const target = origin ?? r;
      f.resource = resourceRef(target);
      f.file = target.source.file;
      f.doc = target.source.doc;
      const translate = origin === undefined || field === undefined ? undefined : this.originFields.get(r);
      const p = fieldPath(target.source, origin === undefined ? (field ?? "") : translate === undefined ? "" : translate(field!));
      if (p !== "") f.field = p;
    } else if (field !== undefined) f.field = field;
    const key = `${code}\0${f.resource ?? ""}\0${f.field ?? ""}\0${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push(f);
  }

  /** `Kind/ns/name` a route or listener came from (the Ingress for derived objects). */
  sourceOf(r: Resource): string {
    return resourceRef(this.origins.get(r) ?? r);
  }
}

// The parsed command line: what the primary, the CLI subcommands and the
// workers' options are made from. A model type, so that src/primary does not
// depend on src/cli (which parses it).
import type { PathNormalization } from "../route/normalize-path.ts";

export type Command = "serve" | "analyze" | "proxy-config" | "certs" | "explain" | "status" | "help" | "version";

export interface Options {
  command: Command;
  /** Positional words after the command (e.g. `listeners` for proxy-config). */
  positional: string[];
  configDirs: string[];
  secretsDir: string | null;
  namespace: string;
  labels: Record<string, string>;
  portMap: Map<number, number>;
  bind: string;
  /** null when `--admin off`. */
  admin: { host: string; port: number } | null;
  /** --status-port: `/healthz/ready` (and `/healthz/live`) alone, safe to publish; null when off (the default). */
  statusPort: { host: string; port: number } | null;
  /** --metrics-port: `/stats/prometheus` alone, for scraping; null when off (the default). */
  metricsPort: { host: string; port: number } | null;
  workers: number;
  accessLog: string;
  logFormat: "text" | "json";
  /** --access-log / --log-format were given: they win over the mesh config's and Telemetry's access-log settings (src/compile/access-log.ts). */
  accessLogExplicit?: boolean;
  logFormatExplicit?: boolean;
  serverHeader: string;
  drainSeconds: number;
  /** --mesh-certs: Istio's mesh certificate layout (root-cert.pem, cert-chain.pem, key.pem) for ISTIO_MUTUAL. */
  meshCerts: string | null;
  /** --trust-domain: SPIFFE trust domain ISTIO_MUTUAL clients must belong to. */
  trustDomain: string;
  /** --ingress-class: the `kubernetes.io/ingress.class` value served; null: the mesh config's ingressClass, else `istio`. */
  ingressClass: string | null;
  /** --ingress-mode: which Kubernetes Ingresses are served (Istio's ingressControllerMode); null: the mesh config's, else strict. */
  ingressMode: "strict" | "default" | "off" | null;
  /** --gateway NS/NAME (repeatable): the Gateway API Gateways served; empty: every Gateway of our class. */
  gateways: string[];
  /** --path-normalization: Istio's mesh pathNormalization, applied before routing. */
  pathNormalization: PathNormalization;
  /** --mesh-config: Istio MeshConfig YAML (extensionProviders for CUSTOM authorization, gatewayTopology). */
  meshConfig: string | null;
  /** --trusted-proxies: Istio's numTrustedProxies; null: the mesh config's, else 0. */
  trustedProxies: number | null;
  /** --locality REGION[/ZONE[/SUBZONE]]: the gateway's locality; null: from --labels (src/resolve/locality.ts). */
  locality: string | null;
  /** --jwks-refresh: how often jwksUri keys are fetched again (Istio: 20 min). */
  jwksRefreshMs: number;
  /** Edge timeouts in ms, 0 = off (--request-headers-timeout, --stream-idle-timeout, --max-connection-duration, --drain-timeout). */
  requestHeadersTimeoutMs: number;
  streamIdleTimeoutMs: number;
  maxConnectionDurationMs: number;
  drainTimeoutMs: number;
  /** --liveness-timeout: a heartbeat this old means a stuck thread (src/admin/heartbeat.ts). */
  livenessTimeoutMs: number;
  /** --proxy-protocol: every traffic listener expects a PROXY protocol v1/v2 header. */
  proxyProtocol: boolean;
  /** Options a subcommand reads itself (`--host`, `--path`, `-o`, ...), by name. */
  extra: Map<string, string[]>;
}

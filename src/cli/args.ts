// Command line of INTERFACE.md: `gateway [command] --config DIR ... [options]`.
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { isPathNormalization, PATH_NORMALIZATIONS, type PathNormalization } from "../route/normalize-path.ts";
import { parseDuration } from "../decode/duration.ts";
import { LIVENESS_TIMEOUT_MS } from "../admin/heartbeat.ts";
import type { Command, Options } from "../model/options.ts";
import { editDistance } from "../validate/suggest.ts";

export class UsageError extends Error {}

/** The closest of `candidates` to `word` when it is a likely typo (at most 2 edits, and fewer than half its length), else null. */
export function didYouMean(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  const bare = word.replace(/^-+/, "");
  return best !== null && bestD <= 2 && bestD * 2 < bare.length ? best : null;
}

const ALL_FLAGS = () => [...Object.keys(VALUE_OPTIONS), ...EXTRA_OPTIONS, ...EXTRA_FLAGS, ...SERVE_FLAGS, "--help", "--version"];

export type { Command, Options } from "../model/options.ts";

const COMMANDS = new Set(["serve", "analyze", "proxy-config", "certs", "explain", "status", "help", "version"]);

/** Options with a value, and whether they may repeat. */
const VALUE_OPTIONS: Record<string, boolean> = {
  "--config": true,
  "--secrets-dir": false,
  "--namespace": false,
  "--labels": false,
  "--port-map": false,
  "--bind": false,
  "--admin": false,
  "--status-port": false,
  "--metrics-port": false,
  "--workers": false,
  "--access-log": false,
  "--log-format": false,
  "--server-header": false,
  "--drain-seconds": false,
  "--mesh-certs": false,
  "--trust-domain": false,
  "--ingress-class": false,
  "--ingress-mode": false,
  "--gateway": true,
  "--path-normalization": false,
  "--mesh-config": false,
  "--trusted-proxies": false,
  "--locality": false,
  "--jwks-refresh": false,
  "--request-headers-timeout": false,
  "--stream-idle-timeout": false,
  "--max-connection-duration": false,
  "--drain-timeout": false,
  "--liveness-timeout": false,
};

/** Edge timeout options → their Options field. */
const TIMEOUT_OPTIONS: Record<string, "requestHeadersTimeoutMs" | "streamIdleTimeoutMs" | "maxConnectionDurationMs" | "drainTimeoutMs"> = {
  "--request-headers-timeout": "requestHeadersTimeoutMs",
  "--stream-idle-timeout": "streamIdleTimeoutMs",
  "--max-connection-duration": "maxConnectionDurationMs",
  "--drain-timeout": "drainTimeoutMs",
};

/** Subcommand options (value-taking), collected into `extra`. */
const EXTRA_OPTIONS = new Set([
  "--host", "--path", "--port", "--sni", "--alpn", "--header", "--method", "--scheme",
  "-o", "--output", "--out", "--name", "--names", "--ca", "--ca-key", "--days",
  "--key-type", "--secret-name", "--secret-namespace", "--secret-format", "--org",
  "--source-ip", "--principal",
]);

/** Subcommand flags without a value, collected into `extra` as "true". */
const EXTRA_FLAGS = new Set(["--with-ca"]);

/** Serve flags without a value. */
const SERVE_FLAGS = new Set(["--proxy-protocol"]);

export function defaultOptions(): Options {
  return {
    command: "serve",
    positional: [],
    configDirs: [],
    secretsDir: null,
    namespace: "istio-system",
    labels: { istio: "ingressgateway" },
    portMap: new Map(),
    bind: "0.0.0.0",
    admin: { host: "127.0.0.1", port: 15000 },
    statusPort: null,
    metricsPort: null,
    workers: Math.max(1, availableParallelism()),
    accessLog: "stdout",
    logFormat: "text",
    serverHeader: "istio-envoy",
    drainSeconds: 5,
    meshCerts: null,
    trustDomain: "cluster.local",
    ingressClass: null,
    ingressMode: null,
    gateways: [],
    pathNormalization: "BASE",
    meshConfig: null,
    trustedProxies: null,
    locality: null,
    jwksRefreshMs: 20 * 60 * 1000,
    requestHeadersTimeoutMs: 60_000,
    streamIdleTimeoutMs: 300_000,
    maxConnectionDurationMs: 0,
    drainTimeoutMs: 5_000,
    livenessTimeoutMs: LIVENESS_TIMEOUT_MS,
    proxyProtocol: false,
    extra: new Map(),
  };
}

export function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.trim() === "") return out;
  for (const part of s.split(",")) {
    const eq = part.indexOf("=");
    const k = (eq < 0 ? part : part.slice(0, eq)).trim();
    const v = eq < 0 ? "" : part.slice(eq + 1).trim();
    if (k === "" || eq < 0) throw new UsageError(`--labels: expected k=v[,k=v...], got "${part}"`);
    out[k] = v;
  }
  return out;
}

function parsePort(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${what}: "${s}" is not a port number`);
  const n = Number(s);
  if (n < 1 || n > 65535) throw new UsageError(`${what}: port ${n} is out of range 1-65535`);
  return n;
}

export function parsePortMap(s: string): Map<number, number> {
  const out = new Map<number, number>();
  if (s.trim() === "") return out;
  for (const part of s.split(",")) {
    const [p, l, rest] = part.split(":");
    if (p === undefined || l === undefined || rest !== undefined) {
      throw new UsageError(`--port-map: expected P:L[,P:L...], got "${part}"`);
    }
    out.set(parsePort(p.trim(), "--port-map"), parsePort(l.trim(), "--port-map"));
  }
  return out;
}

export function parseAdmin(s: string, flag = "--admin"): { host: string; port: number } | null {
  if (s === "off") return null;
  const colon = s.lastIndexOf(":");
  if (colon < 0) throw new UsageError(`${flag}: expected HOST:PORT or off, got "${s}"`);
  let host = s.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const portStr = s.slice(colon + 1);
  if (!/^\d+$/.test(portStr) || Number(portStr) > 65535) throw new UsageError(`${flag}: bad port in "${s}"`);
  return { host: host === "" ? "127.0.0.1" : host, port: Number(portStr) };
}

export function parseArgs(argv: string[]): Options {
  const o = defaultOptions();
  let i = 0;
  const first = argv[0];
  if (first !== undefined && !first.startsWith("-")) {
    if (!COMMANDS.has(first)) {
      const near = didYouMean(first, COMMANDS);
      throw new UsageError(`unknown command "${first}"${near !== null ? `; did you mean "${near}"?` : ""}`);
    }
    o.command = first as Command;
    i = 1;
  }
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      o.command = "help";
      continue;
    }
    if (arg === "--version") {
      o.command = "version";
      continue;
    }
    if (!arg.startsWith("-")) {
      o.positional.push(arg);
      continue;
    }
    let name = arg;
    let value: string | undefined;
    const eq = arg.indexOf("=");
    if (eq > 0 && arg.startsWith("--")) {
      name = arg.slice(0, eq);
      value = arg.slice(eq + 1);
    }
    if (name === "--proxy-protocol") {
      if (value !== undefined && value !== "true" && value !== "false") throw new UsageError(`--proxy-protocol takes no value (or =true/=false), got "${value}"`);
      o.proxyProtocol = value !== "false";
      continue;
    }
    if (EXTRA_FLAGS.has(name) && value === undefined) {
      o.extra.set(name, ["true"]);
      continue;
    }
    const known = name in VALUE_OPTIONS || EXTRA_OPTIONS.has(name);
    if (!known) {
      const near = didYouMean(name, ALL_FLAGS());
      throw new UsageError(`unknown option ${name}${near !== null ? `; did you mean ${near}?` : ""}`);
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
    }
    applyOption(o, name, value);
  }
  return o;
}

function applyOption(o: Options, name: string, value: string): void {
  switch (name) {
    case "--config":
      o.configDirs.push(value);
      return;
    case "--secrets-dir":
      o.secretsDir = value;
      return;
    case "--namespace":
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value)) throw new UsageError(`--namespace: "${value}" is not a valid namespace`);
      o.namespace = value;
      return;
    case "--labels":
      o.labels = parseLabels(value);
      return;
    case "--port-map":
      o.portMap = parsePortMap(value);
      return;
    case "--bind":
      if (isIP(value) === 0) throw new UsageError(`--bind expects an IP address (0.0.0.0, 127.0.0.1, ::), got "${value}"`);
      o.bind = value;
      return;
    case "--admin":
      o.admin = parseAdmin(value);
      return;
    case "--status-port":
      o.statusPort = parseAdmin(value, name);
      return;
    case "--metrics-port":
      o.metricsPort = parseAdmin(value, name);
      return;
    case "--workers": {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) {
        throw new UsageError(`--workers: expected a number from 1 to 256, got "${value}"`);
      }
      o.workers = Number(value);
      return;
    }
    case "--access-log":
      if (value === "") throw new UsageError("--access-log: expected stdout, off or a path");
      o.accessLog = value;
      o.accessLogExplicit = true;
      return;
    case "--log-format":
      if (value !== "text" && value !== "json") throw new UsageError(`--log-format: expected text or json, got "${value}"`);
      o.logFormat = value;
      o.logFormatExplicit = true;
      return;
    case "--server-header":
      if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) throw new UsageError(`--server-header: "${value}" is not a valid header value`);
      o.serverHeader = value;
      return;
    case "--mesh-certs":
      o.meshCerts = value;
      return;
    case "--trust-domain":
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)) throw new UsageError(`--trust-domain: "${value}" is not a valid trust domain`);
      o.trustDomain = value;
      return;
    case "--drain-seconds":
      if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`--drain-seconds: expected seconds, got "${value}"`);
      o.drainSeconds = Number(value);
      return;
    case "--ingress-class":
      if (!/^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?$/.test(value)) throw new UsageError(`--ingress-class: "${value}" is not a valid class name`);
      o.ingressClass = value;
      return;
    case "--ingress-mode": {
      const m = value.toLowerCase();
      if (m !== "strict" && m !== "default" && m !== "off") throw new UsageError(`--ingress-mode: expected strict, default or off, got "${value}"`);
      o.ingressMode = m;
      return;
    }
    case "--gateway":
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)) throw new UsageError(`--gateway: expected NAMESPACE/NAME, got "${value}"`);
      if (!o.gateways.includes(value)) o.gateways.push(value);
      return;
    case "--path-normalization": {
      const m = value.toUpperCase();
      if (!isPathNormalization(m)) throw new UsageError(`--path-normalization: expected ${PATH_NORMALIZATIONS.join(", ")}, got "${value}"`);
      o.pathNormalization = m;
      return;
    }
    case "--mesh-config":
      o.meshConfig = value;
      return;
    case "--trusted-proxies":
      if (!/^\d+$/.test(value) || Number(value) > 64) throw new UsageError(`--trusted-proxies: expected a number from 0 to 64, got "${value}"`);
      o.trustedProxies = Number(value);
      return;
    case "--locality":
      // istiod's locality: region, zone, subzone; each part a label value (no `*`: that is a rule's wildcard)
      if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?(\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?){0,2}$/.test(value)) {
        throw new UsageError(`--locality: expected REGION[/ZONE[/SUBZONE]] (us-east1/us-east1-b), got "${value}"`);
      }
      o.locality = value;
      return;
    case "--liveness-timeout": {
      const ms = parseDuration(value);
      if (ms === null || ms < 2000 || ms > 2 ** 31 - 1) throw new UsageError(`--liveness-timeout: expected a duration of at least 2s (60s, 2m), got "${value}"`);
      o.livenessTimeoutMs = ms;
      return;
    }
    case "--jwks-refresh": {
      const ms = parseDuration(value);
      if (ms === null || ms < 100) throw new UsageError(`--jwks-refresh: expected a duration of at least 100ms (20m, 30s), got "${value}"`);
      o.jwksRefreshMs = ms;
      return;
    }
    case "--request-headers-timeout":
    case "--stream-idle-timeout":
    case "--max-connection-duration":
    case "--drain-timeout": {
      const ms = value === "off" ? 0 : parseDuration(value);
      if (ms === null || !Number.isFinite(ms) || ms > 2 ** 31 - 1) throw new UsageError(`${name}: expected a duration such as 60s, 500ms, 5m, or 0 (off), got "${value}"`);
      o[TIMEOUT_OPTIONS[name]!] = Math.round(ms);
      return;
    }
    default: {
      const key = name === "--output" ? "-o" : name;
      const list = o.extra.get(key) ?? [];
      list.push(value);
      o.extra.set(key, list);
    }
  }
}

export const USAGE = `gangway — an Istio-compatible ingress gateway

usage (after npm ci; \`bun run gateway ...\` with Bun on PATH does the same):
  npx gangway --config DIR [--config DIR ...] [options]     serve traffic
  npx gangway analyze --config DIR [-o text|json|yaml]      validate configuration, print findings
  npx gangway proxy-config listeners|routes|clusters|endpoints|secrets (--config DIR | --admin HOST:PORT) [-o json]
  npx gangway explain --config DIR --host H --path P [--port N] [--header k=v] [--method M]
                        [--sni S] [--alpn P,...]                     the ClientHello's server name and ALPN list
                        [--source-ip IP] [--principal SPIFFE-ID]                 also shows the security policies
  npx gangway certs ...                                      create CA, server and client certificates
  npx gangway status --config DIR [--gateway NS/NAME] [-o yaml|json]   Gateway API status a controller would write

options:
  --config DIR          configuration directory (required, repeatable): *.yaml, *.yml, *.json, recursively;
                        a file is read alone, as kubectl apply -f FILE
  --secrets-dir DIR     mounted secret volumes: DIR/<secret-name>/<key>
  --namespace NS        gateway namespace, where credentialName is looked up (default istio-system)
  --labels k=v,...      labels of this gateway instance (default istio=ingressgateway)
  --locality R[/Z[/S]]  the gateway's locality for localityLbSetting (default: from --labels
                        topology.kubernetes.io/region, .../zone, topology.istio.io/subzone, or istio-locality)
  --port-map P:L,...    a Gateway server on port P listens on local port L
  --bind ADDR           address of the traffic listeners (default 0.0.0.0)
  --admin HOST:PORT     admin listener, or off (default 127.0.0.1:15000); a warning when not on loopback
  --status-port HOST:PORT   /healthz/ready (and /healthz/live) alone, safe to publish, or off (default off)
  --metrics-port HOST:PORT  /stats/prometheus alone, for scraping, or off (default off)
  --workers N           data-plane workers (default: number of CPUs)
  --access-log stdout|off|PATH   access log destination (default stdout); given, it wins over the mesh config's
                                 accessLogFile and Telemetry providers' paths
  --log-format text|json          access log and log line format (default text); given, it wins over accessLogEncoding
  --server-header NAME  value of the server response header (default istio-envoy)
  --drain-seconds N     on SIGTERM/SIGINT, how long in-flight work may finish (default 5)
  --mesh-certs DIR      mesh certificates for ISTIO_MUTUAL servers: root-cert.pem, cert-chain.pem, key.pem
  --trust-domain TD     SPIFFE trust domain of ISTIO_MUTUAL clients (default cluster.local)
  --ingress-class NAME  Kubernetes Ingresses with annotation kubernetes.io/ingress.class: NAME are served
                        (default: the mesh config's ingressClass, else istio)
  --ingress-mode strict|default|off   strict: only classed Ingresses; default: also Ingresses without a
                        class, unless the default IngressClass is another controller's; off: none
                        (default: the mesh config's ingressControllerMode, else strict)
  --gateway NS/NAME     serve only this Gateway API Gateway (repeatable; default: every Gateway whose
                        GatewayClass has controllerName istio.io/gateway-controller)
  --path-normalization NONE|BASE|MERGE_SLASHES|DECODE_AND_MERGE_SLASHES
                        path normalization before routing, as Istio's mesh option (default BASE)
  --mesh-config FILE    Istio MeshConfig YAML: extensionProviders (CUSTOM authorization), gatewayTopology
  --trusted-proxies N   proxies in front of the gateway (Istio's numTrustedProxies): the client address is
                        taken from x-forwarded-for, N hops from the right (default 0: the peer address)
  --jwks-refresh D      how often RequestAuthentication jwksUri keys are fetched again (default 20m)
  --request-headers-timeout D   a request head must arrive within D, else 408 (default 60s; 0 off)
  --stream-idle-timeout D       a request/response with no bytes either way for D ends: 408 while the
                        request is coming, 504 waiting for the upstream, reset after (default 5m; 0 off)
  --max-connection-duration D   client connections close after D, between requests (default 0: off)
  --drain-timeout D     a connection asked to close gets D to finish its request before a reset (default 5s)
  --liveness-timeout D  the primary's or a worker's event loop stuck this long: a worker is restarted, a stuck
                        primary answers /healthz/live 503 (default 60s)
  --proxy-protocol      every traffic listener expects a PROXY protocol v1/v2 header (behind a load balancer)
  -h, --help            this text

exit codes: 0 normal, 1 unusable configuration at start-up, 2 bad usage
`;

// The upstream side of a TCP session as its cluster's DestinationRule says,
// as Envoy's tcp_proxy applies an Istio cluster: the endpoint picked by the
// cluster's balancer (consistentHash useSourceIp hashes the client's IP;
// outlier detection hears connect successes and failures), the cluster's
// maxConnections (over it: the connection is closed, flag UO), and TLS
// originated with the cluster's settings (workers/http/upstream-tls.ts) on
// routes that do not pass the client's own TLS through. The socket handlers
// call back into the session (session.ts).
import type { Socket } from "bun";
import type { Cluster } from "../../src/snapshot/types.ts";
import { requestHash } from "../../src/upstream/hash-key.ts";
import { connectFailed, type Connecting } from "../connect.ts";
import { reportError } from "../context.ts";
import type { ClusterRuntime } from "../http/clusters.ts";
import { alpnWire, connectOptions, verifyUpstream, type ConnectTlsOptions, type UpstreamTlsRuntime } from "../http/upstream-tls.ts";

/** What the handlers drive: the TCP session. */
export interface UpstreamSide extends Connecting {
  /** TLS settings the connection is made with (null: plaintext). */
  readonly upTls: UpstreamTlsRuntime | null;
  onUpOpen(s: Socket<UpstreamSide>): void;
  onUpData(b: Buffer): void;
  onUpDrain(): void;
  onUpEnd(): void;
  onUpClose(err?: Error): void;
}

const common = {
  data(s: Socket<UpstreamSide>, b: Buffer): void {
    s.data.onUpData(b);
  },
  drain(s: Socket<UpstreamSide>): void {
    s.data.onUpDrain();
  },
  end(s: Socket<UpstreamSide>): void {
    s.data.onUpEnd();
  },
  close(s: Socket<UpstreamSide>, err?: Error): void {
    s.data.onUpClose(err);
  },
  connectError(s: Socket<UpstreamSide>, err: Error): void {
    connectFailed(s.data, err);
  },
  error(_s: Socket<UpstreamSide>, err: Error): void {
    reportError("tcp upstream", err);
  },
};

/** Plaintext upstream: open as soon as connected. */
export const plainHandlers = {
  ...common,
  open(s: Socket<UpstreamSide>): void {
    s.data.onUpOpen(s);
  },
};

/** TLS upstream: open once the handshake ends and the certificate is accepted; else a connect failure with the TLS reason (UF). */
export const tlsHandlers = {
  ...common,
  open(_s: Socket<UpstreamSide>): void {},
  handshake(s: Socket<UpstreamSide>, _ok: boolean, err: Error | null): void {
    const t = s.data;
    let why: string;
    try {
      why = verifyUpstream(t.upTls!.policy, err as { code?: string } | null, s.getPeerCertificate()?.subjectaltname);
    } catch (e) {
      reportError("tcp upstream handshake", e);
      why = "handshake";
    }
    if (why === "") return t.onUpOpen(s);
    t.onConnectError(`TLS_error:_${why}`, "connect_failure"); // first: the close handler must find it failed, not gone
    s.terminate();
  },
};

/** The client's hash for a TCP route: only consistentHash useSourceIp has a key here (Envoy's tcp_proxy hashes the source IP only). */
export function tcpHash(c: Cluster, client: { sourceIp(): string }): bigint | null {
  const h = c.upstream?.hash ?? null;
  if (h === null || h.key.kind !== "sourceIp") return null;
  const sourceIp = client.sourceIp();
  if (sourceIp === "") return null;
  return requestHash(h.key, { header: () => null, sourceIp, query: "" });
}

/** connectionPool.tcp.maxConnections reached for the cluster (in this worker): counts the overflow. */
export function connectionsFull(rt: ClusterRuntime): boolean {
  const max = rt.breaker.limits.maxConnections;
  if (max === 0) return false;
  let n = 0;
  for (const p of rt.pools) n += p.connections;
  if (n < max) return false;
  rt.breaker.overflows.connections++;
  return true;
}

const ISTIO_ALPN = alpnWire(["istio"]);

/**
 * Bun.connect tls options for a TCP upstream: the policy's SNI, else the
 * destination's host name (no HTTP host to take it from; an IP: none); no
 * HTTP ALPN (`istio` for ISTIO_MUTUAL, as Istio offers it to sidecars).
 */
export function tcpTlsOptions(rt: UpstreamTlsRuntime, destHost: string): ConnectTlsOptions {
  const sni = rt.policy.sni !== "" ? rt.policy.sni : /^[0-9.]+$|:/.test(destHost) ? "" : destHost.toLowerCase();
  const o = { ...connectOptions(rt, sni) };
  delete o.ALPNProtocols;
  if (rt.policy.mode === "ISTIO_MUTUAL") o.ALPNProtocols = ISTIO_ALPN;
  return o;
}

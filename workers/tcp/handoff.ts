// Connections a TLS or TCP port hands to a TCP session once it knows where
// they go: PASSTHROUGH/AUTO_PASSTHROUGH chains (the peeked ClientHello and
// everything after it spliced untouched), TLS terminated here followed by
// `tcp:` routes, plain TCP listeners, and refusals (no route, bad hello ...),
// which get an access-log line saying why.
import { readTlsFacts } from "../tls/log-facts.ts";
import type { Socket } from "bun";
import type { SecureContext } from "node:tls";
import type { TcpDecision } from "../../src/dispatch/decision.ts";
import { dispatchTcp } from "../../src/dispatch/dispatch.ts";
import { REPLIES } from "../../src/dispatch/replies.ts";
import type { FilterChain } from "../../src/snapshot/types.ts";
import { accessLog } from "../access-log.ts";
import type { PortState } from "../port-state.ts";
import { options, reportError } from "../context.ts";
import { PROXY_BAD, PROXY_HEADER_TIMEOUT_MS, ProxyHeaderReader, proxiedOf, setProxied } from "../proxy-protocol.ts";
import { stats } from "../stats.ts";
import { TlsConn } from "../tls/bridge.ts";
import { asksClientCert, clientIdentity, handshakeRejectsUntrusted } from "../tls/identity.ts";
import type { Generation } from "../http/clusters.ts";
import { TcpSession, type SessionInfo } from "./session.ts";
import { hostPort, RawClient, type ClientSide } from "./sides.ts";
import { proxyHeader, type ProxyVersion } from "../proxy-header-out.ts";

/** The client's addresses, read from the socket only when used: the access log's at once, the source IP when a hash asks. */
class ClientInfo implements SessionInfo {
  downstreamRemote = "";
  downstreamLocal = "";
  constructor(
    private readonly s: Socket<any>,
    readonly sni: string,
  ) {
    if (!accessLog.enabled) return;
    const from = proxiedOf(s); // the client behind a load balancer (PROXY protocol)
    this.downstreamRemote = from !== undefined ? hostPort(from.ip, from.port) : hostPort(s.remoteAddress, s.remotePort);
    this.downstreamLocal = from?.dstIp ? hostPort(from.dstIp, from.dstPort ?? 0) : hostPort(s.localAddress, s.localPort);
  }
  sourceIp(): string {
    return proxiedOf(this.s)?.ip ?? this.s.remoteAddress ?? "";
  }
  proxyHeader(version: ProxyVersion): Buffer {
    const s = this.s;
    const from = proxiedOf(s); // behind a load balancer: the client and the address it reached, as its header said
    const src = from ?? { ip: s.remoteAddress ?? "", port: s.remotePort ?? 0 };
    const dst = from?.dstIp ? { ip: from.dstIp, port: from.dstPort ?? 0 } : { ip: s.localAddress ?? "", port: s.localPort ?? 0 };
    return proxyHeader(version, src, dst);
  }
}

export function sessionInfo(s: Socket<any>, sni: string): SessionInfo {
  return new ClientInfo(s, sni);
}

/** An access-log line for a connection closed before it had a route (NR: no route, or a bad/late ClientHello). */
export function logRefused(s: Socket<any>, sni: string, received: number, details: string, reason: string): void {
  if (!accessLog.enabled) return;
  const i = sessionInfo(s, sni);
  accessLog.log({
    startMs: Date.now(),
    method: "",
    logPath: "",
    protocol: "-",
    status: 0,
    flags: REPLIES.no_route.flag,
    details,
    termination: reason.replace(/\s+/g, "_"),
    transportFailure: "",
    bytesReceived: received,
    bytesSent: 0,
    durationMs: 0,
    upstreamServiceTime: -1,
    xff: "",
    userAgent: "",
    requestId: "",
    authority: "",
    upstreamHost: "",
    upstreamCluster: "",
    upstreamLocal: "",
    downstreamLocal: i.downstreamLocal,
    downstreamRemote: i.downstreamRemote,
    sni: i.sni,
    routeName: "",
  });
}

export { isPassthrough } from "../../src/dispatch/dispatch.ts";

/** A session for a raw client socket; `passthrough`: the client's TLS goes through (no TLS originated). Returns it before starting, so the caller can file it first. */
export function rawSession(s: Socket<any>, d: TcpDecision, gen: Generation, sni: string, passthrough = false): TcpSession {
  const t = new TcpSession(new RawClient(s), sessionInfo(s, sni), d, gen);
  t.passthrough = passthrough;
  return t;
}

/** The decrypted side of a terminated connection as a session's client. */
class TlsClient implements ClientSide {
  constructor(readonly conn: TlsConn) {}
  write(b: Uint8Array): number {
    return this.conn.write(b);
  }
  pause(): void {
    this.conn.pause();
  }
  resume(): void {
    this.conn.resume();
  }
  shutdown(): void {
    this.conn.end();
  }
  close(): void {
    this.conn.end();
  }
  closeAfterFin(): void {
    this.conn.end();
  }
  terminate(): void {
    this.conn.terminate();
  }
}

/**
 * TLS terminated here with the chain's context, then the decrypted bytes
 * spliced along `route`, from the end of the handshake. The returned TlsConn
 * takes the raw bytes (the peeked hello first, fed by the caller).
 */
export function terminateToTcp(s: Socket<any>, chain: FilterChain, ctx: SecureContext, sni: string, d: TcpDecision, gen: Generation, listener: string, onSecure: () => void, alpn?: string[]): TlsConn {
  const conn = new TlsConn(s, { secureContext: ctx, requestCert: asksClientCert(chain), rejectUnauthorized: handshakeRejectsUntrusted(chain), ALPNProtocols: alpn });
  const info = sessionInfo(s, sni);
  const t = conn.tls;
  if (accessLog.enabled) info.downstreamTls = { socket: t, facts: null }; // read only if a line names a TLS operator
  const session = new TcpSession(new TlsClient(conn), info, d, gen);
  let started = false;
  t.on("secure", () => {
    onSecure();
    try {
      stats.tlsHandshake(listener, t.isSessionReused());
      const id = clientIdentity(t, chain);
      if (id.reject !== "") {
        stats.tlsRefused(listener, "client_certificate");
        session.refuse(REPLIES.no_route.flag, "client_certificate_rejected", "client certificate rejected");
        return;
      }
      if (info.downstreamTls && accessLog.tls) readTlsFacts(info.downstreamTls, id.cert);
      started = true;
      session.start(null);
    } catch (err) {
      reportError("tls tcp secure", err);
      conn.terminate();
    }
  });
  t.on("data", (b: Buffer) => {
    if (started) session.onClientData(b);
  });
  t.on("drain", () => session.onClientDrain());
  t.on("end", () => session.onClientEnd());
  t.on("error", () => conn.terminate());
  t.on("close", () => {
    if (started) session.onClientClose();
    else session.refuse("", "tls_handshake_failed", "TLS handshake failed or not finished");
  });
  return conn;
}

/** Route a plain TCP connection along the listener's route. */
function startTcp(s: Socket<TcpSession>, port: PortState): TcpSession {
  const gen = port.gen;
  const d = dispatchTcp(gen.snapshot, port.draining ? null : port.listener.tcpRoutes, "");
  const t = rawSession(s, d, gen, "");
  s.data = t;
  t.start(null);
  return t;
}

/** --proxy-protocol: the connection's PROXY header, read before it is routed (closed without a valid one, or after a timeout). */
class PendingProxy {
  readonly reader = new ProxyHeaderReader();
  readonly timer: ReturnType<typeof setTimeout>;
  constructor(s: Socket<any>) {
    this.timer = setTimeout(() => s.terminate(), PROXY_HEADER_TIMEOUT_MS);
  }
}

function proxyBytes(s: Socket<TcpSession>, port: PortState, pending: PendingProxy, b: Buffer): void {
  const rest = pending.reader.feed(b);
  if (rest === null) return;
  clearTimeout(pending.timer);
  if (rest === PROXY_BAD) {
    stats.proxyProtocolError(port.listener.name);
    logRefused(s, "", b.length, "proxy_protocol", "no valid PROXY protocol header");
    s.terminate();
    return;
  }
  setProxied(s, pending.reader.addr);
  const t = startTcp(s, port);
  if (rest.length > 0) t.onClientData(rest);
}

/** Bun.listen handlers of a plain TCP listener: every connection follows the listener's route. */
export function tcpHandlers(port: PortState) {
  return {
    open(s: Socket<TcpSession>): void {
      if (options.proxyProtocol) s.data = new PendingProxy(s) as unknown as TcpSession;
      else startTcp(s, port);
    },
    data(s: Socket<TcpSession>, b: Buffer): void {
      const t = s.data as TcpSession | PendingProxy;
      if (t instanceof PendingProxy) return proxyBytes(s, port, t, b);
      t.onClientData(b);
    },
    drain(s: Socket<TcpSession>): void {
      if (!(s.data instanceof PendingProxy)) s.data.onClientDrain();
    },
    end(s: Socket<TcpSession>): void {
      if (s.data instanceof PendingProxy) s.end();
      else s.data.onClientEnd();
    },
    close(s: Socket<TcpSession>, err?: Error): void {
      const t = s.data as TcpSession | PendingProxy | undefined;
      if (t instanceof PendingProxy) clearTimeout(t.timer);
      else t?.onClientClose(err);
    },
    error(_s: Socket<TcpSession>, err: Error): void {
      reportError("tcp downstream", err);
    },
  };
}

// Bun.listen handlers of a TLS port: read the ClientHello without consuming it
// (under a deadline), choose the filter chain by SNI (exact, longest wildcard,
// `*`), and either fail the handshake (no chain, disabled chain), splice the
// connection untouched (PASSTHROUGH: workers/tcp), or terminate TLS with the
// chain's context and hand the decrypted stream to the HTTP downstream (or to
// a TCP route). The connection keeps the chain it was accepted under.
// A port with a passthrough chain allows half-open connections (a spliced
// client's FIN is passed on alone); a terminated connection closes on the
// client's FIN.
import { accessLog } from "../access-log.ts";
import { readTlsFacts } from "./log-facts.ts";
import type { Socket } from "bun";
import type { SecureContext } from "node:tls";
import { dispatchTcp, selectChain } from "../../src/dispatch/dispatch.ts";
import type { FilterChain } from "../../src/snapshot/types.ts";
import { options, reportError } from "../context.ts";
import { PROXY_BAD, ProxyHeaderReader, proxiedOf, setProxied } from "../proxy-protocol.ts";
import { Downstream } from "../http/downstream.ts";
import { recycleRetired } from "../http/exchange.ts";
import { DeadlineQueue, NO_TICKET } from "../deadline-queue.ts";
import type { PortState } from "../port-state.ts";
import { stats } from "../stats.ts";
import { logRefused, rawSession, terminateToTcp } from "../tcp/handoff.ts";
import type { TcpSession } from "../tcp/session.ts";
import { TlsConn } from "./bridge.ts";
import { nativeTlsSupported, upgradeNative } from "./native.ts";
import { MAX_HELLO_BYTES, newHelloWalk, parseClientHello, type HelloWalk } from "./client-hello.ts";
import { FirstBytes } from "../first-bytes.ts";
import { asksClientCert, clientIdentity, handshakeRejectsUntrusted } from "./identity.ts";

/** How long a client may take to send its ClientHello (from accept). */
export const HELLO_DEADLINE_MS = 5000;
/**
 * How long a terminated handshake may take once its ClientHello is read (Envoy's
 * transport_socket_connect_timeout, 15 s as istiod sets it on gateways). Longer than the hello's:
 * the server's flight is sent by then, and a client slow to answer it (a starved client
 * process: bench/tls-burst.sh) is not cut at 5 s. A handshake cut by it is counted as
 * gangway_tls_refused_total{reason="handshake_timeout"}.
 */
export const HANDSHAKE_DEADLINE_MS = 15_000;

let contexts = new Map<FilterChain, SecureContext>();

/** The contexts of the snapshot being applied (workers/tls/contexts.ts builds them). */
export function setContexts(c: Map<FilterChain, SecureContext>): void {
  contexts = c;
}

interface Peek {
  /** The bytes read so far, before they are handed on (null after). */
  buf: Buffer | null;
  /**
   * When the hello comes in several reads (created on the second read): where
   * `buf` grows, and where the walk over its records stopped (resumed, not redone).
   */
  acc: { bytes: FirstBytes; walk: HelloWalk } | null;
  /** The deadline's ticket, in `helloDeadlines` or (hello read) `handshakeDeadlines` (NO_TICKET: none). */
  deadline: number;
  /** The hello is read: `deadline` is in `handshakeDeadlines`. */
  shaking: boolean;
  port: PortState;
  /** Terminated: the bridge (TlsConn), or Bun's TLS socket the raw one was upgraded to (native.ts). */
  conn: TlsConn<any> | null;
  native: Socket<any> | null;
  /** Passthrough: the session the raw bytes go to. */
  tcp: TcpSession | null;
  /** --proxy-protocol: the PROXY header, read before the ClientHello. */
  proxy: ProxyHeaderReader | null;
}

/** Close before any TLS answer; the access log says why (`why`: more detail than the reason code). */
function refuse(s: Socket<Peek>, port: PortState, reason: string, sni = "", why = ""): void {
  stats.tlsRefused(port.listener.name, reason);
  logRefused(s, sni, s.data.buf?.length ?? 0, reason, why || reason.replace(/_/g, " "));
  s.terminate();
}

function clearDeadline(p: Peek): void {
  if (p.deadline !== NO_TICKET) (p.shaking ? handshakeDeadlines : helloDeadlines).cancel(p.deadline);
  p.deadline = NO_TICKET;
}

/** The hello is read: from now on the handshake's deadline applies (passthrough and refusals clear it at once). */
function startHandshakeDeadline(s: Socket<Peek>): void {
  const p = s.data;
  if (p.shaking) return;
  clearDeadline(p);
  p.shaking = true;
  p.deadline = handshakeDeadlines.add(s);
}

/** A chain whose bytes follow TCP routes: spliced untouched (passthrough), or terminated then spliced. */
function toTcp(s: Socket<Peek>, port: PortState, chain: FilterChain, sni: string, passthrough: boolean, alpn: string[] = []): void {
  const p = s.data;
  const gen = port.gen;
  const d = dispatchTcp(gen.snapshot, chain.tcpRoutes, sni);
  if (passthrough) {
    clearDeadline(p);
    const first = p.buf!;
    p.buf = null;
    p.acc = null;
    const t = rawSession(s, d, gen, sni, true);
    p.tcp = t;
    t.start(first);
    return;
  }
  if (d.route === null) return refuse(s, port, "no_route", sni, `no tcp route on ${chain.name}`);
  const ctx = contexts.get(chain);
  if (ctx === undefined) return refuse(s, port, "no_context", sni);
  const conn = terminateToTcp(s, chain, ctx, sni, d, gen, port.listener.name, () => clearDeadline(p), alpnChoice(alpn));
  p.conn = conn;
  const first = p.buf!;
  p.buf = null;
  p.acc = null;
  conn.duplex.feed(first);
}

/**
 * The ALPN list a terminated chain answers with: HTTP/2 when the client offers it, else
 * HTTP/1.1 (Envoy's h2, http/1.1, which istiod sets on every terminated gateway server,
 * TLS ones whose bytes follow a tcp route included).
 */
function alpnChoice(offered: string[]): string[] | undefined {
  return offered.includes("h2") ? ALPN_H2_H1 : offered.includes("http/1.1") ? ALPN_H1 : undefined;
}
const ALPN_H2_H1 = ["h2", "http/1.1"];
const ALPN_H1 = ["http/1.1"];

function terminate(s: Socket<Peek>, port: PortState, chain: FilterChain, sni: string, alpn: string[]): void {
  const ctx = contexts.get(chain);
  if (ctx === undefined) return refuse(s, port, "no_context");
  if (nativeTlsSupported(s)) {
    const p = s.data;
    const t = upgradeNative(s, port, chain, sni, alpn, ctx, p.buf!, () => clearDeadline(p));
    if (t !== null) {
      p.buf = null;
      p.acc = null;
      p.native = t;
      return;
    }
  }
  const mutual = asksClientCert(chain);
  const conn = new TlsConn<Downstream>(s, {
    secureContext: ctx,
    requestCert: mutual,
    rejectUnauthorized: handshakeRejectsUntrusted(chain),
    ALPNProtocols: alpnChoice(alpn),
  });
  s.data.conn = conn;
  const d = new Downstream(conn as unknown as Socket<Downstream>, port);
  d.tls = { chain, sni, xfcc: "", verified: false, bridged: true, alpn: "", socket: null, facts: null };
  const from = proxiedOf(s);
  if (from !== undefined) d.takeProxied(from);
  conn.data = d;
  const t = conn.tls;
  d.tls.socket = t;
  t.on("secure", () => {
    clearDeadline(s.data);
    try {
      stats.tlsHandshake(port.listener.name, t.isSessionReused());
      const id = clientIdentity(t, chain);
      if (id.reject !== "") {
        stats.tlsRefused(port.listener.name, "client_certificate");
        conn.terminate();
        return;
      }
      d.tls!.xfcc = id.xfcc;
      d.tls!.verified = id.xfcc !== "";
      d.tls!.alpn = conn.alpnProtocol;
      if (accessLog.tls) readTlsFacts(d.tls!, id.cert); // while the socket is there (log-facts.ts)
      port.conns.add(d);
    } catch (err) {
      reportError("tls secure", err);
      conn.terminate();
    }
  });
  t.on("data", (b: Buffer) => {
    try {
      d.onData(b);
    } catch (err) {
      reportError("request", err);
      d.abort();
    }
  });
  t.on("drain", () => {
    try {
      d.onDrain();
    } catch (err) {
      reportError("drain", err);
      d.abort();
    }
  });
  t.on("error", () => conn.terminate());
  t.on("close", () => {
    try {
      d.onClose();
    } catch (err) {
      reportError("close", err);
    }
  });
  const first = s.data.buf!;
  s.data.buf = null;
  s.data.acc = null;
  conn.duplex.feed(first);
}

/** The hello deadline passed: no complete ClientHello yet (refused). */
function helloLate(s: Socket<Peek>): void {
  const p = s.data;
  p.deadline = NO_TICKET;
  refuse(s, p.port, "hello_timeout");
}

/** The handshake deadline passed: the handshake the hello began is not finished. */
function handshakeLate(s: Socket<Peek>): void {
  const p = s.data;
  p.deadline = NO_TICKET;
  stats.tlsRefused(p.port.listener.name, "handshake_timeout");
  if (p.native !== null) p.native.terminate();
  else if (p.conn !== null) p.conn.terminate();
  else s.terminate();
}

/** This worker's TLS connections' deadlines: one timer per queue (deadline-queue.ts), not one per connection. */
let helloDeadlines = new DeadlineQueue<Socket<Peek>>(HELLO_DEADLINE_MS, helloLate, (err) => reportError("hello deadline", err));
let handshakeDeadlines = new DeadlineQueue<Socket<Peek>>(HANDSHAKE_DEADLINE_MS, handshakeLate, (err) => reportError("handshake deadline", err));

/** Tests: other deadline lengths for connections accepted from now on (none pending may be left). */
export function setTlsDeadlines(helloMs: number, handshakeMs: number): void {
  helloDeadlines.clear();
  handshakeDeadlines.clear();
  helloDeadlines = new DeadlineQueue<Socket<Peek>>(helloMs, helloLate, (err) => reportError("hello deadline", err));
  handshakeDeadlines = new DeadlineQueue<Socket<Peek>>(handshakeMs, handshakeLate, (err) => reportError("handshake deadline", err));
}

/** Bun.listen socket handlers for a TLS listener of one port. */
export function tlsHandlers(port: PortState) {
  return {
    open(s: Socket<Peek>): void {
      s.data = { buf: null, acc: null, deadline: NO_TICKET, shaking: false, port, conn: null, native: null, tcp: null, proxy: options.proxyProtocol ? new ProxyHeaderReader() : null };
      s.data.deadline = helloDeadlines.add(s);
    },
    data(s: Socket<Peek>, chunk: Buffer): void {
      recycleRetired(); // no exchange code on the stack here (the TLS socket's data events come from the feed below)
      const p = s.data;
      try {
        if (p.tcp !== null) {
          p.tcp.onClientData(chunk);
          return;
        }
        if (p.conn !== null) {
          p.conn.duplex.feed(chunk);
          return;
        }
        if (p.native !== null) return; // upgraded: Bun's TLS socket reads the connection
        if (p.proxy !== null) {
          // the PROXY header comes before the ClientHello (same deadline)
          const rest = p.proxy.feed(chunk);
          if (rest === null) return;
          if (rest === PROXY_BAD) {
            stats.proxyProtocolError(port.listener.name);
            return refuse(s, port, "proxy_protocol", "", "no valid PROXY protocol header");
          }
          setProxied(s, p.proxy.addr);
          p.proxy = null;
          if (rest.length === 0) return;
          chunk = rest;
        }
        if (p.buf === null) p.buf = chunk;
        else {
          if (p.acc === null) {
            p.acc = { bytes: new FirstBytes(), walk: newHelloWalk() };
            p.acc.bytes.append(p.buf);
          }
          p.buf = p.acc.bytes.append(chunk);
        }
        const r = parseClientHello(p.buf, p.acc?.walk ?? null);
        if (r.status === "more") {
          if (p.buf.length > MAX_HELLO_BYTES) refuse(s, port, "hello_too_large");
          return;
        }
        if (r.status === "error") return refuse(s, port, "bad_hello", "", r.reason);
        if (port.draining) return refuse(s, port, "not_tls", r.sni);
        const c = selectChain(port.listener, r.sni, r.alpn);
        if (c.kind === "refuse") return refuse(s, port, c.reason, r.sni, c.why);
        if (c.kind === "passthrough") return toTcp(s, port, c.chain, r.sni, true);
        startHandshakeDeadline(s); // terminated: the handshake's deadline covers the rest
        if (c.chain.tcpRoutes !== null) return toTcp(s, port, c.chain, r.sni, false, r.alpn);
        terminate(s, port, c.chain, r.sni, r.alpn);
      } catch (err) {
        reportError("tls accept", err);
        s.terminate();
      }
    },
    drain(s: Socket<Peek>): void {
      const p = s.data;
      if (p.tcp !== null) p.tcp.onClientDrain();
      else p.conn?.duplex.flush();
    },
    end(s: Socket<Peek>): void {
      const p = s.data;
      if (p.tcp !== null) p.tcp.onClientEnd();
      else s.end(); // not spliced: the client's FIN closes the connection
    },
    close(s: Socket<Peek>, err?: Error): void {
      const p = s.data;
      clearDeadline(p);
      if (p.tcp !== null) p.tcp.onClientClose(err);
      else p.conn?.duplex.rawEnded();
    },
    error(): void {},
  };
}

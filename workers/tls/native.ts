// TLS termination of an HTTP filter chain by Bun's own TLS: the raw Bun.listen
// socket whose ClientHello was peeked is upgraded in place with
// `socket.upgradeTLS({ isServer, initialData: <the peeked bytes>, tls: {
// secureContext, requestCert, rejectUnauthorized, ALPNProtocols } })` (what
// Bun's node:net does for a server TLSSocket over a native socket). The chain's
// node:tls SecureContext is the same one the bridge (bridge.ts) uses; only the
// transport differs: records are decrypted and encrypted in the socket layer,
// and the TLS socket is written like a plain one (write returns the bytes
// taken, drain), with no node stream between them. bench/ceiling-tls.sh:
// 4.9 µs CPU per keep-alive request against the bridge's 6.4 (hello responder).
// Statistics and the hello deadline are those of the bridge path (listener.ts).
// Only chains that do not ask for a client certificate are upgraded: on the
// bridge a refused certificate fails the handshake with OpenSSL's alert (curl:
// 56, certificate required) as Envoy's does, while Bun's upgraded socket reports
// it after the handshake and a close then is a bare EOF (curl over h2: 16).
import { accessLog } from "../access-log.ts";
import { readTlsFacts, type TlsSocketFacts } from "./log-facts.ts";
import type { Socket } from "bun";
import type { SecureContext } from "node:tls";
import type { FilterChain } from "../../src/snapshot/types.ts";
import { reportError } from "../context.ts";
import { Downstream } from "../http/downstream.ts";
import { recycleRetired } from "../http/exchange.ts";
import type { PortState } from "../port-state.ts";
import { proxiedOf } from "../proxy-protocol.ts";
import { stats } from "../stats.ts";
import { asksClientCert } from "./identity.ts";

/** One upgraded connection: what the TLS socket's handlers need. */
export class NativeTls {
  d: Downstream | null = null;
  /** Cleared by the handshake (the hello deadline of the raw socket). */
  onSecure: (() => void) | null;
  constructor(
    readonly port: PortState,
    readonly chain: FilterChain,
    readonly sni: string,
    readonly raw: Socket<any>,
    onSecure: () => void,
  ) {
    this.onSecure = onSecure;
  }
}

type TlsSocket = Socket<NativeTls>;

interface Upgradable {
  upgradeTLS(o: unknown): [Socket<any>, TlsSocket];
}

/**
 * Does this Bun upgrade a socket in place? Checked on the first socket. GANGWAY_TLS_BRIDGE=1
 * (benchmarks, differential runs) keeps every terminated connection on the bridge.
 */
let supported: boolean | null = null;
export function nativeTlsSupported(s: Socket<any>): boolean {
  if (supported === null) supported = typeof (s as unknown as Partial<Upgradable>).upgradeTLS === "function" && process.env.GANGWAY_TLS_BRIDGE !== "1";
  return supported;
}

/** Tests: force the bridge (false) or the native path (true), or null: decide again on the next socket. */
export function setNativeTls(on: boolean | null): void {
  supported = on;
}

/** Connections upgraded so far (tests). */
let upgrades = 0;
export function nativeTlsUpgrades(): number {
  return upgrades;
}

/** ALPN names in wire format (length-prefixed), cached per list. */
const H2_H1 = Buffer.from("\x02h2\x08http/1.1", "latin1");
const H1 = Buffer.from("\x08http/1.1", "latin1");

/** The TLS socket handlers (one object for every connection; exported for bench/http-proxy-loop.ts). */
export const nativeTlsHandlers = {
  open(t: TlsSocket): void {
    const n = t.data;
    try {
      const d = new Downstream(t as unknown as Socket<Downstream>, n.port);
      d.tls = { chain: n.chain, sni: n.sni, xfcc: "", verified: false, bridged: false, alpn: "", socket: t as unknown as TlsSocketFacts, facts: null };
      const from = proxiedOf(n.raw);
      if (from !== undefined) d.takeProxied(from);
      n.d = d;
    } catch (err) {
      reportError("tls accept", err);
      t.terminate();
    }
  },
  handshake(t: TlsSocket): void {
    const n = t.data;
    const d = n.d;
    const done = n.onSecure;
    n.onSecure = null;
    if (done !== null) done();
    if (d === null) return;
    try {
      const p = t.alpnProtocol;
      d.tls!.alpn = typeof p === "string" ? p : "";
      if (accessLog.tls) readTlsFacts(d.tls!); // while the socket is there (log-facts.ts)
      const listener = n.port.listener.name;
      stats.tlsHandshake(listener, t.isSessionReused());
      n.port.conns.add(d);
    } catch (e) {
      reportError("tls secure", e);
      t.terminate();
    }
  },
  data(t: TlsSocket, b: Buffer): void {
    recycleRetired(); // no exchange code on the stack here
    const d = t.data.d;
    if (d === null) return;
    try {
      d.onData(b);
    } catch (err) {
      reportError("request", err);
      d.abort();
    }
  },
  drain(t: TlsSocket): void {
    const d = t.data.d;
    if (d === null) return;
    try {
      d.onDrain();
    } catch (err) {
      reportError("drain", err);
      d.abort();
    }
  },
  end(t: TlsSocket): void {
    t.end(); // the client's FIN (or close_notify) closes the connection, as the bridge's TLSSocket does
  },
  close(t: TlsSocket): void {
    const n = t.data;
    const done = n.onSecure; // closed before the handshake finished: the deadline goes too
    n.onSecure = null;
    if (done !== null) done();
    try {
      n.d?.onClose();
    } catch (err) {
      reportError("close", err);
    }
  },
  error(): void {},
};

/**
 * Upgrade `s` (its ClientHello in `first`) to a TLS server socket for `chain`.
 * Returns the TLS socket, or null for a chain that asks for a client certificate or when
 * Bun refused the upgrade (nothing consumed: the caller takes the bridge instead).
 */
export function upgradeNative(
  s: Socket<any>,
  port: PortState,
  chain: FilterChain,
  sni: string,
  alpn: string[],
  ctx: SecureContext,
  first: Buffer,
  onSecure: () => void,
): TlsSocket | null {
  const native = (ctx as unknown as { context?: unknown }).context;
  if (native === undefined || asksClientCert(chain)) return null;
  const n = new NativeTls(port, chain, sni, s, onSecure);
  let pair: [Socket<any>, TlsSocket];
  try {
    pair = (s as unknown as Upgradable).upgradeTLS({
      isServer: true,
      initialData: first,
      data: n,
      tls: {
        secureContext: native,
        requestCert: false,
        rejectUnauthorized: false,
        // HTTP/2 when the client offers it (as Envoy's HTTPS listeners do), else HTTP/1.1
        ALPNProtocols: alpn.includes("h2") ? H2_H1 : alpn.includes("http/1.1") ? H1 : undefined,
      },
      socket: nativeTlsHandlers,
    });
  } catch (err) {
    reportError("tls upgrade", err);
    return null;
  }
  upgrades++;
  return pair[1];
}

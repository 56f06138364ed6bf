// Bun.listen handlers of a TLS port: read the ClientHello without consuming it
// (under a deadline), choose the filter chain by SNI (exact, longest wildcard,
// `*`), and either fail the handshake (no chain, disabled chain) or terminate
// TLS with the chain's context and hand the decrypted stream to the HTTP
// downstream. The connection keeps the chain it was accepted under.
import type { Socket } from "bun";
import type { SecureContext } from "node:tls";
import { selectVirtualHost } from "../../src/route/lookup.ts";
import type { FilterChain } from "../../src/snapshot/types.ts";
import { reportError } from "../context.ts";
import { Downstream } from "../http/downstream.ts";
import type { PortState } from "../listeners.ts";
import { stats } from "../stats.ts";
import { TlsConn } from "./bridge.ts";
import { MAX_HELLO_BYTES, parseClientHello } from "./client-hello.ts";
import { clientIdentity } from "./identity.ts";

/** How long a client may take to send its ClientHello and finish the handshake. */
export const HELLO_DEADLINE_MS = 5000;

let contexts = new Map<FilterChain, SecureContext>();

/** The contexts of the snapshot being applied (workers/tls/contexts.ts builds them). */
export function setContexts(c: Map<FilterChain, SecureContext>): void {
  contexts = c;
}

interface Peek {
  buf: Buffer | null;
  timer: ReturnType<typeof setTimeout> | null;
  conn: TlsConn<Downstream> | null;
}

function refuse(s: Socket<Peek>, port: PortState, reason: string): void {
  stats.tlsRefused(port.listener.name, reason);
  s.terminate();
}

function terminate(s: Socket<Peek>, port: PortState, chain: FilterChain, sni: string, alpn: string[]): void {
  const ctx = contexts.get(chain);
  if (ctx === undefined) return refuse(s, port, "no_context");
  const mutual = chain.mode === "MUTUAL" || chain.mode === "OPTIONAL_MUTUAL";
  const conn = new TlsConn<Downstream>(s, {
    secureContext: ctx,
    requestCert: mutual,
    rejectUnauthorized: chain.mode === "MUTUAL",
    ALPNProtocols: alpn.includes("http/1.1") ? ["http/1.1"] : undefined,
  });
  s.data.conn = conn;
  const d = new Downstream(conn as unknown as Socket<Downstream>, port);
  d.tls = { chain, sni, xfcc: "", verified: false };
  conn.data = d;
  const t = conn.tls;
  t.on("secure", () => {
    if (s.data.timer !== null) clearTimeout(s.data.timer);
    s.data.timer = null;
    try {
      const id = clientIdentity(t, chain);
      if (id.reject !== "") {
        stats.tlsRefused(port.listener.name, "client_certificate");
        conn.terminate();
        return;
      }
      d.tls!.xfcc = id.xfcc;
      d.tls!.verified = id.xfcc !== "";
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
  conn.duplex.feed(first);
}

/** Bun.listen socket handlers for a TLS listener of one port. */
export function tlsHandlers(port: PortState) {
  return {
    open(s: Socket<Peek>): void {
      s.data = { buf: null, timer: null, conn: null };
      s.data.timer = setTimeout(() => {
        s.data.timer = null;
        if (s.data.conn === null) refuse(s, port, "hello_timeout");
        else s.data.conn.terminate(); // handshake not finished in time
      }, HELLO_DEADLINE_MS);
      s.setNoDelay(true);
    },
    data(s: Socket<Peek>, chunk: Buffer): void {
      const p = s.data;
      try {
        if (p.conn !== null) {
          p.conn.duplex.feed(chunk);
          return;
        }
        p.buf = p.buf === null ? chunk : Buffer.concat([p.buf, chunk]);
        const r = parseClientHello(p.buf);
        if (r.status === "more") {
          if (p.buf.length > MAX_HELLO_BYTES) refuse(s, port, "hello_too_large");
          return;
        }
        // the deadline now covers the rest of the handshake
        if (r.status === "error") return refuse(s, port, "bad_hello");
        const tls = port.listener.tls;
        if (tls === null || port.draining) return refuse(s, port, "not_tls");
        const ci = selectVirtualHost(tls, r.sni);
        if (ci < 0) return refuse(s, port, "unknown_sni");
        const chain = tls.chains[ci]!;
        if (chain.disabled !== "" || chain.routeTable === null) return refuse(s, port, "chain_disabled");
        terminate(s, port, chain, r.sni, r.alpn);
      } catch (err) {
        reportError("tls accept", err);
        s.terminate();
      }
    },
    drain(s: Socket<Peek>): void {
      s.data.conn?.duplex.flush();
    },
    close(s: Socket<Peek>): void {
      const p = s.data;
      if (p.timer !== null) clearTimeout(p.timer);
      p.conn?.duplex.rawEnded();
    },
    error(): void {},
  };
}

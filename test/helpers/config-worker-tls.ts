// TLS clients of the configuration fuzz on a worker (config-worker-check.ts):
// a handshake with an SNI name (or none), with or without a client certificate,
// then an HTTP/1.1 GET or an HTTP/2 request (ALPN h2) over it; the PKI they use:
// the demo CA's client certificate (config/certs, which the walkthrough's MUTUAL
// Secret trusts), a client certificate of a CA nobody trusts, and the
// certificate of the TLS backend that PASSTHROUGH routes reach.
import { readFileSync } from "node:fs";
import { connect as h2Connect, type OutgoingHttpHeaders, type SecureClientSessionOptions } from "node:http2";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { createCA, issue } from "../../src/certs/generate.ts";

const CERTS = join(import.meta.dir, "..", "..", "config", "certs");
const pem = (f: string) => readFileSync(join(CERTS, f), "utf8");

export interface ClientCert {
  cert: string;
  key: string;
}

export interface FuzzTlsPki {
  /** The demo CA (config/certs/example.com.crt), PEM: a MUTUAL server whose CA bundle holds it trusts `trusted`. */
  demoCa: string;
  /** client.example.com, issued by the demo CA. */
  trusted: ClientCert;
  /** A client certificate of a CA made here, which no configuration trusts. */
  untrusted: ClientCert;
  /** nginx.example.com (demo CA): the TLS backend behind PASSTHROUGH routes. */
  backend: ClientCert;
}

export async function fuzzTlsPki(): Promise<FuzzTlsPki> {
  const ca = await createCA({ cn: "untrusted-fuzz-ca.example.com", keyType: "ec" });
  const leaf = await issue(ca, { cn: "client.example.com", usage: "client", keyType: "ec" });
  return {
    demoCa: pem("example.com.crt"),
    trusted: { cert: pem("client.example.com.crt"), key: pem("client.example.com.key") },
    untrusted: { cert: leaf.cert, key: leaf.key },
    backend: { cert: pem("nginx.example.com.crt"), key: pem("nginx.example.com.key") },
  };
}

/** The base64 body of each certificate in a PEM bundle (to tell whether a bundle holds a certificate). */
export const pemBodies = (bundle: string): string[] => [...bundle.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => m[1]!.replace(/\s+/g, ""));

export interface TlsAnswer {
  handshake: boolean;
  /** The server certificate's subject CN ("" when none came). */
  peer: string;
  text: string;
  closed: boolean;
  timedOut: boolean;
}

/** A TLS handshake with `sni` (or none) on `port` (with `client`'s certificate), then a GET over HTTP/1.1: what came back. */
export function tlsRequest(port: number, sni: string | undefined, host: string, boundMs: number, client?: ClientCert): Promise<TlsAnswer> {
  return new Promise((resolve) => {
    let text = "";
    let handshake = false;
    let peer = "";
    let settled = false;
    const s = tlsConnect({ host: "127.0.0.1", port, ...(sni !== undefined ? { servername: sni } : {}), rejectUnauthorized: false, ALPNProtocols: ["http/1.1"], ...(client ?? {}) });
    const done = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ handshake, peer, text, closed, timedOut });
    };
    const timer = setTimeout(() => done(false, true), boundMs);
    s.on("secureConnect", () => {
      handshake = true;
      peer = String(s.getPeerCertificate()?.subject?.CN ?? "");
      s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (text.includes("\r\n\r\n")) done(false, false);
    });
    s.on("error", () => done(true, false));
    s.on("close", () => done(true, false));
  });
}

/**
 * An HTTP/2 request over TLS (ALPN h2 offered with http/1.1) on `port`: the
 * `:status` it got, "closed" (a failed handshake, a reset, a GOAWAY, or the
 * server chose HTTP/1.1), or null when nothing came within the bound.
 */
export function h2TlsRequest(port: number, sni: string | undefined, host: string, boundMs: number, client?: ClientCert): Promise<string | null> {
  const opts = { ...(sni !== undefined ? { servername: sni } : {}), rejectUnauthorized: false, ALPNProtocols: ["h2", "http/1.1"], ...(client ?? {}) };
  return h2Exchange(`https://127.0.0.1:${port}`, opts, { ":method": "GET", ":path": "/get?h2=tls", ":authority": host, "x-who": "a", authorization: "Bearer a.b.c" }, undefined, boundMs);
}

/**
 * One HTTP/2 request on a new session to `url` (h2c for http:, TLS for https:), with
 * `body` or none: its status as text, "closed" when the session or stream ended
 * first, null when nothing ended it within `boundMs`.
 */
export function h2Exchange(url: string, opts: SecureClientSessionOptions, headers: OutgoingHttpHeaders, body: Buffer | undefined, boundMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    const session = h2Connect(url, opts);
    const done = (v: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), boundMs);
    session.on("error", () => done("closed"));
    session.on("close", () => done("closed"));
    const req = session.request(headers);
    req.on("response", (h) => done(String(h[":status"])));
    req.on("error", () => done("closed"));
    req.on("close", () => done("closed"));
    req.end(body);
  });
}

// Ceiling for TLS keep-alive (issue 15 target 3) and HTTP/2 over TLS (target 2): minimal
// one-thread "hello" servers, no proxying, on each TLS stack Bun offers, to show what the
// bridge gangway uses (raw Bun.listen + ClientHello peek + node:tls TLSSocket over a Duplex,
// workers/tls/bridge.ts) costs against Bun's native TLS.
// Usage: bun bench/ceiling-tls.ts MODE PORT CERT KEY [seconds=30]   (bench/ceiling-tls.sh drives it)
// MODE, HTTP/1.1 (every request answered "Hello, World!", keep-alive):
//   native   Bun.listen({ tls }): Bun's own TLS on the socket
//   bridge   Bun.listen (plain) + TlsConn (RawDuplex + TLSSocket), decrypted side read by 'data'
//   serve    Bun.serve({ tls }) fetch handler
// MODE, HTTP/2 over TLS (ALPN h2; node:http2 over H2Duplex as gangway does):
//   upgrade  Bun.listen (plain), the first bytes handed to Bun's native TLS with socket.upgradeTLS({ initialData })
//   h2native Bun.listen({ tls, ALPNProtocols }) -> H2Duplex -> http2.performServerHandshake
//   h2upgrade the same with upgradeTLS, ALPN h2
//   h2bridge Bun.listen (plain) + TlsConn -> H2Duplex -> http2.performServerHandshake
//   h2serve  Bun.serve({ tls }) (Bun's own HTTP/2 is not exposed here: ALPN h2 only with http2: true)
// MODE, the least TLS-terminating proxy (issue 15 target 3's ceiling; UPSTREAM=port of a plain
// HTTP/1.1 server on 127.0.0.1, WORKERS=n threads with reusePort, default 1): each client
// connection is paired with one upstream connection and the bytes are relayed both ways, no
// HTTP parsing (as bench/http-proxy-splice.ts does for plain HTTP):
//   relay        Bun.listen (plain), the first bytes handed to upgradeTLS({ initialData }), as gangway
//                does (Bun then also calls the raw socket's data handler with every ciphertext read)
//   relaylisten  Bun.listen({ tls }): Bun's TLS from the accept, no raw socket under it
import type { Socket } from "bun";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import { createSecureContext } from "node:tls";
import { H2Duplex } from "../workers/http/h2-duplex.ts";
import { TlsConn } from "../workers/tls/bridge.ts";
import { h2DuplexSocket } from "./lib/h2-duplex-socket.ts";

const [mode, portArg, certPath, keyPath, secArg] = process.argv.slice(2);
if (mode === undefined || certPath === undefined || keyPath === undefined) throw new Error("usage: ceiling-tls.ts MODE PORT CERT KEY [seconds]");
const port = Number(portArg);
const cert = readFileSync(certPath, "utf8");
const key = readFileSync(keyPath, "utf8");

const BODY = "Hello, World!";
const RESPONSE = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, "latin1");
const H2_HEADERS = { ":status": 200, "content-type": "text/plain", "content-length": String(BODY.length) };
const SETTINGS: http2.Settings = { maxConcurrentStreams: 128, maxHeaderListSize: 64 * 1024, enablePush: false };

/** Counts request ends (CRLFCRLF) across chunks; GETs without bodies only (wrk). */
class Heads {
  private state = 0; // how many bytes of \r\n\r\n matched so far
  count(b: Uint8Array): number {
    let n = 0;
    let s = this.state;
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c === 13) s = s === 2 ? 3 : 1;
      else if (c === 10 && (s === 1 || s === 3)) {
        if (s === 3) {
          n++;
          s = 0;
        } else s = 2;
      } else s = 0;
    }
    this.state = s;
    return n;
  }
}

function responses(n: number): Uint8Array {
  if (n === 1) return RESPONSE;
  const out = Buffer.allocUnsafe(RESPONSE.length * n);
  for (let i = 0; i < n; i++) out.set(RESPONSE, i * RESPONSE.length);
  return out;
}

function h2session(d: H2Duplex): void {
  const session = http2.performServerHandshake(d, { settings: SETTINGS });
  session.on("stream", (st) => {
    st.on("error", () => {});
    st.respond(H2_HEADERS);
    st.end(BODY);
  });
  session.on("error", () => d.destroy());
}

const secureContext = createSecureContext({ cert, key });

/** relay modes: a TLS client socket and its plain upstream socket. */
interface Pair {
  peer: Socket<Pair> | null;
  early: Buffer[];
}
const upHandlers = {
  open(s: Socket<Pair>) {
    const down = s.data.peer!;
    down.data.peer = s;
    for (const b of down.data.early) down.data.peer.write(b);
    down.data.early = [];
  },
  data(s: Socket<Pair>, d: Buffer) {
    s.data.peer?.write(d);
  },
  close(s: Socket<Pair>) {
    s.data.peer?.end();
  },
  error() {},
};
const downHandlers = {
  open(s: Socket<Pair>) {
    s.data = { peer: null, early: [] };
    Bun.connect<Pair>({ hostname: "127.0.0.1", port: Number(process.env.UPSTREAM), socket: upHandlers, data: { peer: s, early: [] } }).catch(() => s.end());
  },
  data(s: Socket<Pair>, d: Buffer) {
    if (s.data.peer !== null) s.data.peer.write(d);
    else s.data.early.push(d);
  },
  close(s: Socket<Pair>) {
    s.data.peer?.end();
  },
  error() {},
};
if ((mode === "relay" || mode === "relaylisten") && Bun.isMainThread && Number(process.env.WORKERS ?? 1) > 1) {
  for (let i = 0; i < Number(process.env.WORKERS); i++) new Worker(import.meta.url, { argv: process.argv.slice(2) } as WorkerOptions);
  console.log(`ceiling-tls ${mode} x${process.env.WORKERS} on 127.0.0.1:${port} -> ${process.env.UPSTREAM} for ${Number(secArg ?? 30)}s`);
  setTimeout(() => process.exit(0), Number(secArg ?? 30) * 1000);
} else

switch (mode) {
  case "relaylisten":
    Bun.listen<Pair>({ hostname: "127.0.0.1", port, reusePort: true, tls: { cert, key }, socket: downHandlers } as unknown as Parameters<typeof Bun.listen<Pair>>[0]);
    break;
  case "relay": {
    const native = (secureContext as unknown as { context: unknown }).context;
    Bun.listen<{ up: boolean }>({
      hostname: "127.0.0.1",
      port,
      reusePort: true,
      socket: {
        open(s: Socket<{ up: boolean }>) {
          s.data = { up: false };
        },
        data(s: Socket<{ up: boolean }>, b: Buffer) {
          if (s.data.up) return; // the ciphertext Bun still hands the raw socket
          s.data.up = true;
          (s as unknown as { upgradeTLS(o: unknown): unknown }).upgradeTLS({ isServer: true, initialData: b, data: null, tls: { secureContext: native }, socket: downHandlers });
        },
        error() {},
      },
    } as unknown as Parameters<typeof Bun.listen<{ up: boolean }>>[0]);
    break;
  }
  case "native":
    Bun.listen<Heads>({
      hostname: "127.0.0.1",
      port,
      tls: { cert, key },
      socket: {
        open(s) {
          s.data = new Heads();
        },
        data(s, b) {
          const n = s.data.count(b);
          if (n > 0) s.write(responses(n));
        },
      },
    });
    break;
  case "bridge":
  case "h2bridge": {
    const h2 = mode === "h2bridge";
    Bun.listen<{ conn: TlsConn | null }>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.data = { conn: null };
        },
        data(s, b) {
          let c = s.data.conn;
          if (c === null) {
            // gangway peeks the ClientHello first; the cost of that parse is not the point here
            c = s.data.conn = new TlsConn(s, { secureContext, requestCert: false, rejectUnauthorized: false, ALPNProtocols: h2 ? ["h2", "http/1.1"] : undefined });
            const conn = c;
            if (h2) {
              const d = new H2Duplex(conn);
              h2session(d);
              conn.tls.on("data", (x: Buffer) => d.feed(x));
              conn.tls.on("close", () => d.rawEnded());
            } else {
              const heads = new Heads();
              conn.tls.on("data", (x: Buffer) => {
                const n = heads.count(x);
                if (n > 0) conn.write(responses(n));
              });
            }
            conn.tls.on("error", () => conn.terminate());
          }
          c.duplex.feed(b);
        },
        drain(s) {
          s.data.conn?.duplex.flush();
        },
        end(s) {
          s.end();
        },
        close(s) {
          s.data.conn?.duplex.rawEnded();
        },
        error() {},
      },
    });
    break;
  }
  case "upgrade":
  case "h2upgrade": {
    // the peeked ClientHello handed to Bun's native TLS: socket.upgradeTLS({ initialData })
    const h2 = mode === "h2upgrade";
    const native = (secureContext as unknown as { context: unknown }).context;
    Bun.listen<{ up: boolean }>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.data = { up: false };
        },
        data(s, b) {
          if (s.data.up) return;
          s.data.up = true;
          const heads = new Heads();
          (s as unknown as { upgradeTLS(o: unknown): unknown }).upgradeTLS({
            isServer: true,
            initialData: b,
            data: null,
            tls: { secureContext: native, requestCert: false, rejectUnauthorized: false, ALPNProtocols: h2 ? Buffer.from("\x02h2\x08http/1.1", "latin1") : undefined },
            socket: {
              open(t: Socket<any>) {
                if (h2) {
                  const d = new H2Duplex(t as never);
                  t.data = d;
                  h2session(d);
                }
              },
              data(t: Socket<any>, x: Buffer) {
                if (h2) return void (t.data as H2Duplex).feed(x);
                const n = heads.count(x);
                if (n > 0) t.write(responses(n));
              },
              drain(t: Socket<any>) {
                if (h2) (t.data as H2Duplex).flush();
              },
              close(t: Socket<any>) {
                if (h2) (t.data as H2Duplex | null)?.rawEnded();
              },
              error() {},
            },
          });
        },
        error() {},
      },
    });
    break;
  }
  case "h2native":
    Bun.listen<H2Duplex>({
      hostname: "127.0.0.1",
      port,
      tls: { cert, key, ALPNProtocols: Buffer.from("\x02h2", "latin1") } as Bun.TLSOptions,
      socket: h2DuplexSocket((d) => {
        h2session(d);
      }),
    });
    break;
  case "serve":
  case "h2serve":
    Bun.serve({
      hostname: "127.0.0.1",
      port,
      development: false,
      tls: { cert, key },
      ...(mode === "h2serve" ? { http2: true } : {}),
      fetch: () => new Response(BODY, { headers: { "content-type": "text/plain" } }),
    } as Parameters<typeof Bun.serve>[0]);
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
console.log(`ceiling-tls ${mode} on 127.0.0.1:${port} for ${Number(secArg ?? 30)}s`);
setTimeout(() => process.exit(0), Number(secArg ?? 30) * 1000);

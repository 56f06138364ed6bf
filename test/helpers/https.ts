// A real TLS client for tests: node:https with an explicit SNI, CA and
// optional client certificate (what curl --resolve --cacert --cert does).
import { request } from "node:https";
import { connect, type PeerCertificate } from "node:tls";

export interface HttpsOptions {
  port: number;
  /** SNI and Host (unless `hostHeader` is given). */
  servername: string;
  path: string;
  ca?: string;
  cert?: string;
  key?: string;
  hostHeader?: string;
  method?: string;
  headers?: Record<string, string>;
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  peer: PeerCertificate;
}

export function httpsGet(o: HttpsOptions): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: o.port,
        path: o.path,
        method: o.method ?? "GET",
        servername: o.servername,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        rejectUnauthorized: o.ca !== undefined,
        headers: { host: o.hostHeader ?? o.servername, ...(o.headers ?? {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const peer = (res.socket as import("node:tls").TLSSocket).getPeerCertificate();
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), peer }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** Just the handshake: the server certificate, or the error that ended it. */
export function handshake(o: { port: number; servername?: string; ca?: string; cert?: string; key?: string; alpn?: string[] }): Promise<{ ok: true; peer: PeerCertificate; alpn: string | false } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const s = connect({
      host: "127.0.0.1",
      port: o.port,
      servername: o.servername,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      rejectUnauthorized: o.ca !== undefined,
      ALPNProtocols: o.alpn ?? ["h2", "http/1.1"],
    });
    const done = (r: Awaited<ReturnType<typeof handshake>>) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(10_000, () => done({ ok: false, error: "timeout" }));
    s.on("secureConnect", () => {
      // TLS 1.3: a server that rejects the client certificate says so after the client's Finished
      s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      s.once("data", () => done({ ok: true, peer: s.getPeerCertificate(), alpn: s.alpnProtocol ?? false }));
      s.once("end", () => done({ ok: false, error: "closed after handshake" }));
    });
    s.on("error", (e) => done({ ok: false, error: e.message }));
    s.on("close", () => done({ ok: false, error: "closed" }));
  });
}

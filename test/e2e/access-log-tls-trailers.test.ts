// Access-log operators that read the response and the TLS connection, through
// the real gateway process: a MUTUAL server (client certificates, the node:tls
// path) and a SIMPLE one (Bun's own TLS socket), an HTTP/1.1 backend answering
// with chunked trailers, an h2c gRPC backend whose status travels in trailers
// (and in the head, Trailers-Only). Expected values come from the certificates
// and from the client's own view of the connection. One worker, so a line
// written for a later request proves an earlier one was not.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import * as http2 from "node:http2";
import { request } from "node:https";
import { createServer, type AddressInfo, type Server } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { join } from "node:path";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { secretYaml } from "../../src/cli/certs.ts";
import { logLines } from "../helpers/access-log.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { call, grpcBackend, type GrpcBackend } from "../workers/grpc-backend.ts";

const HOST = "app.example.com";
let ca: Issued;
let client: Issued;
let server: Issued;
let h1: Server;
let grpc: GrpcBackend;
let gw: GatewayProcess;
let logFile: string;

/** An HTTP/1.1 backend: every request gets a chunked body ending with trailers. */
function trailerBackend(): Promise<Server> {
  const s = createServer((sock) => {
    let head = "";
    sock.on("data", (d) => {
      head += d.toString("latin1");
      while (head.includes("\r\n\r\n")) {
        head = head.slice(head.indexOf("\r\n\r\n") + 4);
        sock.write(
          "HTTP/1.1 200 OK\r\nContent-Type: text/x-demo\r\nX-Shard:  7 \r\nServer: backend\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n" +
            "5\r\nhello\r\n0\r\nX-Checksum: ab12\r\nX-Rows: 5\r\n\r\n",
        );
      }
    });
    sock.on("error", () => {});
  });
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r(s)));
}

const FORMAT = [
  "%REQ(:PATH)%",
  "%RESPONSE_CODE%",
  "%RESP(CONTENT-TYPE)%",
  "%RESP(X-SHARD)%",
  "%RESP(SERVER)%",
  "%RESP(X-ROUTE-ADDED)%",
  "%TRAILER(X-CHECKSUM)%",
  "%RESPONSE_TRAILER(X-TRAILER)%",
  "%GRPC_STATUS%",
  "%GRPC_STATUS_NUMBER%",
  "%DOWNSTREAM_TLS_VERSION%",
  "%DOWNSTREAM_TLS_CIPHER%",
  "%DOWNSTREAM_PEER_SUBJECT%",
  "%DOWNSTREAM_PEER_ISSUER%",
  "%DOWNSTREAM_PEER_URI_SAN%",
  "%DOWNSTREAM_PEER_SERIAL%",
  "%DOWNSTREAM_PEER_FINGERPRINT_256%",
  "%DOWNSTREAM_PEER_CERT_V_START%",
  "%DOWNSTREAM_PEER_CERT_V_END(%Y%m%d)%",
  "%DOWNSTREAM_LOCAL_URI_SAN%",
].join("|");

beforeAll(async () => {
  ca = await createCA({ cn: "Demo Root CA", org: "Demo, Inc." });
  server = await issue(ca, { cn: HOST, usage: "server", keyType: "ec", names: [HOST, "tcp.example.com"], uris: ["spiffe://cluster.local/ns/istio-system/sa/ingress"] });
  client = await issue(ca, { cn: "sleep", usage: "client", keyType: "ec", serial: "0a1b2c3d4e", uris: ["spiffe://cluster.local/ns/default/sa/sleep", "spiffe://cluster.local/ns/default/sa/backup"] });
  h1 = await trailerBackend();
  grpc = await grpcBackend();
  const logs = writeTree({});
  logFile = join(logs, "access.log");
  const mesh = writeTree({ "mesh.yaml": `accessLogFile: ${logFile}\naccessLogFormat: '${FORMAT}'\n` });
  const dir = writeTree({
    "secrets.yaml": secretYaml("mtls", "istio-system", "tls", server.cert, server.key, ca.cert) + "---\n" + secretYaml("simple", "istio-system", "tls", server.cert, server.key),
    "config.yaml": `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backends}
spec:
  hosts: [h1.internal]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${(h1.address() as AddressInfo).port}}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo}
spec:
  hosts: [echo.internal]
  ports: [{number: 50051, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${grpc.port}}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https-mtls, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: MUTUAL, credentialName: mtls}
  - port: {number: 8443, name: https, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: SIMPLE, credentialName: simple}
  - port: {number: 9443, name: tls, protocol: TLS}
    hosts: [tcp.example.com]
    tls: {mode: SIMPLE, credentialName: simple}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp}
spec:
  hosts: [tcp.example.com]
  gateways: [gw]
  tcp: [{match: [{port: 9443}], route: [{destination: {host: h1.internal, port: {number: 80}}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: [${HOST}]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /test.Echo/}}]
    route: [{destination: {host: echo.internal, port: {number: 50051}}}]
  - route: [{destination: {host: h1.internal, port: {number: 80}}}]
    headers: {response: {set: {x-route-added: "yes"}}}
`,
  });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [443, 8443, 9443], workers: 1, args: ["--mesh-config", join(mesh, "mesh.yaml")] });
});

afterAll(async () => {
  await gw?.stop();
  grpc?.close();
  h1?.close();
});

/** A request over a new TLS connection; the client's own view of the TLS it agreed. */
function get(port: number, path: string, o: { cert?: Issued; maxVersion?: "TLSv1.2" | "TLSv1.3" } = {}): Promise<{ status: number; body: string; trailers: Record<string, string>; version: string; cipher: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, servername: HOST, ca: ca.cert, cert: o.cert?.cert, key: o.cert?.key, maxVersion: o.maxVersion, headers: { host: HOST }, agent: false },
      (res) => {
        const sock = res.socket as TLSSocket;
        const version = sock.getProtocol() ?? "";
        const cipher = sock.getCipher().name;
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, trailers: res.trailers as Record<string, string>, version, cipher }));
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

const fields = (l: string) => l.split("|");

describe("response headers and trailers, downstream TLS, in the access log", () => {
  test("HTTP/1.1 over mutual TLS to an HTTP/1.1 backend with chunked trailers", async () => {
    const r = await get(gw.ports.get(443)!, "/h1-mtls", { cert: client, maxVersion: "TLSv1.2" });
    expect([r.status, r.body, r.trailers["x-checksum"]]).toEqual([200, "hello", "ab12"]);
    const [l] = await logLines(logFile, (x) => x.startsWith("/h1-mtls|"));
    const x = new X509Certificate(client.cert);
    const local = new X509Certificate(server.cert);
    expect(fields(l!)).toEqual([
      "/h1-mtls",
      "200",
      "text/x-demo",
      "7",
      "istio-envoy", // the gateway's server header, as sent
      "yes", // the route's response header operation, as sent
      "ab12",
      "-",
      "-", // not a gRPC request
      "-",
      r.version,
      r.cipher,
      "CN=sleep",
      "CN=Demo Root CA,O=Demo\\, Inc.",
      "spiffe://cluster.local/ns/default/sa/sleep,spiffe://cluster.local/ns/default/sa/backup",
      "0a1b2c3d4e",
      x.fingerprint256.replace(/:/g, "").toLowerCase(),
      new Date(x.validFrom).toISOString(),
      new Date(x.validTo).toISOString().slice(0, 10).replace(/-/g, ""),
      local.subjectAltName!.split(", ").find((s) => s.startsWith("URI:"))!.slice(4),
    ]);
    expect(r.version).toBe("TLSv1.2");
  });

  test("gRPC over h2 with a client certificate: trailers, a Trailers-Only status, and TLS 1.3", async () => {
    const c = http2.connect(`https://127.0.0.1:${gw.ports.get(443)!}`, { servername: HOST, ca: ca.cert, cert: client.cert, key: client.key });
    c.on("error", () => {});
    try {
      const ok = await call(c, "/test.Echo/Unary", ["hi"]);
      expect([ok.trailers["grpc-status"], ok.trailers["x-trailer"]]).toEqual(["0", "t1"]);
      const fail = await call(c, "/test.Echo/Fail", []);
      expect(fail.headers["grpc-status"]).toBe("5");
      const version = (c.socket as TLSSocket).getProtocol();
      const cipher = (c.socket as TLSSocket).getCipher().name;
      const unary = fields((await logLines(logFile, (x) => x.startsWith("/test.Echo/Unary|")))[0]!);
      const failed = fields((await logLines(logFile, (x) => x.startsWith("/test.Echo/Fail|")))[0]!);
      expect(unary.slice(0, 12)).toEqual(["/test.Echo/Unary", "200", "application/grpc", "-", "istio-envoy", "-", "-", "t1", "OK", "0", version!, cipher]);
      expect(failed.slice(0, 10)).toEqual(["/test.Echo/Fail", "200", "application/grpc", "-", "istio-envoy", "-", "-", "-", "NotFound", "5"]);
      expect(unary[12]).toBe("CN=sleep");
      expect(version).toBe("TLSv1.3");
    } finally {
      c.close();
    }
  });

  test("HTTP/2 client, HTTP/1.1 backend: the chunked trailers travel as HTTP/2 trailers and are logged", async () => {
    const c = http2.connect(`https://127.0.0.1:${gw.ports.get(443)!}`, { servername: HOST, ca: ca.cert, cert: client.cert, key: client.key });
    c.on("error", () => {});
    try {
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const st = c.request({ ":path": "/h1-over-h2" });
        let t: Record<string, unknown> = {};
        st.on("trailers", (x) => (t = { ...x }));
        st.on("data", () => {});
        st.on("end", () => resolve(t));
        st.on("error", reject);
        st.end();
      });
      expect(trailers["x-checksum"]).toBe("ab12");
      const f = fields((await logLines(logFile, (x) => x.startsWith("/h1-over-h2|")))[0]!);
      expect(f.slice(0, 8)).toEqual(["/h1-over-h2", "200", "text/x-demo", "7", "istio-envoy", "yes", "ab12", "-"]);
    } finally {
      c.close();
    }
  });

  test("SIMPLE TLS on Bun's own socket: version and cipher; no client certificate is `-`", async () => {
    const r = await get(gw.ports.get(8443)!, "/simple");
    expect(r.status).toBe(200);
    const f = fields((await logLines(logFile, (x) => x.startsWith("/simple|")))[0]!);
    expect(f.slice(10, 17)).toEqual([r.version, r.cipher, "-", "-", "-", "-", "-"]);
    expect(f[19]).toBe("spiffe://cluster.local/ns/istio-system/sa/ingress");
  });

  test("a TCP route over TLS terminated here: the connection's line has its TLS version and cipher", async () => {
    const seen = await new Promise<{ version: string; cipher: string; reply: string }>((resolve, reject) => {
      const c = tlsConnect({ port: gw.ports.get(9443)!, host: "127.0.0.1", servername: "tcp.example.com", ca: ca.cert }, () => {
        c.write("GET /over-tcp HTTP/1.1\r\nHost: tcp.example.com\r\nConnection: close\r\n\r\n");
      });
      let reply = "";
      c.on("data", (d: Buffer) => {
        reply += d.toString();
        if (reply.includes("X-Rows: 5\r\n\r\n")) {
          const r = { version: c.getProtocol() ?? "", cipher: c.getCipher().name, reply };
          c.end();
          resolve(r);
        }
      });
      c.on("error", reject);
    });
    expect(seen.reply).toStartWith("HTTP/1.1 200 OK");
    const f = fields((await logLines(logFile, (x) => x.startsWith("-|0|")))[0]!);
    expect([f[2], f[6], f[10], f[11], f[12], f[19]]).toEqual(["-", "-", seen.version, seen.cipher, "-", "spiffe://cluster.local/ns/istio-system/sa/ingress"]);
  });
});

// What the access-log operators that read the response and the TLS connection
// cost, in-process: ns per line for formats that name them (the record's kept
// headers and trailers, a connection's cached TLS facts), against Istio's text
// format; and the one-time reads of a real TLS connection (node:tls, a client
// certificate) the first line of a connection pays.
//   bun bench/access-log-operators.ts [lines=200000] [rounds=7]
import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import { createCA, issue } from "../src/certs/generate.ts";
import { compileTextFormat } from "../src/compile/access-log-format.ts";
import type { AccessRecord } from "../workers/access-log.ts";
import { formatterOf } from "../workers/access-log-format.ts";
import { certFacts, peerCert, tlsCipher, tlsSessionId, tlsVersion, type TlsFactsSource } from "../workers/tls/log-facts.ts";

const lines = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 7);

const ca = await createCA({ cn: "Bench CA" });
const server = await issue(ca, { cn: "app.example.com", usage: "server", keyType: "ec" });
const client = await issue(ca, { cn: "sleep", usage: "client", keyType: "ec", uris: ["spiffe://cluster.local/ns/default/sa/sleep"] });
const kept = ["application/json", "7"];
const tlsSource: TlsFactsSource = {
  socket: {
    getProtocol: () => "TLSv1.3",
    getCipher: () => ({ name: "TLS_AES_128_GCM_SHA256" }),
    getSession: () => Buffer.from("3017020101020203040402130104080102030405060708" + "0400", "hex"),
    getPeerX509Certificate: () => new X509Certificate(client.cert),
  },
  facts: null,
};
const rec: AccessRecord = {
  startMs: Date.now(), method: "GET", logPath: "/status/200", protocol: "HTTP/1.1", status: 200, flags: "-", details: "via_upstream",
  termination: "", transportFailure: "", bytesReceived: 0, bytesSent: 123, durationMs: 1, upstreamServiceTime: 1, xff: "127.0.0.1",
  userAgent: "wrk", requestId: "b46115f2-38b4-48bd-bf34-000000000003", authority: "app.example.com", upstreamHost: "127.0.0.1:8000",
  upstreamCluster: "outbound|80||app.local", upstreamLocal: "127.0.0.1:40000", downstreamLocal: "127.0.0.1:8080", downstreamRemote: "127.0.0.1:50000",
  sni: "", routeName: "app.0",
  respHeader: (n) => (n === "content-type" ? kept[0]! : n === "x-shard" ? kept[1]! : null),
  respTrailer: (n) => (n === "grpc-status" ? "0" : null),
  reqHeader: () => undefined,
  downstreamTls: tlsSource,
};

const FORMATS: [string, string][] = [
  ["Istio text (hand-written)", ""],
  ["Istio text, interpreted", "%START_TIME% %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% %UPSTREAM_TRANSPORT_FAILURE_REASON% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %REQ(X-FORWARDED-FOR)% %REQ(USER-AGENT)% %REQ(X-REQUEST-ID)% %REQ(:AUTHORITY)% %UPSTREAM_HOST% %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME% ."],
  ["%RESPONSE_CODE% %RESP(CONTENT-TYPE)% %RESP(X-SHARD)% %TRAILER(GRPC-STATUS)%", "%RESPONSE_CODE% %RESP(CONTENT-TYPE)% %RESP(X-SHARD)% %TRAILER(GRPC-STATUS)%"],
  ["%RESPONSE_CODE% + 6 TLS operators (cached)", "%RESPONSE_CODE% %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER% %DOWNSTREAM_PEER_SUBJECT% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_PEER_SERIAL% %DOWNSTREAM_PEER_FINGERPRINT_256%"],
];

const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1]!;
let chars = 0;
for (const [name, text] of FORMATS) {
  const f = formatterOf(compileTextFormat(text).format);
  f(rec);
  const ns: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < lines; i++) {
      rec.startMs++;
      chars += f(rec).length;
    }
    ns.push(((performance.now() - t) * 1e6) / lines);
  }
  console.log(`${median(ns).toFixed(0).padStart(6)} ns/line  ${name}  (rounds ${ns.map((x) => x.toFixed(0)).join(" ")})`);
}

// the first line of a connection: reads of a real node:tls server socket with a client certificate
const srv = tls.createServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true });
const sock = await new Promise<tls.TLSSocket>((resolve) => {
  srv.on("secureConnection", resolve);
  srv.listen(0, "127.0.0.1", () => {
    const c = tls.connect({ port: (srv.address() as { port: number }).port, host: "127.0.0.1", servername: "app.example.com", ca: ca.cert, cert: client.cert, key: client.key });
    c.on("error", () => {});
  });
});
const N = 2000;
const us = (f: () => void) => {
  f();
  const t = performance.now();
  for (let i = 0; i < N; i++) f();
  return (((performance.now() - t) * 1000) / N).toFixed(2);
};
const fresh = (): TlsFactsSource => ({ socket: sock, facts: null });
const x = sock.getPeerX509Certificate()!;
console.log(
  `first read per connection (real node:tls socket), µs: version ${us(() => tlsVersion(fresh()))}, cipher ${us(() => tlsCipher(fresh()))}, ` +
    `session ID ${us(() => tlsSessionId(fresh()))}, peer certificate ${us(() => peerCert(fresh()))} ` +
    `(getPeerX509Certificate ${us(() => sock.getPeerX509Certificate())}, its fields ${us(() => certFacts(x))}); ${chars > 0 ? "" : "-"}`,
);
sock.destroy();
srv.close();
process.exit(0);

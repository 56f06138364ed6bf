// The operators that read the response (%RESP(X)%, %TRAILER(X)%, gRPC status,
// long flags) and the downstream TLS connection, written as Envoy writes them;
// what a configuration makes an exchange keep (logNeeds); and the response
// header values kept (response-log.ts). TLS facts are read once per connection.
import { beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { compileCel } from "../../src/compile/access-log-cel.ts";
import { compileJsonFormat, compileTextFormat } from "../../src/compile/access-log-format.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import type { CelNode } from "../../src/snapshot/access-log.ts";
import type { AccessRecord } from "../../workers/access-log.ts";
import { filterOf } from "../../workers/access-log-filter.ts";
import { formatterOf } from "../../workers/access-log-format.ts";
import { flagBits, longFlags } from "../../workers/access-log-response.ts";
import { logNeeds } from "../../workers/access-log-needs.ts";
import { keptFromFields, keptFromHead, keptFromLocalHead } from "../../workers/http/response-log.ts";
import { parseResponseHead, ResponseHead } from "../../workers/http/parse-response.ts";
import { rfc2253, sessionIdOf, type TlsFactsSource, type TlsSocketFacts } from "../../workers/tls/log-facts.ts";

const BASE: AccessRecord = {
  startMs: Date.UTC(2026, 11, 7, 15, 4, 5, 67),
  method: "POST",
  logPath: "/shop.Cart/Add",
  protocol: "HTTP/2",
  status: 200,
  flags: "-",
  details: "via_upstream",
  termination: "",
  transportFailure: "",
  bytesReceived: 12,
  bytesSent: 34,
  durationMs: 6,
  upstreamServiceTime: 5,
  xff: "",
  userAgent: "grpc-go/1.60",
  requestId: "id-1",
  authority: "shop.example.com",
  upstreamHost: "127.0.0.1:9000",
  upstreamCluster: "outbound|9000||cart.default.svc.cluster.local",
  upstreamLocal: "127.0.0.1:40000",
  downstreamLocal: "127.0.0.1:443",
  downstreamRemote: "127.0.0.1:50000",
  sni: "shop.example.com",
  routeName: "cart",
  reqHeader: (n) => ({ "content-type": "application/grpc+proto" })[n],
  respHeader: (n) => ({ "content-type": "application/grpc", "x-shard": "7", server: "istio-envoy" })[n] ?? null,
  respTrailer: (n) => ({ "grpc-status": "5", "grpc-message": "no such cart" })[n] ?? null,
};
const PLAIN: AccessRecord = { ...BASE, reqHeader: (n) => ({ "content-type": "text/plain" })[n], respTrailer: () => null };
const GRPC_LOCAL: AccessRecord = { ...BASE, status: 503, flags: "UF,URX", respHeader: () => null, respTrailer: () => null, upstreamServiceTime: -1 };
const TRAILERS_ONLY: AccessRecord = { ...BASE, respHeader: (n) => (n === "grpc-status" ? "16" : null), respTrailer: () => null };
const TCP: AccessRecord = { ...BASE, method: "", logPath: "", protocol: "-", status: 0, reqHeader: undefined, respHeader: undefined, respTrailer: undefined };

const line = (format: string, r: AccessRecord) => formatterOf(compileTextFormat(format).format)(r);

describe("response operators", () => {
  test.each([
    ["%RESP(CONTENT-TYPE)%", BASE, "application/grpc"],
    ["%RESP(X-MISSING?X-SHARD)% %RESP(X-SHARD?CONTENT-TYPE)%", BASE, "7 7"],
    ["%RESP(CONTENT-TYPE):6%", BASE, "applic"],
    ["%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %RESP(SERVER)%", BASE, "5 istio-envoy"],
    ["%RESP(X-MISSING)%", BASE, "-"],
    ["%TRAILER(GRPC-STATUS)% %TRAILER(GRPC-MESSAGE):5%", BASE, "5 no su"],
    ["%RESPONSE_TRAILER(GRPC-STATUS)% %RESPONSE_HEADER(X-SHARD)% %REQUEST_HEADER(CONTENT-TYPE)%", BASE, "5 7 application/grpc+proto"], // Envoy 1.37's full names
    ["%RESPONSE_TRAILERS(GRPC-STATUS)%", BASE, null], // not an Envoy operator: refused
    ["%GRPC_STATUS% %GRPC_STATUS_NUMBER%", BASE, "NotFound 5"],
    ["%GRPC_STATUS% %GRPC_STATUS_NUMBER%", TRAILERS_ONLY, "Unauthenticated 16"], // a trailers-only response: the headers' status
    ["%GRPC_STATUS% %GRPC_STATUS_NUMBER%", GRPC_LOCAL, "Unavailable 14"], // none sent: the HTTP status mapped, as Envoy's httpToGrpcStatus
    ["%GRPC_STATUS% %GRPC_STATUS_NUMBER%", PLAIN, "- -"], // not a gRPC request
    ["%GRPC_STATUS_NUMBER%", { ...BASE, reqHeader: (n: string) => ({ "content-type": "application/grpcx" })[n] }, "-"],
    ["%GRPC_STATUS_NUMBER%", { ...BASE, reqHeader: (n: string) => ({ "content-type": "application/grpc-web-text" })[n] }, "5"],
    ["%GRPC_STATUS% %RESP(CONTENT-TYPE)% %TRAILER(X)%", TCP, "- - -"],
    ["%RESPONSE_FLAGS% %RESPONSE_FLAGS_LONG%", GRPC_LOCAL, "UF,URX UpstreamConnectionFailure,UpstreamRetryLimitExceeded"],
    ["%RESPONSE_FLAGS_LONG%", BASE, "-"],
  ])("%s", (format, r, want) => {
    if (want === null) {
      expect(compileTextFormat(format).problems.map((p) => p.level)).toEqual(["Error"]);
      return;
    }
    expect(compileTextFormat(format).problems).toEqual([]);
    expect(line(format, r)).toBe(want + "\n");
  });

  test("JSON: a number stays a number, empty is null", () => {
    const f = compileJsonFormat({ grpc: "%GRPC_STATUS_NUMBER%", ct: "%RESP(CONTENT-TYPE)%", t: "%TRAILER(X-NONE)%" }).format;
    expect(JSON.parse(formatterOf(f)(BASE))).toEqual({ grpc: 5, ct: "application/grpc", t: null });
  });

  test("long flags follow Envoy's order; CEL response.flags is its bitmask", () => {
    expect(longFlags("URX,UF")).toBe("UpstreamConnectionFailure,UpstreamRetryLimitExceeded");
    expect(longFlags("DC")).toBe("DownstreamConnectionTermination");
    expect(longFlags("-")).toBeNull();
    expect([flagBits("UH"), flagBits("UF"), flagBits("URX"), flagBits("DPE"), flagBits("UF,URX"), flagBits("-")]).toEqual([2, 32, 0x8000, 0x40000, 0x8020, 0]);
  });
});

describe("downstream TLS operators", () => {
  let ca: Issued;
  let client: Issued;
  let server: Issued;
  let calls: Record<string, number>;
  const DER_SESSION = Buffer.from("3017" + "020101" + "02020304" + "04021301" + "0408a1b2c3d4e5f60718" + "0400", "hex");
  const source = (peer: Issued | null): TlsFactsSource => {
    const socket: TlsSocketFacts = {
      getProtocol: () => (calls.protocol++, "TLSv1.3"),
      getCipher: () => (calls.cipher++, { name: "TLS_AES_128_GCM_SHA256" }),
      getSession: () => (calls.session++, DER_SESSION),
      getPeerX509Certificate: () => (calls.peer++, peer === null ? undefined : new X509Certificate(peer.cert)),
      getX509Certificate: () => (calls.local++, new X509Certificate(server.cert)),
    };
    return { socket, facts: null };
  };

  beforeAll(async () => {
    ca = await createCA({ cn: "Shop Root CA", org: "Shop, Inc." });
    client = await issue(ca, { cn: "sleep", org: "Shop, Inc.", usage: "client", keyType: "ec", serial: "00c0ffee01", uris: ["spiffe://cluster.local/ns/default/sa/sleep", "spiffe://cluster.local/ns/default/sa/other"], names: ["sleep.default.svc"] });
    server = await issue(ca, { cn: "shop.example.com", usage: "server", keyType: "ec", uris: ["spiffe://cluster.local/ns/istio-system/sa/gateway"] });
  });

  test("peer and local certificate, version, cipher, session: Envoy's forms, each read once per connection", () => {
    calls = { protocol: 0, cipher: 0, session: 0, peer: 0, local: 0 };
    const tls = source(client);
    const r: AccessRecord = { ...BASE, downstreamTls: tls };
    const x = new X509Certificate(client.cert);
    const format =
      "%DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER% %DOWNSTREAM_TLS_SESSION_ID%|%DOWNSTREAM_PEER_SUBJECT%|%DOWNSTREAM_PEER_ISSUER%|" +
      "%DOWNSTREAM_PEER_URI_SAN%|%DOWNSTREAM_PEER_DNS_SAN%|%DOWNSTREAM_PEER_SERIAL%|%DOWNSTREAM_PEER_FINGERPRINT_256%|%DOWNSTREAM_PEER_FINGERPRINT_1%|" +
      "%DOWNSTREAM_PEER_CERT_V_START%|%DOWNSTREAM_PEER_CERT_V_END(%Y-%m-%d)%|%DOWNSTREAM_LOCAL_URI_SAN%|%DOWNSTREAM_LOCAL_SUBJECT%|%DOWNSTREAM_PEER_IP_SAN%";
    expect(compileTextFormat(format).problems).toEqual([]);
    const want = [
      "TLSv1.3 TLS_AES_128_GCM_SHA256 a1b2c3d4e5f60718",
      "CN=sleep,O=Shop\\, Inc.",
      "CN=Shop Root CA,O=Shop\\, Inc.",
      "spiffe://cluster.local/ns/default/sa/sleep,spiffe://cluster.local/ns/default/sa/other",
      "sleep.default.svc",
      "c0ffee01",
      x.fingerprint256.replace(/:/g, "").toLowerCase(),
      x.fingerprint.replace(/:/g, "").toLowerCase(),
      new Date(x.validFrom).toISOString(),
      new Date(x.validTo).toISOString().slice(0, 10),
      "spiffe://cluster.local/ns/istio-system/sa/gateway",
      "CN=shop.example.com",
      "-",
    ].join("|");
    expect(line(format, r)).toBe(want + "\n");
    // RFC 2253: most specific first, a comma in a value escaped
    expect(rfc2253(x.subject)).toBe("CN=sleep,O=Shop\\, Inc.");
    expect(rfc2253(x.issuer)).toBe("CN=Shop Root CA,O=Shop\\, Inc.");
    expect(line(format, r)).toBe(want + "\n"); // a second line of the connection: from the cache
    expect(calls).toEqual({ protocol: 1, cipher: 1, session: 1, peer: 1, local: 1 });
  });

  test("no client certificate, or no TLS: `-`; nothing read unless a line names a TLS field", () => {
    calls = { protocol: 0, cipher: 0, session: 0, peer: 0, local: 0 };
    const tls = source(null);
    expect(line("%DOWNSTREAM_PEER_SUBJECT% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_PEER_CERT_V_START% %DOWNSTREAM_TLS_VERSION%", { ...BASE, downstreamTls: tls })).toBe("- - - TLSv1.3\n");
    expect(line("%DOWNSTREAM_PEER_SUBJECT% %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER%", { ...BASE, downstreamTls: null })).toBe("- - -\n");
    calls = { protocol: 0, cipher: 0, session: 0, peer: 0, local: 0 };
    line("%RESPONSE_CODE% %REQ(:AUTHORITY)%", { ...BASE, downstreamTls: source(client) });
    expect(calls).toEqual({ protocol: 0, cipher: 0, session: 0, peer: 0, local: 0 });
  });

  test("CEL connection attributes", () => {
    calls = { protocol: 0, cipher: 0, session: 0, peer: 0, local: 0 };
    const r: AccessRecord = { ...BASE, downstreamTls: source(client), mtls: true };
    const run = (e: string) => filterOf((compileCel(e) as { node: CelNode }).node)(r);
    expect(run("connection.tls_version == 'TLSv1.3'")).toBe(true);
    expect(run("connection.uri_san_peer_certificate == 'spiffe://cluster.local/ns/default/sa/sleep'")).toBe(true); // the first
    expect(run("connection.subject_peer_certificate.startsWith('CN=sleep,')")).toBe(true);
    expect(run("connection.dns_san_peer_certificate == 'sleep.default.svc'")).toBe(true);
    expect(run("connection.uri_san_local_certificate.endsWith('/sa/gateway')")).toBe(true);
    expect(run(`connection.sha256_peer_certificate_digest == '${new X509Certificate(client.cert).fingerprint256.replace(/:/g, "").toLowerCase()}'`)).toBe(true);
    expect(filterOf((compileCel("connection.subject_peer_certificate != ''") as { node: CelNode }).node)({ ...BASE, downstreamTls: source(null) })).toBe(false); // none: an error
  });

  test("the session ID of a DER session (empty when the session has none)", () => {
    expect(sessionIdOf(DER_SESSION)).toBe("a1b2c3d4e5f60718");
    expect(sessionIdOf(Buffer.from("300f020101020203040402130104000400", "hex"))).toBe("");
    expect(sessionIdOf(Buffer.from("3003020101", "hex"))).toBe("");
    expect(sessionIdOf(Buffer.alloc(0))).toBe("");
  });
});

describe("what an exchange keeps", () => {
  const needs = (format: string, filter: string | null = null) =>
    logNeeds([{ format: compileTextFormat(format).format, filter: filter === null ? null : (compileCel(filter) as { node: CelNode }).node }]);

  test.each([
    ["%RESPONSE_CODE% %REQ(X-A)%", null, { respNames: [], trailers: false, tls: false }],
    ["", null, { respNames: [], trailers: false, tls: false }], // Istio's default format: nothing
    ["%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", null, { respNames: [], trailers: false, tls: false }], // a field of the record
    ["%RESP(Content-Type?X-B)% %RESP(content-type)%", null, { respNames: ["content-type", "x-b"], trailers: false, tls: false }],
    ["%TRAILER(X-T)%", null, { respNames: [], trailers: true, tls: false }],
    ["%GRPC_STATUS%", null, { respNames: ["grpc-status"], trailers: true, tls: false }],
    ["%RESPONSE_CODE%", "response.headers['x-c'] == 'a' || response.trailers['y'] == 'b'", { respNames: ["x-c"], trailers: true, tls: false }],
    ["%RESPONSE_CODE%", "response.grpc_status != 0", { respNames: ["grpc-status"], trailers: true, tls: false }],
    ["%DOWNSTREAM_TLS_CIPHER%", null, { respNames: [], trailers: false, tls: true }],
    ["%DOWNSTREAM_LOCAL_URI_SAN% %DOWNSTREAM_LOCAL_ADDRESS%", null, { respNames: [], trailers: false, tls: true }],
    ["%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_PORT%", "connection.mtls && connection.requested_server_name == 'a'", { respNames: [], trailers: false, tls: false }],
    ["%RESPONSE_CODE%", "connection.uri_san_peer_certificate == 'a'", { respNames: [], trailers: false, tls: true }],
  ])("%s %s", (format, filter, want) => {
    expect(needs(format, filter)).toEqual(want);
  });

  test("header values as sent: route operations applied, server the gateway's, first of repeated ones", () => {
    const head = Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-A:  one \r\nx-a: two\r\nServer: nginx\r\nX-Gone: 1\r\nX-Set: up\r\n\r\n", "latin1");
    expect(parseResponseHead(head, 0, head.length, new ResponseHead())).toBe(true);
    const ops = { set: [["X-Set", "route"]] as [string, string][], add: [["x-added", "v"], ["x-a", "three"]] as [string, string][], remove: ["x-gone"] };
    const names = ["content-type", "x-a", "server", "x-gone", "x-set", "x-added", "x-none"];
    expect(keptFromHead(head, names, ops, "istio-envoy")).toEqual(["text/html", "one", "istio-envoy", null, "route", "v", null]);
    expect(keptFromFields({ ":status": "200", "content-type": "text/html", "x-a": "one", "set-cookie": ["a=1", "b=2"], server: "nginx", "x-gone": "1" }, [...names, "set-cookie"], ops, "istio-envoy")).toEqual([
      "text/html", "one", "istio-envoy", null, "route", "v", null, "a=1",
    ]);
    expect(keptFromLocalHead("HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 19\r\nserver: istio-envoy\r\n\r\n", ["content-type", "server", "x-a"])).toEqual([
      "text/plain", "istio-envoy", null,
    ]);
  });
});

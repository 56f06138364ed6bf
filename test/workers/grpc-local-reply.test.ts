// Local replies to gRPC requests are gRPC-shaped, as Envoy's: HTTP 200,
// content-type application/grpc, grpc-status mapped from the HTTP status
// (404 → 12 UNIMPLEMENTED, 503 → 14 UNAVAILABLE), grpc-message; to gRPC-Web
// requests as Envoy's grpc_web filter reshapes a plain reply (the status kept). Over h2c to a
// real worker with a node:http2 client, and the mapping table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import { grpcMessageEncode, grpcReplyHeaders, httpToGrpcStatus, isGrpcContentType } from "../../src/upstream/grpc-reply.ts";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { applyYamlOnFreePort } from "./apply-config.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

describe("mapping (Envoy's Grpc::Utility::httpToGrpcStatus)", () => {
  test.each([
    [400, 13],
    [401, 16],
    [403, 7],
    [404, 12],
    [429, 14],
    [502, 14],
    [503, 14],
    [504, 14],
    [500, 2],
    [431, 2],
  ])("HTTP %i → grpc-status %i", (http, grpc) => {
    expect(httpToGrpcStatus(http)).toBe(grpc);
  });
  test.each([
    ["application/grpc", true],
    ["application/grpc+proto", true],
    ["application/grpc; charset=utf-8", true],
    ["Application/GRPC", true],
    ["application/grpc-web", false],
    ["application/grpc-web+proto", false],
    ["application/json", false],
    [undefined, false],
  ])("content-type %p is gRPC: %p", (ct, want) => {
    expect(isGrpcContentType(ct)).toBe(want);
  });
  test("grpc-message is percent-encoded (%, non-ASCII)", () => {
    expect(grpcMessageEncode("100% sûr")).toBe("100%25 s%C3%BBr");
    expect(grpcReplyHeaders(404, "")).toBe("content-type: application/grpc\r\ngrpc-status: 12\r\n");
  });
});

describe("through a worker", () => {
  let w: WorkerHarness;
  let port = 0;
  beforeAll(async () => {
    const dead = freePort();
    w = new WorkerHarness();
    port = await applyYamlOnFreePort(
      w,
      gatewayWithRoutes("[{match: [{uri: {prefix: /dead.Svc/}}], route: [{destination: {host: dead.internal, port: {number: 80}}}]}]") +
        loopbackServiceEntry({ name: "dead", host: "dead.internal", port: 80, targetPort: dead, portName: "grpc" }),
    );
  });
  afterAll(() => w.stop());

  function call(path: string, contentType = "application/grpc", accept = ""): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const c = http2.connect(`http://127.0.0.1:${port}`);
      c.on("error", reject);
      const s = c.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers", ...(accept === "" ? {} : { accept }) });
      let headers: Record<string, unknown> = {};
      s.on("response", (h) => (headers = { ...h }));
      s.on("trailers", (t) => (headers = { ...headers, ...t }));
      s.on("data", () => {});
      s.on("end", () => {
        c.close();
        resolve(headers);
      });
      s.on("error", reject);
      s.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  }

  test("no route: 200, grpc-status 12 (UNIMPLEMENTED), as INTERFACE.md says", async () => {
    const h = await call("/nope.Svc/Method");
    expect([h[":status"], h["content-type"], h["grpc-status"]]).toEqual([200, "application/grpc", "12"]);
  });

  test("upstream refuses: grpc-status 14 (UNAVAILABLE) with Envoy's message", async () => {
    const h = await call("/dead.Svc/Method");
    expect([h[":status"], h["grpc-status"], h["grpc-message"]]).toEqual([200, "14", "upstream connect error or disconnect/reset before headers. reset reason: connection failure"]);
  });

  // Envoy's connection manager takes a gRPC-Web request for no gRPC (is_grpc_request_ is read before any
  // filter), so its local reply is a plain one, which the grpc_web filter then reshapes: the HTTP status
  // stays, the content-type is gRPC-Web's (text when the accept asks for it), a body becomes
  // grpc-status + grpc-message with content-length 0; an empty body (404 NR) leaves grpc-status out (a
  // gRPC-Web client reads 404 as UNIMPLEMENTED itself)
  test("gRPC-Web: the HTTP status kept, grpc-status and grpc-message from the reply's text (Envoy's grpc_web filter)", async () => {
    const text = await call("/dead.Svc/Method", "application/grpc-web-text", "application/grpc-web-text");
    expect([text[":status"], text["content-type"], text["grpc-status"], text["content-length"]]).toEqual([503, "application/grpc-web-text+proto", "14", "0"]);
    expect(text["grpc-message"]).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure");
    const bin = await call("/dead.Svc/Method", "application/grpc-web-text");
    expect([bin[":status"], bin["content-type"], bin["grpc-status"]]).toEqual([503, "application/grpc-web+proto", "14"]);
  });

  test("gRPC-Web, no route: 404 with the gRPC-Web content-type and no grpc-status (Envoy's reply has no text)", async () => {
    const h = await call("/nope.Svc/Method", "application/grpc-web+proto");
    expect([h[":status"], h["content-type"], h["grpc-status"]]).toEqual([404, "application/grpc-web+proto", undefined]);
  });

  test("gRPC-Web over HTTP/1.1 (a browser's fetch): the status and grpc-status in the response head", async () => {
    const r = await raw(port, "POST /dead.Svc/M HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: 5\r\nconnection: close\r\n\r\n\0\0\0\0\0");
    expect(r.text.startsWith("HTTP/1.1 503")).toBe(true);
    expect(r.text).toContain("content-type: application/grpc-web+proto\r\n");
    expect(r.text).toContain("grpc-status: 14\r\n");
    expect(r.text).toContain("content-length: 0\r\n");
  });

  test("a request that is not gRPC keeps the HTTP status", async () => {
    const r = await raw(port, "GET /nope HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n");
    expect(r.text.startsWith("HTTP/1.1 404")).toBe(true);
  });
});

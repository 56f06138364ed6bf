// Local replies to gRPC requests are gRPC-shaped, as Envoy's: HTTP 200,
// content-type application/grpc, grpc-status mapped from the HTTP status
// (404 → 12 UNIMPLEMENTED, 503 → 14 UNAVAILABLE), grpc-message. Over h2c to a
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

  function call(path: string, contentType = "application/grpc"): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const c = http2.connect(`http://127.0.0.1:${port}`);
      c.on("error", reject);
      const s = c.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers" });
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

  test("gRPC-Web: the same Trailers-Only reply with the gRPC-Web content-type (Envoy's grpc_web filter)", async () => {
    const bin = await call("/nope.Svc/Method", "application/grpc-web+proto");
    expect([bin[":status"], bin["content-type"], bin["grpc-status"]]).toEqual([200, "application/grpc-web+proto", "12"]);
    const text = await call("/dead.Svc/Method", "application/grpc-web-text");
    expect([text[":status"], text["content-type"], text["grpc-status"]]).toEqual([200, "application/grpc-web-text+proto", "14"]);
  });

  test("gRPC-Web over HTTP/1.1 (a browser's fetch): grpc-status in the response head", async () => {
    const r = await raw(port, "POST /nope.Svc/M HTTP/1.1\r\nhost: a\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: 5\r\nconnection: close\r\n\r\n\0\0\0\0\0");
    expect(r.text.startsWith("HTTP/1.1 200")).toBe(true);
    expect(r.text).toContain("content-type: application/grpc-web+proto\r\n");
    expect(r.text).toContain("grpc-status: 12\r\n");
  });

  test("a request that is not gRPC keeps the HTTP status", async () => {
    const r = await raw(port, "GET /nope HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n");
    expect(r.text.startsWith("HTTP/1.1 404")).toBe(true);
  });
});

// The Gateway API conformance cases httproute-backend-protocol-h2c and
// httproute-backend-protocol-websocket end to end: infra-backend-v1's Service
// port 8081 has appProtocol kubernetes.io/h2c (an HTTP/2 prior-knowledge
// backend), port 8082 kubernetes.io/ws (a WebSocket echo); the client speaks
// h2c prior knowledge, then WebSocket, to the gateway's HTTP listener.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { Server } from "bun";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { configFiles, INFRA, type Backend } from "./gatewayapi-helpers.ts";

let h2c: http2.Http2Server;
let ws: Server<undefined>;
let gwH2c: GatewayProcess;
let gwWs: GatewayProcess;

/** The conformance base with infra-backend-v1's ports on the two servers, plus one case. */
function config(c: string): Record<string, string> {
  const h2cPort = (h2c.address() as AddressInfo).port;
  const files = configFiles([], [c]);
  files["slice.yaml"] = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: infra-backend-v1-e2e, namespace: ${INFRA}, labels: {kubernetes.io/service-name: infra-backend-v1}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: second-port, port: ${h2cPort}}, {name: third-port, port: ${ws.port}}]
`;
  return files;
}

beforeAll(async () => {
  // answers HTTP/2 only (as the echo server's h2c port): the protocol it saw is in the body
  h2c = http2.createServer((req, res) => {
    res.setHeader("x-pod", "infra-backend-v1-0");
    res.end(JSON.stringify({ protocol: req.httpVersion, path: req.url }));
  });
  await new Promise<void>((resolve) => h2c.listen(0, "127.0.0.1", resolve));
  ws = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, server) {
      if (server.upgrade(req)) return undefined;
      return new Response("websocket only", { status: 400 });
    },
    websocket: {
      message(s, m) {
        s.send(m);
      },
    },
  });
  const args = ["--gateway", `${INFRA}/same-namespace`, "--access-log", "off"];
  gwH2c = await startGateway({ configDirs: [writeTree(config("httproute-backend-protocol-h2c"))], args, workers: 1 });
  gwWs = await startGateway({ configDirs: [writeTree(config("httproute-backend-protocol-websocket"))], args, workers: 1 });
});

afterAll(async () => {
  await gwH2c?.stop();
  await gwWs?.stop();
  h2c?.close();
  ws?.stop(true);
});

describe("Gateway API backend protocols through the gateway", () => {
  test("httproute-backend-protocol-h2c: an HTTP/2 prior-knowledge request reaches the h2c backend over HTTP/2", async () => {
    const session = http2.connect(gwH2c.url(80, "/").replace(/\/$/, ""));
    try {
      const got = await new Promise<{ status: number; pod: string; body: string }>((resolve, reject) => {
        const req = session.request({ ":path": "/", ":authority": "example.com" });
        let status = 0;
        let pod = "";
        let body = "";
        req.on("response", (h) => {
          status = Number(h[":status"]);
          pod = String(h["x-pod"] ?? "");
        });
        req.setEncoding("utf8");
        req.on("data", (d: string) => (body += d));
        req.on("end", () => resolve({ status, pod, body }));
        req.on("error", reject);
        req.end();
      });
      expect([got.status, got.pod, JSON.parse(got.body)]).toEqual([200, "infra-backend-v1-0", { protocol: "2.0", path: "/" }]);
    } finally {
      session.close();
    }
  });

  test("httproute-backend-protocol-websocket: a WebSocket connection reaches the backend; text and binary frames echo", async () => {
    const sock = new WebSocket(gwWs.url(80, "/ws").replace(/^http/, "ws"));
    sock.binaryType = "arraybuffer";
    const replies: (string | number[])[] = [];
    await new Promise<void>((resolve, reject) => {
      sock.onopen = () => sock.send("Websocket Support!");
      sock.onerror = () => reject(new Error("websocket error"));
      sock.onmessage = (e) => {
        replies.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data as ArrayBuffer)]);
        if (replies.length === 1) sock.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
        else resolve();
      };
    });
    sock.close();
    expect(replies).toEqual(["Websocket Support!", [1, 2, 3, 4, 5, 6, 7]]);
  });
});

// The real gateway process: --path-normalization reaches the workers (and
// explain), default BASE. A `/private` prefix answered 403 ahead of a catch-all
// cannot be bypassed by spelling the path differently; NONE (Istio's opt-out)
// routes the spelling as sent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCli, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { raw } from "../workers/harness.ts";

const config = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /private}}]
    directResponse: {status: 403, body: {string: "private"}}
  - directResponse: {status: 200, body: {string: "public"}}
`;

let dir = "";
let base: GatewayProcess;
let none: GatewayProcess;

beforeAll(async () => {
  dir = writeTree({ "gw.yaml": config });
  [base, none] = await Promise.all([
    startGateway({ configDirs: [dir], workers: 1 }),
    startGateway({ configDirs: [dir], workers: 1, args: ["--path-normalization", "NONE"] }),
  ]);
}, 30_000);

afterAll(async () => {
  expect(await base.stop()).toBe(0);
  expect(await none.stop()).toBe(0);
});

async function status(gw: GatewayProcess, target: string): Promise<number> {
  const r = await raw(gw.ports.get(80)!, `GET ${target} HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n`);
  return Number(r.text.slice(9, 12));
}

describe("default (BASE)", () => {
  for (const target of ["/private", "/%70rivate", "/x/../private", "/x\\..\\private"]) {
    test(`${target} → 403`, async () => expect(await status(base, target)).toBe(403));
  }
  test("%00 and %zz → 400", async () => {
    expect(await status(base, "/private%00")).toBe(400);
    expect(await status(base, "/a%zz")).toBe(400);
  });
  test("a bad Host → 400", async () => {
    const r = await raw(base.ports.get(80)!, "GET / HTTP/1.1\r\nHost: a.example.com:@evil.com\r\nConnection: close\r\n\r\n");
    expect(r.text.slice(0, 12)).toBe("HTTP/1.1 400");
  });
});

describe("--path-normalization NONE", () => {
  test("/%70rivate is routed as sent: the catch-all", async () => {
    expect(await status(none, "/%70rivate")).toBe(200);
    expect(await status(none, "/private")).toBe(403);
  });
});

describe("explain normalizes as the gateway does", () => {
  test("--path /%70rivate hits the 403 route; with NONE the catch-all", async () => {
    const a = await runCli(["explain", "--config", dir, "--host", "a.example.com", "--path", "/%70rivate"]);
    expect(a.stdout).toContain("result:        403 direct");
    const b = await runCli(["explain", "--config", dir, "--host", "a.example.com", "--path", "/%70rivate", "--path-normalization", "NONE"]);
    expect(b.stdout).toContain("result:        200 direct");
  });
});

// One snapshot generation per request: kept-alive plain and TLS connections
// under load across reloads that rename a destination, remove it and add it
// back. Every request is decided and forwarded in the newest generation at the
// time its head arrives (route table and clusters together; a TLS connection
// looks its route table up by port + SNI, keeping only its certificate), so no
// request gets a 5xx the configuration it was decided in would not give.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { Agent, request } from "node:https";
import { secretYaml } from "../../src/cli/certs.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { serviceEntry } from "../helpers/config.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { startBackend } from "./backend.ts";
import { WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let pki: WalkthroughPki;
let a: Server<undefined>;
let b: Server<undefined>;
let w: WorkerHarness;
const httpPort = freePort();
const httpsPort = freePort();
let version = 1000;

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [httpbin.example.com]
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: app-credential}
    hosts: [httpbin.example.com]
`;

/** The configuration routing httpbin.example.com to `dest` (a ServiceEntry host), with the ServiceEntries listed. */
function config(dest: string, entries: ("a" | "b")[]): Snapshot {
  const ses = entries.map((e) => serviceEntry(`svc-${e}`, `svc-${e}.default.svc.cluster.local`, 8000, e === "a" ? a.port! : b.port!));
  const yaml = [
    GATEWAY,
    secretYaml("app-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
    `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: ${dest}.default.svc.cluster.local, port: {number: 8000}}}]
`,
    ...ses,
  ].join("\n---\n");
  const s = compileYaml(yaml, { portMap: new Map([[80, httpPort], [443, httpsPort]]), bindAddress: "127.0.0.1" });
  s.version = ++version;
  return structuredClone(s);
}

beforeAll(async () => {
  pki = await walkthroughPki();
  a = startBackend("a");
  b = startBackend("b");
  w = new WorkerHarness();
});
afterAll(() => {
  w.stop();
  a.stop(true);
  b.stop(true);
});

/** Sequential requests on one kept-alive plain connection (Bun's fetch pool, one connection). */
async function plainLoop(stop: () => boolean, statuses: number[]): Promise<void> {
  for (let i = 0; i < 2000 && !stop(); i++) {
    const r = await fetch(`http://127.0.0.1:${httpPort}/echo`, { headers: { host: "httpbin.example.com" }, keepalive: true });
    await r.arrayBuffer();
    statuses.push(r.status);
  }
}

/** Sequential requests on one kept-alive TLS connection (SNI httpbin.example.com). */
async function tlsLoop(stop: () => boolean, statuses: number[], sockets: Set<unknown>): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 2000 && !stop(); i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: httpsPort, path: "/echo", servername: "httpbin.example.com", ca: pki.ca.cert, agent, headers: { host: "httpbin.example.com" } },
          (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.setTimeout(5000, () => req.destroy(new Error("timeout")));
        req.end();
      });
      statuses.push(status);
    }
  } finally {
    agent.destroy();
  }
}

describe("one snapshot generation per request", () => {
  test("keep-alive plain and TLS connections across rename, remove and re-add of a destination: no 5xx", async () => {
    const first = await w.apply(config("svc-a", ["a"]));
    expect(first.map((l) => l.error)).toEqual(["", ""]);
    let done = false;
    const stop = () => done;
    const plain: number[] = [];
    const tls: number[] = [];
    const sockets = new Set<unknown>();
    const loops = [plainLoop(stop, plain), plainLoop(stop, plain), tlsLoop(stop, tls, sockets), tlsLoop(stop, tls, sockets)];
    // rename (svc-a gone, svc-b routed), back (svc-a re-added and routed, svc-b gone), and again
    const steps: [string, ("a" | "b")[]][] = [
      ["svc-b", ["b"]],
      ["svc-a", ["a"]],
      ["svc-b", ["a", "b"]],
      ["svc-b", ["b"]],
      ["svc-a", ["a"]],
    ];
    try {
      for (const [dest, entries] of steps) {
        await Bun.sleep(150);
        await w.apply(config(dest, entries));
      }
      await Bun.sleep(150);
    } finally {
      done = true;
      await Promise.all(loops);
    }
    expect(plain.length).toBeGreaterThan(20);
    expect(tls.length).toBeGreaterThan(20);
    // the TLS clients really kept their connections across the reloads
    expect(sockets.size).toBeLessThanOrEqual(4);
    const bad = [...plain, ...tls].filter((s) => s !== 200);
    expect(bad).toEqual([]);
    expect(w.logs.filter((l) => l.startsWith("error"))).toEqual([]);
  }, 30_000);
});

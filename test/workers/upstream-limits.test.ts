// DestinationRule connectionPool through a real worker: Istio's circuit-
// breaking task (maxConnections 1, http1MaxPendingRequests 1: of three
// concurrent requests one waits and one overflows with 503 UO, counted), and
// maxRequestsPerConnection closing connections after their quota.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { applyYamlOnFreePort } from "./apply-config.ts";
import { raw, WorkerHarness } from "./harness.ts";

/** A raw HTTP/1.1 backend that holds each answer until release() (keep-alive), counting connections. */
function holdingBackend() {
  const held: (() => void)[] = [];
  let connections = 0;
  let holding = true;
  const l: TCPSocketListener<undefined> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        connections++;
      },
      data(s, d) {
        const n = d.toString("latin1").split("\r\n\r\n").length - 1;
        for (let i = 0; i < n; i++) {
          const answer = () => s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
          if (holding) held.push(answer);
          else answer();
        }
      },
    },
  });
  return {
    port: l.port,
    get connections() {
      return connections;
    },
    get held() {
      return held.length;
    },
    release(all = true) {
      holding = !all;
      for (const a of held.splice(0)) a();
    },
    stop: () => l.stop(true),
  };
}

function config(port: number, pool: string): string {
  return `${gatewayWithRoutes("[{route: [{destination: {host: be.internal, port: {number: 80}}}]}]")}${loopbackServiceEntry({ name: "be", host: "be.internal", port: 80, targetPort: port })}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be}
spec:
  host: be.internal
  trafficPolicy:
    connectionPool: ${pool}
`;
}

const GET = "GET / HTTP/1.1\r\nhost: be.internal\r\n\r\n";
const status = (t: string) => Number(/^HTTP\/1\.1 (\d+)/.exec(t)?.[1] ?? 0);
const complete = (b: Buffer) => {
  const t = b.toString("latin1");
  return /\r\n\r\n/.test(t) && (t.endsWith("ok") || t.includes("reason: overflow"));
};

describe("circuit breaking (Istio's task)", () => {
  let w: WorkerHarness;
  let be: ReturnType<typeof holdingBackend>;
  let port = 0;
  beforeAll(async () => {
    be = holdingBackend();
    w = new WorkerHarness();
    port = await applyYamlOnFreePort(w, config(be.port, "{tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}}"));
  });
  afterAll(() => {
    w.stop();
    be.stop();
  });

  test("three at once: one served, one waits for the connection, one overflows (503 UO, counted)", async () => {
    const a = raw(port, GET, complete);
    // a must hold the one connection before b and c come (else a could be the one that overflows, and neither b nor c ends before the release)
    for (let i = 0; i < 1000 && be.held < 1; i++) await Bun.sleep(10);
    expect(be.held).toBe(1);
    // b and c at once: one waits for the connection, the other overflows (whichever comes second)
    const b = raw(port, GET, complete);
    const c = raw(port, GET, complete);
    const first = await Promise.race([b, c]);
    expect(status(first.text)).toBe(503);
    expect(first.text).toContain("reset reason: overflow");
    be.release();
    const all = await Promise.all([a, b, c]);
    expect(all.map((r) => status(r.text)).sort()).toEqual([200, 200, 503]);
    expect(be.connections).toBe(1);
    const m = await w.stats();
    expect(m['gangway_upstream_rq_error_total{cluster="outbound|80||be.internal",flag="UO"}']).toBe(1);
    expect(m['gangway_upstream_rq_pending{cluster="outbound|80||be.internal"}']).toBe(0);
  });
});

describe("pending requests are counted right without limits too (pools outlive a reload that adds limits)", () => {
  test("no connectionPool: new connections leave no pending count behind", async () => {
    const be = holdingBackend();
    be.release();
    const w = new WorkerHarness();
    try {
      const port = await applyYamlOnFreePort(w, config(be.port, "null").replace("    connectionPool: null\n", "    loadBalancer: {simple: ROUND_ROBIN}\n"));
      await Promise.all([raw(port, GET, complete), raw(port, GET, complete), raw(port, GET, complete)]);
      const m = await w.stats();
      expect(be.connections).toBeGreaterThan(0);
      expect(m['gangway_upstream_rq_pending{cluster="outbound|80||be.internal"}'] ?? 0).toBe(0);
    } finally {
      w.stop();
      be.stop();
    }
  });
});

describe("maxRequestsPerConnection", () => {
  test("1: every request on a new connection", async () => {
    const be = holdingBackend();
    be.release();
    const w = new WorkerHarness();
    try {
      const port = await applyYamlOnFreePort(w, config(be.port, "{http: {maxRequestsPerConnection: 1}}"));
      for (let i = 0; i < 3; i++) expect(status((await raw(port, GET, complete)).text)).toBe(200);
      expect(be.connections).toBe(3);
    } finally {
      w.stop();
      be.stop();
    }
  });
  test("unset: one kept-alive connection", async () => {
    const be = holdingBackend();
    be.release();
    const w = new WorkerHarness();
    try {
      const port = await applyYamlOnFreePort(w, config(be.port, "{tcp: {maxConnections: 10}}"));
      for (let i = 0; i < 3; i++) expect(status((await raw(port, GET, complete)).text)).toBe(200);
      expect(be.connections).toBe(1);
    } finally {
      w.stop();
      be.stop();
    }
  });
});

// TCP sessions in this process (no gateway): half-closed sessions stay until
// the sweep finds them idle (Envoy's tcp_proxy idle_timeout, 1 h); the access
// log and the istio_tcp_* counters see each session once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Cluster, Snapshot, TcpRouteTable } from "../../src/snapshot/types.ts";
import { accessLog, formatJson } from "../../workers/access-log.ts";
import { coarseNow } from "../../workers/context.ts";
import { applyClusters, type Generation } from "../../workers/http/clusters.ts";
import type { PortState } from "../../workers/listeners.ts";
import { stats } from "../../workers/stats.ts";
import { tcpHandlers } from "../../workers/tcp/handoff.ts";
import { CLOSING_MS, IDLE_MS, sessions } from "../../workers/tcp/session.ts";
import { blackhole, type Blackhole } from "../helpers/blackhole.ts";

let echo: TCPSocketListener<undefined>;
let closer: TCPSocketListener<undefined>;
let front: TCPSocketListener<any>;
let frontCloser: TCPSocketListener<any>;
let silent: TCPSocketListener<undefined>;
let frontSilent: TCPSocketListener<any>;
let hole: Blackhole;
let frontHole: TCPSocketListener<any>;
let silentGot = 0;
/** The silent upstream got the FIN the session passed on. */
let silentEnded = false;
const logFile = join(mkdtempSync(join(tmpdir(), "gangway-tcp-")), "access.log");

function cluster(name: string, port: number, connectTimeoutMs = 1000): Cluster {
  return { name, serviceHost: `${name}.internal`, port: 7000, subset: "", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs, endpoints: [{ address: "127.0.0.1", port, weight: 1, labels: {} }] };
}

function table(c: string): TcpRouteTable {
  const route = { name: `to-${c}`, source: "test", sniHosts: [], destinations: [{ cluster: c, weight: 100, host: `${c}.internal`, port: 7000, subset: "" }], totalWeight: 100 };
  return { name: "tcp.7000", routes: [route], exactHosts: new Map(), wildcardHosts: [], catchAll: 0 };
}

let gen: Generation;

function listen(t: TcpRouteTable): TCPSocketListener<any> {
  const port = { listener: { tcpRoutes: t }, gen, draining: false } as unknown as PortState;
  return Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: tcpHandlers(port) });
}

beforeAll(async () => {
  accessLog.configure(logFile, "text");
  echo = Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: { data: (s, b) => void s.write(b) } });
  closer = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.end("bye"), data() {} } });
  // takes bytes, never answers, never closes (not even after a FIN)
  silent = Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: { data: (_s, b) => void (silentGot += b.length), end: () => void (silentEnded = true) } });
  hole = await blackhole(); // connects never complete
  const cs = [cluster("echo", echo.port), cluster("closer", closer.port), cluster("silent", silent.port), cluster("hole", hole.port, 300)];
  gen = applyClusters({ clusters: new Map(cs.map((c) => [c.name, c])) } as unknown as Snapshot);
  front = listen(table("echo"));
  frontCloser = listen(table("closer"));
  frontSilent = listen(table("silent"));
  frontHole = listen(table("hole"));
});
afterAll(() => {
  for (const l of [echo, closer, silent, front, frontCloser, frontSilent, frontHole]) l.stop(true);
  hole.close();
  accessLog.close();
});

/** A client that records what it gets and when it is closed. */
function client(port: number): Promise<{ s: Socket<undefined>; got: () => string; ended: () => boolean; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let got = "";
    let ended = false;
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        open: (s) => resolve({ s, got: () => got, ended: () => ended, closed }),
        data: (_s, b) => void (got += b.toString()),
        end: () => void (ended = true), // keep our side open after the FIN (half-open)
        close: () => done(),
        connectError: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

describe("the sweep", () => {
  test("a session idle longer than IDLE_MS (1 h, Envoy's tcp_proxy default) is closed; the log says idle_timeout", async () => {
    const c = await client(front.port);
    c.s.write("ping");
    await until(() => c.got() === "ping");
    expect(sessions.size).toBe(1);
    const [t] = sessions;
    t!.sweep(coarseNow + IDLE_MS - 60_000); // not yet
    expect(sessions.size).toBe(1);
    t!.sweep(coarseNow + IDLE_MS + 1);
    await c.closed;
    expect(sessions.size).toBe(0);
    accessLog.flush();
    expect(readFileSync(logFile, "utf8")).toMatch(/"- - -" 0 - - idle_timeout "-" 4 4 \d+ - .* "127\.0\.0\.1:\d+" echo .* to-echo\n/);
  });

  test("the upstream sent FIN and the client keeps its side open: a legit half-open session, closed only when idle", async () => {
    const c = await client(frontCloser.port);
    await until(() => c.got() === "bye" && c.ended()); // the upstream's FIN reached the session and was passed on
    expect(sessions.size).toBe(1);
    const [t] = sessions;
    t!.sweep(coarseNow + CLOSING_MS + 1000);
    expect(sessions.size).toBe(1);
    t!.sweep(coarseNow + IDLE_MS + 1);
    await c.closed;
    expect(sessions.size).toBe(0);
  });

  test("the client's FIN passes on; an upstream that never answers it keeps the session until it is idle", async () => {
    const c = await client(frontSilent.port);
    c.s.write("x");
    await until(() => silentGot > 0);
    c.s.end(); // FIN (and Bun closes its side)
    await c.closed;
    await until(() => silentEnded); // the session passed the client's FIN on
    expect(sessions.size).toBe(1); // for the gateway it is half-closed: the upstream may still answer
    const [t] = sessions;
    t!.sweep(coarseNow + CLOSING_MS + 1000);
    expect(sessions.size).toBe(1);
    t!.sweep(coarseNow + IDLE_MS + 1);
    expect(sessions.size).toBe(0);
    accessLog.flush();
    expect(readFileSync(logFile, "utf8")).toMatch(/idle_timeout "-" 1 0 .* to-silent\n/);
  });

  test("counters: opened and closed once per session, bytes both ways", () => {
    const s = stats.sample();
    expect(s['istio_tcp_connections_opened_total{destination_service="echo.internal"}']).toBe(1);
    expect(s['istio_tcp_connections_closed_total{destination_service="echo.internal"}']).toBe(1);
    expect(s['istio_tcp_received_bytes_total{destination_service="echo.internal"}']).toBe(4);
    expect(s['istio_tcp_sent_bytes_total{destination_service="echo.internal"}']).toBe(4);
    expect(s['istio_tcp_sent_bytes_total{destination_service="closer.internal"}']).toBe(3);
  });

  test("the JSON access log of a TCP connection: method and protocol null, the rest as Istio's keys", () => {
    accessLog.flush();
    const line = readFileSync(logFile, "utf8").split("\n").find((l) => l.includes("to-echo"))!;
    expect(line).toContain('"- - -" 0');
    const j = JSON.parse(
      formatJson({
        startMs: 0, method: "", logPath: "", protocol: "-", status: 0, flags: "UF", details: "upstream_connect_failure",
        termination: "upstream_connect_error:ECONNREFUSED", transportFailure: "", bytesReceived: 10, bytesSent: 0, durationMs: 1,
        upstreamServiceTime: -1, xff: "", userAgent: "", requestId: "", authority: "", upstreamHost: "127.0.0.1:1",
        upstreamCluster: "outbound|7000||dead", upstreamLocal: "", downstreamLocal: "127.0.0.1:443", downstreamRemote: "127.0.0.1:5000",
        sni: "db.example.com", routeName: "db.tcp.0",
      }),
    );
    expect(j).toMatchObject({ method: null, path: null, protocol: null, response_code: 0, response_flags: "UF", requested_server_name: "db.example.com", upstream_cluster: "outbound|7000||dead" });
  });
});

describe("the connect timeout", () => {
  test("an upstream that never answers the connect: the client is closed after the cluster's connectTimeout, UF, logged as a connection timeout", async () => {
    const c = await client(frontHole.port);
    c.s.write("hello");
    await until(() => c.ended(), 4000); // FIN after the cluster's 300 ms connect timeout
    expect(c.got()).toBe("");
    expect(sessions.size).toBe(0);
    c.s.end();
    accessLog.flush();
    expect(readFileSync(logFile, "utf8")).toMatch(/"- - -" 0 UF upstream_connect_failure upstream_connect_error:connection_timeout "-" 5 0 \d+ - .* to-hole\n/);
    const s = stats.sample();
    expect(s['gangway_upstream_rq_error_total{cluster="hole",flag="UF"}']).toBe(1);
    expect(s['istio_tcp_connections_opened_total{destination_service="hole.internal"}']).toBe(1);
    expect(s['istio_tcp_connections_closed_total{destination_service="hole.internal"}']).toBe(1);
    expect(s['istio_tcp_received_bytes_total{destination_service="hole.internal"}']).toBe(5);
  });
});

describe("the list of open sessions", () => {
  test("sessions closed out of order leave the others listed, each once; the sweep reaches every one", async () => {
    const cs = [];
    for (let i = 0; i < 5; i++) {
      const c = await client(front.port);
      c.s.write(`c${i}`);
      await until(() => c.got() === `c${i}`);
      cs.push(c);
    }
    expect(sessions.size).toBe(5);
    for (const i of [1, 4, 0]) {
      cs[i]!.s.end();
      await cs[i]!.closed;
    }
    await until(() => sessions.size === 2);
    const left = [...sessions];
    expect(new Set(left).size).toBe(2);
    for (const t of left) t.sweep(coarseNow + IDLE_MS + 1);
    await Promise.all([cs[2]!.closed, cs[3]!.closed]);
    expect(sessions.size).toBe(0);
    expect([...sessions]).toEqual([]);
  });
});

// DestinationRule trafficPolicy on TCP routes through a real worker, as
// Envoy's tcp_proxy applies Istio's cluster: TLS originated to backends with
// their own CA (SIMPLE) and one requiring a client certificate (MUTUAL), a
// refused handshake closing the client with UF and the TLS reason,
// maxConnections 1 refusing a second connection (UO), useSourceIp pinning.
// Real sockets on loopback; configuration compiled as the primary compiles it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import tls from "node:tls";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { logTail } from "../helpers/access-log.ts";
import { clientHello } from "../helpers/client-hello.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { secret, tcpGatewayWithRoute } from "../helpers/config.ts";
import { compileOnPort } from "./apply-config.ts";
import { WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let ca: Issued;
let otherCa: Issued;
let client: Issued;
const servers: net.Server[] = [];
const held: net.Socket[] = [];
let simplePort = 0;
let mutualPort = 0;
let plainA = 0;
let plainB = 0;
let gwPort = 0;
let w: WorkerHarness;
const dir = mkdtempSync(join(tmpdir(), "gw-tcp-up-"));
const logFile = join(dir, "access.log");

async function listen(s: net.Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

/** A TLS backend: greets with its SNI and the client certificate's CN, then echoes. */
function tlsBackend(cert: Issued, requireClient: boolean): Promise<number> {
  const s = tls.createServer({ cert: cert.cert, key: cert.key, ca: ca.cert, requestCert: requireClient, rejectUnauthorized: requireClient }, (c) => {
    c.on("error", () => {});
    const sni = (c as unknown as { servername?: string }).servername ?? "";
    c.write(`sni=${sni} cn=${String(c.getPeerCertificate()?.subject?.CN ?? "")};`);
    c.pipe(c);
  });
  s.on("tlsClientError", () => {});
  return listen(s);
}

/** A plaintext backend: greets with its name and keeps the connection open (held until the test ends it). */
function plainBackend(name: string): Promise<number> {
  return listen(
    net.createServer((c) => {
      c.on("error", () => {});
      held.push(c);
      c.write(`${name};`);
      c.pipe(c);
    }),
  );
}

const TCP_GATEWAY = (host: string, port: number) => tcpGatewayWithRoute(80, host, port);

/** A STATIC ServiceEntry for a TCP port with one endpoint per [address, port]. */
const entry = (host: string, endpoints: [string, number][]) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${host.split(".")[0]}}
spec:
  hosts: [${host}]
  ports: [{number: 9000, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints: [${endpoints.map(([a, p]) => `{address: ${a}, ports: {tcp: ${p}}}`).join(", ")}]
---
`;

const dr = (host: string, tp: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host.split(".")[0]}}
spec:
  host: ${host}
  trafficPolicy:
${tp}
---
`;

async function apply(yaml: string) {
  const s = compileOnPort(yaml, gwPort);
  await w.apply(s);
  return s;
}

/** Connect (from `localAddress`), send `send`, read until `until` bytes came or the gateway closes; bounded. */
function talk(send: string, until: number, localAddress = "127.0.0.1"): Promise<{ text: string; closed: boolean; sock: net.Socket }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port: gwPort, localAddress });
    let text = "";
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ text, closed, sock });
    };
    const timer = setTimeout(() => finish(false), 3000);
    sock.on("connect", () => sock.write(send));
    sock.on("data", (d) => {
      text += d.toString("latin1");
      if (text.length >= until) finish(false);
    });
    sock.on("error", () => {});
    sock.on("close", () => finish(true));
  });
}

/** The access-log line of the session or request that just ended (waited for, bounded). */
const nextLog = logTail(logFile);

beforeAll(async () => {
  ca = await createCA({ cn: "upstream-ca", keyType: "ec" });
  otherCa = await createCA({ cn: "other-ca", keyType: "ec" });
  const srv = await issue(ca, { cn: "db.internal", names: ["db.internal"], usage: "server", keyType: "ec" });
  client = await issue(ca, { cn: "the-gateway", usage: "client", keyType: "ec" });
  simplePort = await tlsBackend(srv, false);
  mutualPort = await tlsBackend(srv, true);
  plainA = await plainBackend("A");
  plainB = await plainBackend("B");
  gwPort = freePort();
  w = new WorkerHarness({ accessLog: logFile });
});

afterAll(() => {
  w.stop();
  for (const c of held) c.destroy();
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("DestinationRule tls on a TCP route", () => {
  test("SIMPLE with the backend's CA: the bytes go over TLS, SNI the destination's host", async () => {
    await apply(TCP_GATEWAY("db.internal", 9000) + entry("db.internal", [["127.0.0.1", simplePort]]) + secret("db-ca", { "ca.crt": ca.cert }) + dr("db.internal", "    tls: {mode: SIMPLE, credentialName: db-ca}"));
    const greeting = "sni=db.internal cn=;";
    const r = await talk("ping", greeting.length + 4);
    r.sock.destroy();
    expect(r.text).toBe(greeting + "ping");
    await nextLog();
  });

  test("MUTUAL: the client certificate from credentialName is presented", async () => {
    await apply(
      TCP_GATEWAY("db.internal", 9000) +
        entry("db.internal", [["127.0.0.1", mutualPort]]) +
        secret("db-client", { "tls.crt": client.cert, "tls.key": client.key, "ca.crt": ca.cert }) +
        dr("db.internal", "    tls: {mode: MUTUAL, credentialName: db-client}"),
    );
    const greeting = "sni=db.internal cn=the-gateway;";
    const r = await talk("pong", greeting.length + 4);
    r.sock.destroy();
    expect(r.text).toBe(greeting + "pong");
    await nextLog();
  });

  test("a CA that did not sign the backend: the client is closed, nothing sent, UF with the TLS reason", async () => {
    await apply(TCP_GATEWAY("db.internal", 9000) + entry("db.internal", [["127.0.0.1", simplePort]]) + secret("db-ca", { "ca.crt": otherCa.cert }) + dr("db.internal", "    tls: {mode: SIMPLE, credentialName: db-ca}"));
    const r = await talk("ping", 1);
    expect([r.text, r.closed]).toEqual(["", true]);
    const line = await nextLog();
    expect(line).toContain(" UF ");
    expect(line).toMatch(/"TLS_error:_(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)"/);
    const st = await w.stats();
    expect(Object.entries(st).some(([k, v]) => k.startsWith("gangway_upstream_rq_error_total") && k.includes('flag="UF"') && v > 0)).toBe(true);
  });
});

describe("connection pool and balancer on a TCP route", () => {
  test("maxConnections 1: a second concurrent connection is closed and logged UO; the slot frees when the first ends", async () => {
    await apply(TCP_GATEWAY("plain.internal", 9000) + entry("plain.internal", [["127.0.0.1", plainA]]) + dr("plain.internal", "    connectionPool: {tcp: {maxConnections: 1}}"));
    const first = await talk("1", 3);
    expect([first.text, first.closed]).toEqual(["A;1", false]);
    const second = await talk("2", 1);
    expect([second.text, second.closed]).toEqual(["", true]);
    const line = await nextLog();
    expect(line).toContain(" UO ");
    const st = await w.stats();
    expect(st['gangway_upstream_rq_error_total{cluster="outbound|9000||plain.internal",flag="UO"}']).toBeGreaterThanOrEqual(1);
    first.sock.destroy();
    await nextLog(); // the first session ended
    const third = await talk("3", 3);
    third.sock.destroy();
    expect(third.text).toBe("A;3");
    await nextLog();
  });

  test("consistentHash useSourceIp: each client IP sticks to one endpoint; ROUND_ROBIN alternates", async () => {
    const se = entry("plain.internal", [
      ["127.0.0.1", plainA],
      ["127.0.0.1", plainB],
    ]);
    const backendsOf = async (from: string, n: number) => {
      const seen: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await talk("x", 3, from);
        r.sock.destroy();
        seen.push(r.text.slice(0, 1));
        await nextLog();
      }
      return seen;
    };
    await apply(TCP_GATEWAY("plain.internal", 9000) + se + dr("plain.internal", "    loadBalancer: {simple: ROUND_ROBIN}"));
    expect(new Set(await backendsOf("127.0.0.1", 4)).size).toBe(2);
    await apply(TCP_GATEWAY("plain.internal", 9000) + se + dr("plain.internal", "    loadBalancer: {consistentHash: {useSourceIp: true}}"));
    const all = new Set<string>();
    // the ring is placed by the endpoints' (random) ports: 16 clients all on one of two endpoints is a 1 in 32768 chance (6 made it 1 in 32)
    for (let i = 1; i <= 16; i++) {
      const seen = await backendsOf(`127.0.0.${i}`, 2);
      expect(new Set(seen).size).toBe(1);
      all.add(seen[0]!);
    }
    expect(all.size).toBe(2); // the hash spreads clients over both
  }, 20_000);

  test("outlier detection: an endpoint that refuses connections is ejected after consecutiveGatewayErrors, then all go to the other", async () => {
    const dead = freePort(); // nothing listens there: connections are refused
    await apply(
      TCP_GATEWAY("plain.internal", 9000) +
        entry("plain.internal", [
          ["127.0.0.1", plainA],
          ["127.0.0.1", dead],
        ]) +
        dr("plain.internal", "    loadBalancer: {simple: ROUND_ROBIN}\n    outlierDetection: {consecutiveGatewayErrors: 1, consecutive5xxErrors: 0, interval: 60s, baseEjectionTime: 60s, maxEjectionPercent: 100}"),
    );
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await talk("x", 3);
      r.sock.destroy();
      got.push(r.text === "" ? "refused" : r.text.slice(0, 1));
      await nextLog();
    }
    expect(got.filter((g) => g === "refused").length).toBe(1); // the first failure ejects it
    expect(got.slice(2)).toEqual(["A", "A", "A", "A"]);
    const st = await w.stats();
    expect(st['gangway_outlier_events_total{cluster="outbound|9000||plain.internal",action="eject"}']).toBe(1);
  });
});

describe("connectionPool.tcp.idleTimeout on a TCP route (Envoy's tcp_proxy idle_timeout)", () => {
  test("a session idle both ways that long is closed, logged idle_timeout; http.idleTimeout does not apply to it", async () => {
    await apply(TCP_GATEWAY("plain.internal", 9000) + entry("plain.internal", [["127.0.0.1", plainA]]) + dr("plain.internal", "    connectionPool: {tcp: {idleTimeout: 1s}, http: {idleTimeout: 1h}}"));
    const r = await talk("1", 3);
    expect([r.text, r.closed]).toEqual(["A;1", false]);
    // bounded: the worker's sweep runs every second; without the cluster's timeout the session stays for 1 h
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      r.sock.on("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    r.sock.destroy();
    expect(closed).toBe(true);
    expect(await nextLog()).toContain("idle_timeout");
  }, 20_000);
});

describe("TLS passthrough", () => {
  test("a DestinationRule's tls is not applied: the client's own TLS reaches the backend", async () => {
    await apply(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: tls, protocol: TLS}, hosts: [db.internal], tls: {mode: PASSTHROUGH}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [db.internal]
  gateways: [gw]
  tls: [{match: [{sniHosts: [db.internal]}], route: [{destination: {host: db.internal, port: {number: 9000}}}]}]
---
` + entry("db.internal", [["127.0.0.1", simplePort]]) + secret("db-ca", { "ca.crt": ca.cert }) + dr("db.internal", "    tls: {mode: SIMPLE, credentialName: db-ca}"));
    const text = await new Promise<string>((resolve, reject) => {
      const c = tls.connect({ host: "127.0.0.1", port: gwPort, servername: "db.internal", ca: ca.cert }, () => c.write("hi"));
      let t = "";
      const timer = setTimeout(() => reject(new Error("no answer")), 3000);
      c.on("data", (d) => {
        t += d.toString("latin1");
        if (t.endsWith("hi")) {
          clearTimeout(timer);
          c.destroy();
          resolve(t);
        }
      });
      c.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    expect(text).toBe("sni=db.internal cn=;hi");
    await nextLog();
  });

  test("SNIs taking turns each get their route, a route with two destinations spreads its connections, a reload's routes apply to the next connection", async () => {
    const routes = (aTo: string) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: tls, protocol: TLS}, hosts: [a.internal, w.internal], tls: {mode: PASSTHROUGH}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [a.internal, w.internal]
  gateways: [gw]
  tls:
  - {match: [{sniHosts: [a.internal]}], route: [{destination: {host: ${aTo}.internal, port: {number: 9000}}}]}
  - match: [{sniHosts: [w.internal]}]
    route: [{destination: {host: sa.internal, port: {number: 9000}}, weight: 50}, {destination: {host: sb.internal, port: {number: 9000}}, weight: 50}]
---
` + entry("sa.internal", [["127.0.0.1", plainA]]) + entry("sb.internal", [["127.0.0.1", plainB]]);
    /** The greeting of the backend a passthrough connection for `sni` reached ("A;" or "B;"). */
    const greeting = (sni: string) =>
      new Promise<string>((resolve) => {
        const sock = net.connect({ host: "127.0.0.1", port: gwPort }, () => sock.write(clientHello(sni)));
        const timer = setTimeout(() => (sock.destroy(), resolve("")), 3000);
        sock.on("data", (d) => {
          clearTimeout(timer);
          sock.destroy();
          resolve(d.toString("latin1").slice(0, 2));
        });
        sock.on("error", () => {});
      });
    await apply(routes("sa"));
    const seen = new Set<string>();
    let pairsSplit = 0; // two w connections in a row reaching different backends
    for (let i = 0; i < 24; i++) {
      expect(await greeting("a.internal")).toBe("A;");
      const [x, y] = [await greeting("w.internal"), await greeting("w.internal")];
      seen.add(x).add(y);
      if (x !== y) pairsSplit++;
    }
    expect(seen).toEqual(new Set(["A;", "B;"]));
    expect(pairsSplit).toBeGreaterThan(0); // each pair drawn anew: none split ~6e-8 by chance
    await apply(routes("sb"));
    expect(await greeting("a.internal")).toBe("B;");
    expect(await greeting("a.internal")).toBe("B;");
  });
});

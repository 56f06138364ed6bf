// An accepted (fuzzed) snapshot applied to a real worker thread
// (test/workers/config-fuzz-worker.test.ts, bench/config-fuzz-worker.ts), every
// other one as a delta from the one before (as the primary sends it). Its
// listeners are bound on loopback and its endpoints pointed at a local HTTP
// backend (one in three at one that resets); then real traffic: HTTP/1.1
// requests for a few hosts and one h2c (prior knowledge, gRPC) request on each
// plain-text port, a TLS handshake with each TLS server's SNI and a request over
// it. What must hold: the worker applies the snapshot and logs no error, every
// request gets an HTTP status (any) or a clean close within a bound, never a
// hang, a SIMPLE server without an Error completes its handshake, and the
// worker still answers afterwards.
import { connect as h2Connect } from "node:http2";
import { connect as tlsConnect } from "node:tls";
import { makeDelta } from "../../src/snapshot/delta.ts";
import type { FromWorker, ListenerStatus } from "../../src/snapshot/messages.ts";
import type { Cluster, Listener, Snapshot } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { raw, WorkerHarness } from "../workers/harness.ts";
import { freePort } from "../workers/snapshot-fixture.ts";

/** How long one request or handshake may take before it counts as a hang. */
const BOUND_MS = Number(process.env.FUZZ_WORKER_BOUND_MS ?? 4000);

const headDone = (b: Buffer) => b.includes("\r\n\r\n");
const STATUS = /^HTTP\/1\.[01] [1-5][0-9][0-9] /;

/** An HTTP status line, or nothing and a close: anything else (no answer within the bound, garbage) is a problem. */
function answerProblem(what: string, text: string, closed: boolean, timedOut: boolean): string | null {
  if (STATUS.test(text)) return null;
  if (text === "" && closed && !timedOut) return null;
  return `${what}: ${timedOut ? `no answer within ${BOUND_MS} ms` : "not an HTTP response"} (got ${JSON.stringify(text.slice(0, 80))}, ${closed ? "closed" : "open"})`;
}

/** A TLS handshake with `sni` (or none) on `port`, then a GET over it: what came back. */
function tlsRequest(port: number, sni: string | undefined, host: string): Promise<{ handshake: boolean; text: string; closed: boolean; timedOut: boolean }> {
  return new Promise((resolve) => {
    let text = "";
    let handshake = false;
    let settled = false;
    const s = tlsConnect({ host: "127.0.0.1", port, ...(sni !== undefined ? { servername: sni } : {}), rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] });
    const done = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ handshake, text, closed, timedOut });
    };
    const timer = setTimeout(() => done(false, true), BOUND_MS);
    s.on("secureConnect", () => {
      handshake = true;
      s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (text.includes("\r\n\r\n")) done(false, false);
    });
    s.on("error", () => done(true, false));
    s.on("close", () => done(true, false));
  });
}

/** What is sent to a plain-text port, one per host: a GET, a POST with a body (mirrors, retries), headers policies read. */
const REQUESTS = [
  "GET /get?x=1 HTTP/1.1\r\nHost: HOST\r\nUser-Agent: fuzz\r\nAuthorization: Bearer a.b.c\r\n\r\n",
  "POST /status/503 HTTP/1.1\r\nHost: HOST\r\nContent-Length: 5\r\nx-who: a\r\nCookie: c=d\r\n\r\nhello",
  "GET /a/b/../c//d?q=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab HTTP/1.1\r\nHost: HOST\r\nOrigin: http://x.example.com\r\nx: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\r\n\r\n",
  "OPTIONS / HTTP/1.1\r\nHost: HOST\r\nOrigin: http://x.example.com\r\nAccess-Control-Request-Method: GET\r\n\r\n",
];

/**
 * Why a request to `l` may take longer than the bound by its configuration, as in
 * Envoy, or "": its route retries many times with no route timeout within the bound
 * (attempts: 2147483647 on 503 keeps retrying, as Envoy does), or delays it (fault).
 */
export function longByConfig(s: Snapshot, l: Listener, host: string, request: string): string {
  const [line, ...rest] = request.split("\r\n");
  const [method, path] = line!.split(" ");
  const headers: Record<string, string> = {};
  for (const h of rest) if (h.includes(":")) headers[h.slice(0, h.indexOf(":")).toLowerCase()] = h.slice(h.indexOf(":") + 1).trim();
  const t = trace(s, { port: l.port, host, path: path!, method: method!, headers });
  const vh = l.routeTable?.virtualHosts.find((v) => v.name === t.virtualHost);
  const route = vh?.routes[t.routeIndex];
  if (route === undefined) return "";
  const bounded = route.timeoutMs > 0 && route.timeoutMs < BOUND_MS;
  if (!bounded && (route.fault?.delayMs ?? 0) > 0 && (route.fault?.delayPerMillion ?? 0) > 0) return `fault delay ${route.fault!.delayMs} ms`;
  if (!bounded && route.retry != null && route.retry.numRetries > 10) return `${route.retry.numRetries} retries`;
  return "";
}

/** An HTTP/2 request with prior knowledge (h2c) on `port`: the `:status` it got, "closed" (a reset or a GOAWAY), or null within the bound. */
function h2Request(port: number, host: string): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    const session = h2Connect(`http://127.0.0.1:${port}`);
    const done = (v: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), BOUND_MS);
    session.on("error", () => done("closed"));
    session.on("close", () => done("closed"));
    const req = session.request({ ":method": "POST", ":path": "/status/503?h2=1", ":authority": host, "content-type": "application/grpc", te: "trailers", "x-who": "a" });
    req.on("response", (h) => done(String(h[":status"])));
    req.on("error", () => done("closed"));
    req.on("close", () => done("closed"));
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

/** A concrete name for a server name or domain (`*.x` → `w.x`, `*` → a made-up one). */
const concrete = (name: string) => (name === "*" ? "any.example.com" : name.replace(/^\*/, "w")).replace(/:\d+$/, "");

export class WorkerCheck {
  readonly w: WorkerHarness;
  private readonly backend: ReturnType<typeof Bun.serve>;
  /** A backend that closes each connection on its first bytes (retries, outlier detection, 503s). */
  private readonly resetter: Bun.TCPSocketListener<undefined>;
  /** Gateway port → loopback port (kept across cases: the worker keeps a listener it still has). */
  private readonly ports = new Map<number, number>();
  private version = 1_000_000;
  private readonly crashes: string[] = [];
  /** What the traffic got, over all cases: `HTTP 503`, `TLS no handshake`, `closed`... (how far the cases went). */
  readonly answers = new Map<string, number>();

  /** Requests the backend answered, over all cases. */
  backendHits = 0;

  /** The last case's requests and the first line each got (compare two applies of one snapshot). */
  transcript: string[] = [];

  private count(key: string, what: string, text: string): void {
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    this.transcript.push(`${what} -> ${text.split("\r\n")[0] || "closed"}`);
  }

  constructor() {
    this.w = new WorkerHarness();
    this.w.worker.addEventListener("error", (e) => this.crashes.push(String((e as ErrorEvent).message ?? e)));
    this.backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (this.backendHits++, new Response(new URL(req.url).pathname.includes("status/5") ? "no" : "ok", { status: new URL(req.url).pathname.includes("status/5") ? 503 : 200 })) });
    this.resetter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s) => void s.end() } });
  }

  stop(): void {
    this.w.stop();
    this.backend.stop(true);
    this.resetter.stop(true);
  }

  /** `s` with its listeners on loopback and its endpoints at the local backends (route tables shared, as the primary keeps them). */
  private local(s: Snapshot): Snapshot {
    let i = 0;
    const clusters = new Map<string, Cluster>();
    for (const [k, c] of s.clusters) {
      // one endpoint in three of each cluster resets: failures to retry, eject, answer 503 for
      clusters.set(k, c.type === "ORIGINAL_DST" ? c : { ...c, endpoints: c.endpoints.map((e) => ({ ...e, address: "127.0.0.1", port: i++ % 3 === 2 ? this.resetter.port : Number(this.backend.port) })) });
    }
    const listeners = s.listeners.slice(0, 8).map((l) => {
      let p = this.ports.get(l.port);
      if (p === undefined) this.ports.set(l.port, (p = freePort()));
      return { ...l, bindAddress: "127.0.0.1", bindPort: p };
    });
    return { ...s, version: ++this.version, listeners, clusters };
  }

  /** The last snapshot applied (a delta's base), and how many were applied. */
  private prev: Snapshot | null = null;
  private applies = 0;
  /** Snapshots the worker got as a delta. */
  deltas = 0;

  /** Every other snapshot goes as a delta from the one before, as the primary sends it to workers that have that one. */
  private async send(local: Snapshot): Promise<ListenerStatus[] | string> {
    const d = this.prev !== null && this.applies++ % 2 === 1 ? makeDelta(this.prev, local) : null;
    this.prev = local;
    if (d === null) return await this.w.apply(local);
    this.deltas++;
    const got = this.w.next<FromWorker>((m) => (m.type === "applied" && m.version === local.version) || m.type === "resync");
    this.w.worker.postMessage({ type: "snapshot-delta", delta: d.delta });
    const m = await got;
    if (m.type === "resync") {
      this.prev = null;
      return `the worker asked for a resync after a delta: ${m.reason}`;
    }
    return m.type === "applied" ? m.listeners : [];
  }

  /** Applies `s` and sends traffic to each of its listeners: the broken invariants. */
  async problems(s: Snapshot): Promise<string[]> {
    const out: string[] = [];
    const from = this.w.logs.length;
    const local = this.local(s);
    this.transcript = [];
    let statuses: ListenerStatus[];
    try {
      const r = await this.send(local);
      if (typeof r === "string") return [r];
      statuses = r;
    } catch (err) {
      this.prev = null;
      return [`the worker did not apply the snapshot: ${String(err)}`];
    }
    for (const st of statuses) if (st.error !== "") out.push(`listener ${st.name} not bound: ${st.error}`);
    for (const l of local.listeners) {
      if (statuses.some((st) => st.name === l.name && st.error !== "")) continue;
      if (l.tls === null) {
        const hosts = new Set(["x.example.com", ...(l.routeTable?.virtualHosts.slice(0, 3).map((vh) => concrete(vh.domains[0] ?? "x")) ?? [])]);
        let k = 0;
        for (const host of hosts) {
          const t0 = performance.now();
          const req = REQUESTS[k++ % REQUESTS.length]!.replace("HOST", host);
          const got = await raw(l.bindPort, req, headDone, BOUND_MS);
          const timedOut = performance.now() - t0 >= BOUND_MS - 50;
          const long = timedOut ? longByConfig(local, l, host, req) : "";
          this.count(`${l.protocol} ${long !== "" ? "long by configuration" : got.text.slice(0, 12) || "closed"}`, `port ${l.port} Host ${host}`, got.text);
          const p = long !== "" ? null : answerProblem(`port ${l.port} (${l.protocol}) Host ${host}`, got.text, got.closed, timedOut);
          if (p !== null) out.push(p);
        }
        if (l.protocol !== "TCP") {
          // HTTP/2 with prior knowledge, for the last host: pseudo headers meet the header operations, gRPC meets the routes
          const host = [...hosts].at(-1)!;
          const got = await h2Request(l.bindPort, host);
          const long = got === null ? longByConfig(local, l, host, `POST /status/503?h2=1 HTTP/1.1\r\ncontent-type: application/grpc\r\nx-who: a\r\n`) : "";
          this.count(`HTTP/2 ${long !== "" ? "long by configuration" : (got ?? "no answer")}`, `port ${l.port} h2c :authority ${host}`, got ?? "no answer");
          if (got === null && long === "") out.push(`port ${l.port} (${l.protocol}) h2c :authority ${host}: no answer within ${BOUND_MS} ms`);
        }
      } else {
        const names = new Set<string | undefined>([undefined, ...l.tls.chains.slice(0, 4).flatMap((c) => c.serverNames.slice(0, 2).map(concrete))]);
        for (const sni of names) {
          const got = await tlsRequest(l.bindPort, sni, sni ?? "x.example.com");
          const chain = sni === undefined ? undefined : l.tls.chains[l.tls.exactHosts.get(sni) ?? -1];
          // a SIMPLE server the compile found nothing wrong with (not disabled, with its credential) completes the handshake
          if (chain !== undefined && !got.handshake && chain.mode === "SIMPLE" && chain.disabled === "" && chain.credential !== "" && local.credentials.has(chain.credential) && !/TLSv1(\.1)?$/.test(chain.maxVersion)) {
            out.push(`port ${l.port} SNI ${sni}: no handshake with a SIMPLE server that has no Error (${chain.name}, ciphers ${JSON.stringify(chain.ciphers)}, ${chain.minVersion}-${chain.maxVersion})`);
          }
          this.count(`${l.protocol} ${got.handshake ? "handshake" : "no handshake"} ${got.text.slice(0, 12) || "closed"}`, `port ${l.port} SNI ${sni ?? "(none)"}${got.handshake ? "" : " (no handshake)"}`, got.text);
          const p = answerProblem(`port ${l.port} (${l.protocol}) SNI ${sni ?? "(none)"}${got.handshake ? "" : " (no handshake)"}`, got.text, got.closed, got.timedOut);
          if (p !== null) out.push(p);
        }
      }
    }
    try {
      await this.w.stats();
    } catch {
      out.push("the worker does not answer after the traffic");
    }
    for (const line of this.w.logs.slice(from)) if (line.startsWith("error:")) out.push(`worker logged ${line.split("\n").slice(0, 3).join(" | ")}`);
    out.push(...this.crashes.splice(0).map((c) => `worker error event: ${c}`));
    return out;
  }
}

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
import { isIP } from "node:net";
import { makeDelta } from "../../src/snapshot/delta.ts";
import type { FromWorker, ListenerStatus } from "../../src/snapshot/messages.ts";
import type { Cluster, FilterChain, Listener, Snapshot, TlsListener } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { raw, WorkerHarness } from "../workers/harness.ts";
import { freePort } from "../workers/snapshot-fixture.ts";
import { EXTRA_CRLS } from "./config-mutate-kinds.ts";
import { fuzzTlsPki, h2Exchange, h2TlsRequest, pemBodies, tlsRequest, type ClientCert, type FuzzTlsPki } from "./config-worker-tls.ts";

/** How long the worker may take to apply a snapshot (it answers "applied"). */
const APPLY_BOUND_MS = Number(process.env.FUZZ_WORKER_APPLY_MS ?? 15000);

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
export function longByConfig(s: Snapshot, l: Listener, host: string, request: string, sni?: string): string {
  const [line, ...rest] = request.split("\r\n");
  const [method, path] = line!.split(" ");
  const headers: Record<string, string> = {};
  for (const h of rest) if (h.includes(":")) headers[h.slice(0, h.indexOf(":")).toLowerCase()] = h.slice(h.indexOf(":") + 1).trim();
  const t = trace(s, { port: l.port, host, path: path!, method: method!, headers, ...(sni !== undefined ? { sni } : {}) });
  // a TLS port's virtual hosts are its chains' (the one the SNI picked)
  const tables = [l.routeTable, ...(l.tls?.chains.map((c) => c.routeTable) ?? [])];
  const vh = tables.flatMap((rt) => rt?.virtualHosts ?? []).find((v) => v.name === t.virtualHost);
  const route = vh?.routes[t.routeIndex];
  if (route === undefined) return "";
  const bounded = route.timeoutMs > 0 && route.timeoutMs < BOUND_MS;
  if (!bounded && (route.fault?.delayMs ?? 0) > 0 && (route.fault?.delayPerMillion ?? 0) > 0) return `fault delay ${route.fault!.delayMs} ms`;
  if (!bounded && route.retry != null && route.retry.numRetries > 10) return `${route.retry.numRetries} retries`;
  return "";
}

/** An HTTP/2 request with prior knowledge (h2c) on `port`: the `:status` it got, "closed" (a reset or a GOAWAY), or null within the bound. */
function h2Request(port: number, host: string): Promise<string | null> {
  const headers = { ":method": "POST", ":path": "/status/503?h2=1", ":authority": host, "content-type": "application/grpc", te: "trailers", "x-who": "a" };
  return h2Exchange(`http://127.0.0.1:${port}`, {}, headers, Buffer.from([0, 0, 0, 0, 0]), BOUND_MS);
}

/**
 * Whether `chain` verifies clients with a CA bundle that holds the demo CA and
 * nothing narrower (SANs, hashes, a CRL, a trust domain): the demo client
 * certificate must then get through.
 */
function trustsDemoCa(s: Snapshot, chain: FilterChain, pki: FuzzTlsPki): boolean {
  if (chain.mode !== "MUTUAL" && chain.mode !== "OPTIONAL_MUTUAL") return false;
  if (chain.subjectAltNames.length > 0 || (chain.verifyHashes?.length ?? 0) > 0 || (chain.verifySpki?.length ?? 0) > 0 || chain.crl !== undefined || chain.trustDomain !== undefined) return false;
  const ca = s.credentials.get(chain.clientCa ?? chain.credential);
  if (ca === undefined || ca.crl !== undefined) return false;
  const demo = pemBodies(pki.demoCa)[0]!;
  return pemBodies(ca.caCert).includes(demo);
}

/** Whether `chain` checks client certificates against a revocation list that names the demo client's (EXTRA_CRLS[0], config-fuzz-pki.ts). */
function revokesDemoClient(s: Snapshot, chain: FilterChain): boolean {
  if ((chain.mode !== "MUTUAL" && chain.mode !== "OPTIONAL_MUTUAL") || EXTRA_CRLS[0] === undefined) return false;
  const crl = chain.crl ?? s.credentials.get(chain.clientCa ?? chain.credential)?.crl;
  const body = (pem: string) => pem.replace(/-----[A-Z0-9 ]+-----|\s/g, "");
  return crl !== undefined && body(crl).includes(body(EXTRA_CRLS[0]));
}

/** Listeners of one snapshot bound and sent traffic (a semantic mutation adds up to 24 servers on ports of their own). */
const MAX_LISTENERS = 40;

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
  /** backendHits when the last case's traffic ended; requests the backends got after it, before the next case began (late retries, mirrors). */
  private hitsAtEnd = -1;
  strayHits = 0;
  /** A span collector (Zipkin / OTLP over HTTP): a tracer's cluster and address point here; reports it got, over all cases. */
  private readonly collector: ReturnType<typeof Bun.serve>;
  spanReports = 0;

  /** The last case's requests and the first line each got (compare two applies of one snapshot). */
  transcript: string[] = [];

  private count(key: string, what: string, text: string): void {
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    this.transcript.push(`${what} -> ${text.split("\r\n")[0] || "closed"}`);
  }

  /** The TLS backend PASSTHROUGH routes reach (nginx.example.com of the demo PKI): a client must see its certificate, never the gateway's. */
  private tlsBackend: ReturnType<typeof Bun.serve> | null = null;
  private pki: FuzzTlsPki | null = null;

  constructor() {
    this.w = new WorkerHarness();
    this.w.worker.addEventListener("error", (e) => this.crashes.push(String((e as ErrorEvent).message ?? e)));
    // req.url is not absolute when the Host the gateway sent is no host (a header operation set `host` to "" or "a\u00e9b"): the path by text
    const five = (url: string) => url.includes("/status/5");
    this.backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (this.backendHits++, new Response(five(req.url) ? "no" : "ok", { status: five(req.url) ? 503 : 200 })) });
    this.resetter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s) => void s.end() } });
    this.collector = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (this.spanReports++, new Response(null, { status: 202 })) });
  }

  /** The client certificates and the TLS backend (made once, before the first case). */
  private async ready(): Promise<FuzzTlsPki> {
    if (this.pki === null) {
      this.pki = await fuzzTlsPki();
      this.tlsBackend = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert: this.pki.backend.cert, key: this.pki.backend.key }, fetch: () => (this.backendHits++, new Response("tls backend")) });
    }
    return this.pki;
  }

  stop(): void {
    this.w.stop();
    this.backend.stop(true);
    this.resetter.stop(true);
    this.tlsBackend?.stop(true);
    this.collector.stop(true);
  }

  /**
   * `s` with its listeners on loopback (at most MAX_LISTENERS) and its endpoints at
   * the local backends: a PASSTHROUGH route's at the TLS backend, the others at
   * the HTTP one, one in three at the resetter. Route tables shared, as the
   * primary keeps them.
   */
  private local(s: Snapshot): Snapshot {
    let i = 0;
    const passthrough = new Set<string>();
    for (const l of s.listeners) for (const c of l.tls?.chains ?? []) if (c.routeTable === null && (c.mode === "PASSTHROUGH" || c.mode === "AUTO_PASSTHROUGH")) for (const r of c.tcpRoutes?.routes ?? []) for (const d of r.destinations) passthrough.add(d.cluster);
    const clusters = new Map<string, Cluster>();
    const tracer = s.tracing?.collector?.cluster ?? "";
    for (const [k, c] of s.clusters) {
      if (k === tracer && c.type !== "ORIGINAL_DST") {
        clusters.set(k, { ...c, endpoints: c.endpoints.map((e) => ({ ...e, address: "127.0.0.1", port: Number(this.collector.port) })) });
        continue;
      }
      // one endpoint in three of each cluster resets: failures to retry, eject, answer 503 for
      const port = () => (passthrough.has(k) ? Number(this.tlsBackend!.port) : i++ % 3 === 2 ? this.resetter.port : Number(this.backend.port));
      // a Unix socket (a ServiceEntry endpoint `unix:///path`) stays as written: local, and no such socket exists
      clusters.set(k, c.type === "ORIGINAL_DST" ? c : { ...c, endpoints: c.endpoints.map((e) => (e.address.startsWith("unix://") ? e : { ...e, address: "127.0.0.1", port: port() })) });
    }
    const listeners = s.listeners.slice(0, MAX_LISTENERS).map((l) => {
      let p = this.ports.get(l.port);
      if (p === undefined) {
        // freePort may give a port again that another Gateway port holds already
        const taken = new Set(this.ports.values());
        do p = freePort();
        while (taken.has(p));
        this.ports.set(l.port, p);
      }
      return { ...l, bindAddress: "127.0.0.1", bindPort: p };
    });
    // a tracer's address (the bootstrap Zipkin's `host:port`, maybe a DNS name) at the collector: spans never leave loopback
    const c = s.tracing?.collector;
    const tracing = s.tracing === undefined || c == null || c.address === "" ? s.tracing : { ...s.tracing, collector: { ...c, address: `127.0.0.1:${this.collector.port}` } };
    return { ...s, version: ++this.version, listeners, clusters, ...(tracing === undefined ? {} : { tracing }) };
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
    if (d !== null) this.deltas++;
    // a bound well above what an apply takes (~10-100 ms) even when the machine is loaded: a worker that never answers is what it catches
    const t0 = performance.now();
    const got = this.w.next<FromWorker>((m) => (m.type === "applied" && m.version === local.version) || m.type === "resync", APPLY_BOUND_MS);
    this.w.worker.postMessage(d === null ? { type: "snapshot", snapshot: local } : { type: "snapshot-delta", delta: d.delta });
    const m = await got;
    const ms = performance.now() - t0;
    if (ms > 2000) this.answers.set("apply took over 2 s", (this.answers.get("apply took over 2 s") ?? 0) + 1);
    if (m.type === "resync") {
      this.prev = null;
      return `the worker asked for a resync after a delta: ${m.reason}`;
    }
    return m.type === "applied" ? m.listeners : [];
  }

  /**
   * A TLS port's traffic: a handshake with no SNI and with names of up to 4
   * chains (a PASSTHROUGH chain's route names too), each followed by an HTTP/1.1
   * GET; on a MUTUAL chain also with the demo CA's client certificate and with
   * an untrusted one; on a chain that terminates HTTP also an HTTP/2 request
   * (ALPN h2). What must hold besides an answer within the bound: a SIMPLE
   * chain without an Error completes its handshake, and so does a MUTUAL one
   * that trusts the demo CA for its client certificate; a MUTUAL chain never
   * answers a client without a certificate its CA signed; a PASSTHROUGH
   * chain's client sees the backend's certificate, never the gateway's.
   */
  private async tlsTraffic(local: Snapshot, l: Listener, tls: TlsListener, pki: FuzzTlsPki, out: string[]): Promise<void> {
    const names = new Set<string | undefined>([undefined]);
    for (const c of tls.chains.slice(0, 4)) {
      for (const n of c.serverNames.slice(0, 2)) names.add(concrete(n));
      for (const r of c.routeTable === null ? (c.tcpRoutes?.routes.slice(0, 3) ?? []) : []) for (const n of r.sniHosts.slice(0, 1)) names.add(concrete(n));
    }
    // an IP address is no server name (RFC 6066): a client sends none
    for (const n of names) if (n !== undefined && isIP(n) !== 0) names.delete(n);
    const h2Done = new Set<number>();
    for (const sni of names) {
      const at = sni === undefined ? -1 : (tls.exactHosts.get(sni) ?? -1);
      const chain: FilterChain | undefined = tls.chains[at];
      const mutual = chain !== undefined && (chain.mode === "MUTUAL" || chain.mode === "OPTIONAL_MUTUAL");
      const clients: [string, ClientCert | undefined][] = mutual ? [["no client certificate", undefined], ["trusted client certificate", pki.trusted], ["untrusted client certificate", pki.untrusted]] : [["", undefined]];
      for (const [who, client] of clients) {
        const what = `port ${l.port} SNI ${sni ?? "(none)"}${who === "" ? "" : ` ${who}`}`;
        const got = await tlsRequest(l.bindPort, sni, sni ?? "x.example.com", BOUND_MS, client);
        this.count(`${l.protocol} ${chain?.mode ?? ""}${who === "" ? "" : ` ${who}`} ${got.handshake ? "handshake" : "no handshake"} ${got.text.slice(0, 12) || "closed"}`, `${what}${got.handshake ? "" : " (no handshake)"}`, got.text);
        const long = got.timedOut && got.handshake ? longByConfig(local, l, sni ?? "x.example.com", `GET / HTTP/1.1\r\nHost: ${sni ?? "x.example.com"}\r\n`, sni) : "";
        const p = long !== "" ? null : answerProblem(`${what} (${l.protocol})${got.handshake ? "" : " (no handshake)"}`, got.text, got.closed, got.timedOut);
        if (p !== null) out.push(p);
        if (chain === undefined) continue;
        // (a terminated server with neither routes nor a tcp route closes its connections: GW0207 says so)
        const served = chain.disabled === "" && chain.credential !== "" && local.credentials.has(chain.credential) && !/TLSv1(\.1)?$/.test(chain.maxVersion) && (chain.routeTable !== null || (chain.tcpRoutes?.routes.length ?? 0) > 0);
        const how = `(${chain.name} ${chain.mode}, ciphers ${JSON.stringify(chain.ciphers)}, ${chain.minVersion}-${chain.maxVersion})`;
        // a server the compile found nothing wrong with completes the handshake (a failure would be silent)
        if (!got.handshake && served && (chain.mode === "SIMPLE" || (client === pki.trusted && trustsDemoCa(local, chain, pki)))) out.push(`${what}: no handshake with a ${chain.mode} server that has no Error ${how}`);
        if (long === "" && got.handshake && client === pki.trusted && trustsDemoCa(local, chain, pki) && chain.routeTable !== null && !STATUS.test(got.text)) out.push(`${what}: no HTTP answer after the handshake with a client certificate the server trusts ${how}`);
        if (!got.handshake && served && chain.mode === "OPTIONAL_MUTUAL" && client === undefined) out.push(`${what}: no handshake without a client certificate with an OPTIONAL_MUTUAL server that has no Error ${how}`);
        // a revocation list that names the client certificate: no answer
        if (client === pki.trusted && revokesDemoClient(local, chain) && STATUS.test(got.text)) out.push(`${what}: a server whose revocation list names the client certificate answered it ${how}: ${got.text.split("\r\n")[0]}`);
        // MUTUAL: a client without a certificate the CA signed gets no answer
        if (chain.mode === "MUTUAL" && chain.acceptUntrusted !== true && client !== pki.trusted && STATUS.test(got.text)) out.push(`${what}: a MUTUAL server answered a client with no certificate its CA signed ${how}: ${got.text.split("\r\n")[0]}`);
        if ((chain.mode === "PASSTHROUGH" || chain.mode === "AUTO_PASSTHROUGH") && got.handshake && got.peer !== "nginx.example.com") out.push(`${what}: a PASSTHROUGH server's client saw the certificate of ${JSON.stringify(got.peer)}, not the backend's`);
        // HTTP/2 over TLS once per chain that terminates HTTP, after a handshake that worked
        if (got.handshake && chain.routeTable !== null && !h2Done.has(at) && (!mutual || client === pki.trusted)) {
          h2Done.add(at);
          const h2 = await h2TlsRequest(l.bindPort, sni, sni!, BOUND_MS, client);
          const long = h2 === null ? longByConfig(local, l, sni!, "GET /get?h2=tls HTTP/1.1\r\nx-who: a\r\nauthorization: Bearer a.b.c\r\n", sni) : "";
          this.count(`HTTP/2 TLS ${long !== "" ? "long by configuration" : (h2 ?? "no answer")}`, `${what} h2 :authority ${sni}`, h2 ?? "no answer");
          if (h2 === null && long === "") out.push(`${what}: HTTP/2 over TLS: no answer within ${BOUND_MS} ms`);
        }
      }
    }
  }

  /** Applies `s` and sends traffic to each of its listeners: the broken invariants. */
  async problems(s: Snapshot): Promise<string[]> {
    const out: string[] = [];
    const pki = await this.ready();
    if (this.hitsAtEnd >= 0) this.strayHits += this.backendHits - this.hitsAtEnd;
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
    for (const st of statuses) {
      if (st.error === "") continue;
      // freePort's port taken by another process on this machine in between: a new one next time, not the worker's fault
      const l = local.listeners.find((x) => x.name === st.name);
      if (/EADDRINUSE|in use by another process/.test(st.error) && !/of this snapshot/.test(st.error) && l !== undefined) {
        this.ports.delete(l.port);
        this.answers.set("port taken by another process", (this.answers.get("port taken by another process") ?? 0) + 1);
        continue;
      }
      out.push(`listener ${st.name} not bound: ${st.error}`);
    }
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
        await this.tlsTraffic(local, l, l.tls, pki, out);
      }
    }
    try {
      await this.w.stats();
    } catch {
      out.push("the worker does not answer after the traffic");
    }
    for (const line of this.w.logs.slice(from)) if (line.startsWith("error:")) out.push(`worker logged ${line.split("\n").slice(0, 3).join(" | ")}`);
    out.push(...this.crashes.splice(0).map((c) => `worker error event: ${c}`));
    this.hitsAtEnd = this.backendHits;
    return out;
  }
}

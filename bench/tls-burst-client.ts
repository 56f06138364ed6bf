// The TLS burst of bench/issue15-memory.sh with every failure classified: opens N
// keep-alive TLS connections to 127.0.0.1:PORT (at most 256 connecting at a time, as
// bench/idle-conns.ts does), sends one GET on each after the handshake, and keeps the
// answered ones open until all have answered or failed. Then prints one summary line
// and, per failure kind, how many and when (ms after that connection's connect began):
//   refused   connectError before TCP connected (ECONNREFUSED, ETIMEDOUT, ...)
//   pre-hs    the connection closed after TCP connected, before the TLS handshake
//   hs-fail   the handshake callback reported failure
//   pre-answer closed after the handshake, before the response head
// Phases of the good ones (ms, median / p99 / max): TCP open, handshake, answered.
// CLIENT=node runs the same load through node:tls (tls.connect) instead of Bun.connect.
// Bounded: 60 s for the whole opening phase, then exits. Loopback only.
// Usage: bun bench/tls-burst-client.ts PORT [n=10000]   (or: node bench/tls-burst-client.ts ...)
const port = Number(process.argv[2]);
const n = Number(process.argv[3] ?? 10_000);
const useNode = process.env.CLIENT === "node" || typeof (globalThis as { Bun?: unknown }).Bun === "undefined";
const request = "GET / HTTP/1.1\r\nHost: bench.local\r\n\r\n";
const keep: unknown[] = [];
type Kind = "refused" | "pre-hs" | "hs-fail" | "pre-answer";
const fails = new Map<string, number[]>();
const tOpen: number[] = [];
const tHs: number[] = [];
const tAns: number[] = [];
let ok = 0;
let failed = 0;
let inFlight = 0;
let started = 0;
const t0 = performance.now();

function fail(kind: Kind, detail: string, since: number): void {
  const key = `${kind} ${detail}`;
  let a = fails.get(key);
  if (a === undefined) fails.set(key, (a = []));
  a.push(performance.now() - since);
  failed++;
  inFlight--;
  pump();
}
function good(): void {
  ok++;
  inFlight--;
  pump();
}

function openBun(): void {
  const start = performance.now();
  let phase = 0; // 0 connecting, 1 open, 2 handshake done, 3 answered/failed
  Bun.connect({
    hostname: "127.0.0.1",
    port,
    tls: { rejectUnauthorized: false },
    socket: {
      open(s) {
        phase = 1;
        tOpen.push(performance.now() - start);
        keep.push(s);
      },
      handshake(s) {
        // success is false for the self-signed certificate too (rejectUnauthorized is off): not a failure
        if (phase >= 2) return;
        phase = 2;
        tHs.push(performance.now() - start);
        s.write(request);
      },
      data(_s, chunk) {
        if (phase === 2 && chunk.includes("\r\n\r\n")) {
          phase = 3;
          tAns.push(performance.now() - start);
          good();
        }
      },
      close(_s, err) {
        if (phase === 3) return;
        const was = phase;
        phase = 3;
        fail(was < 2 ? "pre-hs" : "pre-answer", err ? String((err as { code?: string }).code ?? err) : "closed", start);
      },
      connectError(_s, err) {
        if (phase === 3) return;
        phase = 3;
        fail("refused", String((err as { code?: string }).code ?? err), start);
      },
    },
  }).catch((err: unknown) => {
    if (phase === 3) return;
    phase = 3;
    fail("refused", String((err as { code?: string }).code ?? err), start);
  });
}

let tlsMod: typeof import("node:tls") | null = null;
function openNode(): void {
  const start = performance.now();
  let phase = 0;
  const s = tlsMod!.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  keep.push(s);
  s.on("connect", () => {
    phase = 1;
    tOpen.push(performance.now() - start);
  });
  s.on("secureConnect", () => {
    phase = 2;
    tHs.push(performance.now() - start);
    s.write(request);
  });
  let acc = "";
  s.on("data", (b: Buffer) => {
    if (phase !== 2) return;
    acc += b.toString("latin1");
    if (acc.includes("\r\n\r\n")) {
      phase = 3;
      tAns.push(performance.now() - start);
      good();
    }
  });
  s.on("error", (err: NodeJS.ErrnoException) => {
    if (phase === 3) return;
    const was = phase;
    phase = 3;
    fail(was === 0 ? "refused" : was === 1 ? "pre-hs" : "pre-answer", err.code ?? err.message, start);
  });
  s.on("close", () => {
    if (phase === 3) return;
    const was = phase;
    phase = 3;
    fail(was === 0 ? "refused" : was === 1 ? "pre-hs" : "pre-answer", "closed", start);
  });
}

function q(a: number[], p: number): string {
  if (a.length === 0) return "-";
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(0);
}
function spread(a: number[]): string {
  return `${q(a, 0.5)}/${q(a, 0.99)}/${q(a, 1 - 1e-9)}`;
}

let reported = false;
function report(cut: string): void {
  if (reported) return;
  reported = true;
  const wall = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `ready ${ok} ${failed}${cut} client=${useNode ? "node" : "bun"} wall=${wall}s open=${spread(tOpen)} handshake=${spread(tHs)} answered=${spread(tAns)} ms (median/p99/max)`,
  );
  for (const [k, a] of fails) {
    const s = [...a].sort((x, y) => x - y);
    const at5 = s.filter((x) => x >= 4900 && x <= 5600).length;
    console.log(`  fail ${k}: ${a.length}, at ${s[0]!.toFixed(0)}..${s[s.length - 1]!.toFixed(0)} ms (median ${q(s, 0.5)}; ${at5} within 4.9-5.6 s)`);
  }
  setTimeout(() => process.exit(0), 200);
}

function pump(): void {
  while (started < n && inFlight < 256) {
    started++;
    inFlight++;
    if (useNode) openNode();
    else openBun();
  }
  if (ok + failed === n) report("");
}

setTimeout(() => report(" (opening phase cut at 60 s)"), 60_000).unref?.();
setTimeout(() => process.exit(0), 62_000);
(async () => {
  if (useNode) tlsMod = await import("node:tls");
  pump();
})();
export {}; // a module (its names stay its own)

// In-process A/B of the access log's per-line cost with Istio's default text
// format: `log()` of a fixed record to /dev/null, alternating rounds of two
// implementations (A: a module path given as argument, e.g. main's
// workers/access-log.ts copied beside this one; B: this checkout's).
//   bun bench/access-log-ab.ts ./workers/access-log-old.tmp.ts [rounds=9] [lines=400000]
import { resolve } from "node:path";
import type { AccessRecord } from "../workers/access-log.ts";
import { AccessLog as B } from "../workers/access-log.ts";

const [modA, roundsArg, linesArg] = process.argv.slice(2);
const A = (await import(resolve(modA!))).AccessLog as typeof B;
const rounds = Number(roundsArg ?? 9);
const lines = Number(linesArg ?? 400_000);

const rec: AccessRecord = {
  startMs: Date.now(), method: "GET", logPath: "/status/200", protocol: "HTTP/1.1", status: 200, flags: "-", details: "via_upstream",
  termination: "", transportFailure: "", bytesReceived: 0, bytesSent: 123, durationMs: 1, upstreamServiceTime: 1, xff: "127.0.0.1",
  userAgent: "wrk", requestId: "b46115f2-38b4-48bd-bf34-000000000003", authority: "app.example.com", upstreamHost: "127.0.0.1:8000",
  upstreamCluster: "outbound|80||app.local", upstreamLocal: "127.0.0.1:40000", downstreamLocal: "127.0.0.1:8080", downstreamRemote: "127.0.0.1:50000",
  sni: "", routeName: "app.0",
};

function run(Log: typeof B): number {
  const log = new Log();
  log.configure("/dev/null", "text");
  const t = performance.now();
  for (let i = 0; i < lines; i++) {
    rec.startMs++;
    log.log(rec);
  }
  log.flush();
  const ns = ((performance.now() - t) * 1e6) / lines;
  log.close();
  return ns;
}

const a: number[] = [];
const b: number[] = [];
run(A);
run(B);
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) {
    a.push(run(A));
    b.push(run(B));
  } else {
    b.push(run(B));
    a.push(run(A));
  }
}
const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1]!;
console.log(`ns/line  A ${median(a).toFixed(1)}  B ${median(b).toFixed(1)}  B/A ${(median(b) / median(a)).toFixed(3)}  (medians of ${rounds}; A ${a.map((x) => x.toFixed(0)).join(" ")}; B ${b.map((x) => x.toFixed(0)).join(" ")})`);

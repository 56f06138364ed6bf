// Differential check of the HTTP/1.1 edge: each case's raw bytes go to gangway (a worker on
// loopback) and to nginx (reverse proxy) in front of the same upstream, 2 s per case; prints
// the statuses, whether the server closed, and the time (a hang is ~2000 ms and OPEN).
// A second request ({G}) after a case shows whether the connection was misread.
// Usage: node_modules/.bin/bun bench/h1-diff/diff.ts bench/h1-diff/cases.json   (V=1: the bytes answered; ~2 s per case)
import { WorkerHarness } from "../../test/workers/harness.ts";
import { cluster, dest, forward, freePort, listener, prefix, snapshot, uriMatch, virtualHost } from "../../test/workers/snapshot-fixture.ts";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function framedUpstream(behave: (s: any, req: string) => void) {
  return Bun.listen<{ buf: string }>({ hostname: "127.0.0.1", port: 0, socket: {
    open(s) { s.data = { buf: "" }; },
    data(s, d) {
      s.data.buf += d.toString("latin1");
      for (let guard = 0; guard < 100; guard++) {
        const b = s.data.buf; const he = b.indexOf("\r\n\n".replace("\n\n", "\n\r\n"));
        if (he < 0) return;
        const head = b.slice(0, he + 4);
        const cl = /\r\ncontent-length: *(\d+)/i.exec(head); const ch = /\r\ntransfer-encoding: *chunked/i.test(head);
        let end = he + 4;
        if (ch) { const z = b.indexOf("0\r\n\r\n", end); if (z < 0) return; end = z + 5; }
        else if (cl) { end += Number(cl[1]); if (b.length < end) return; }
        s.data.buf = b.slice(end);
        behave(s, head);
      }
    } } });
}
const up = framedUpstream((s, req) => {
  const path = req.slice(req.indexOf(" ") + 1, req.indexOf(" ", req.indexOf(" ") + 1)).split("?")[0]!;
  const reply: Record<string, string> = {
    "/head-chunked": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
    "/204-chunked": "HTTP/1.1 204 No Content\r\ntransfer-encoding: chunked\r\n\r\n",
    "/304-chunked": "HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n",
    "/204-chunked-body": "HTTP/1.1 204 No Content\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "/head-nolen": "HTTP/1.1 200 OK\r\n\r\n",
    "/chunk-trailer-bad": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nbad trailer\r\n\r\n",
    "/chunk-lf": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\nok\n0\n\n",
    "/chunk-huge": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffffffff\r\nok",
    "/cl-big": "HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\nok",
    "/te-identity": "HTTP/1.1 200 OK\r\ntransfer-encoding: identity\r\ncontent-length: 2\r\n\r\nok",
    "/head-body": "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nEVIL!",
    "/204-cl": "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n",
    "/304-cl": "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n",
    "/100-then": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    "/100-cl": "HTTP/1.1 100 Continue\r\ncontent-length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    "/chunk-bad": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "/chunk-ext": "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;a=b\r\nok\r\n0\r\nx-t: 1\r\n\r\n",
    "/te-chunked-gzip": "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "/close-delim": "HTTP/1.1 200 OK\r\n\r\nbody-until-close",
    "/cl-neg": "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\nok",
    "/cl-plus": "HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\nok",
    "/cl-same": "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nok",
    "/cl-list": "HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\nok",
    "/http10": "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    "/http09": "ok",
    "/space-colon": "HTTP/1.1 200 OK\r\nx-a : b\r\ncontent-length: 2\r\n\r\nok",
    "/no-reason": "HTTP/1.1 200\r\ncontent-length: 2\r\n\r\nok",
    "/status-1xx-only": "HTTP/1.1 199 Weird\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
  };
  if (path === "/short") { s.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"); return void s.end(); }
  if (path === "/short-chunked") { s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"); return void s.end(); }
  if (path === "/close-delim") { s.write(reply[path]!); return void s.end(); }
  if (path === "/hang") return;
  if (path === "/short-then-hang") return void s.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
  if (path === "/chunk-mid-close") { s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab"); return void s.end(); }
  if (path === "/head-close") { s.write("HTTP/1.1 200 OK\r\ncontent-le"); return void s.end(); }
  if (path === "/reset") return void s.terminate();
  if (path === "/http09") { s.write("ok"); return void s.end(); }
  if (path === "/echo") {
    const head = req.slice(0, req.indexOf("\r\n\r\n"));
    return void s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${head.length}\r\n\r\n${head}`);
  }
  s.write(reply[path] ?? "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
});

const w = new WorkerHarness({ streamIdleTimeoutMs: 5000 });
const gport = freePort();
const r = { name: "all", match: [uriMatch(prefix("/"))], action: forward([dest("up")]) };
await w.apply(snapshot([listener(gport, [virtualHost(["a"], [r])])], [cluster("up", [["127.0.0.1", up.port]])]));
const nport = freePort();
const dir = mkdtempSync(join(tmpdir(), "h1-diff-"));
mkdirSync(join(dir, "logs"));
const conf = readFileSync(new URL("nginx.conf", import.meta.url), "utf8").replaceAll("DIR", dir).replace("UPPORT", String(up.port)).replace("NGPORT", String(nport));
writeFileSync(join(dir, "nginx.conf"), conf);
const ng = Bun.spawn(["/usr/sbin/nginx", "-c", join(dir, "nginx.conf"), "-p", dir], { stderr: "inherit" });
await Bun.sleep(500);

const statuses = (t: string) => { const a = [...t.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]); return a.length > 6 ? `${a.length} answers, last ${a[a.length - 1]}` : a.join(","); };
async function send(port: number, parts: string[], ms = 2000, gap = 20) {
  let text = ""; let closed = false; let wake = () => {};
  const t0 = Date.now();
  const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: {
    data: (_s, d) => { text += d.toString("latin1"); wake(); },
    close: () => { closed = true; wake(); }, error: () => {} } });
  for (let i = 0; i < parts.length; i++) { if (i) await Bun.sleep(gap); s.write(parts[i]!); }
  const end = Date.now() + ms;
  while (!closed && Date.now() < end) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
  const took = Date.now() - t0;
  const byServer = closed;
  s.end();
  return { st: statuses(text), closed: byServer, took, text };
}

const G = "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n";
const cases: [string, string[]][] = JSON.parse(readFileSync(process.argv[2]!, "utf8"));
for (const [name, parts0] of cases) {
  const parts = parts0.map((p) => p.replaceAll("{G}", G));
  const [a, b] = await Promise.all([send(gport, parts), send(nport, parts)]);
  const fmt = (x: typeof a) => `${x.st || "-"} ${x.closed ? "closed" : "OPEN"} ${x.took}ms`;
  const same = a.st === b.st && a.closed === b.closed;
  console.log(`${same ? "  " : "!!"} ${name.padEnd(44)} gw: ${fmt(a).padEnd(26)} ng: ${fmt(b)}`);
  if (process.env.V) console.log("GW>>", JSON.stringify(a.text.slice(0, 600)), "\nNG>>", JSON.stringify(b.text.slice(0, 600)));
}
ng.kill(); w.stop(); up.stop(true);
process.exit(0);

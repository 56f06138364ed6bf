// HTTP/2 (h2c, prior knowledge) through gangway and nginx side by side, both
// proxying to one Bun "hello" upstream over HTTP/1.1 keep-alive. The load is a
// node:http2 client in this process: SESSIONS connections, STREAMS requests in
// flight on each, for SECONDS; rounds alternate the two proxies. Loopback only.
// Usage: bun bench/h2-proxy.ts [seconds=5] [sessions=8] [streams=16] [rounds=2]
// Needs nginx (apt-get install -y nginx-light: it has http_v2).
import { mkdtempSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [seconds, sessions, streams, rounds] = [5, 8, 16, 2].map((d, i) => Number(process.argv[2 + i] ?? d));
const BUN = process.execPath;
const UPSTREAM = 18180;
const GANGWAY = 18181;
const NGINX = 18182;

const dir = mkdtempSync(join(tmpdir(), "gangway-h2-bench-"));
writeFileSync(
  join(dir, "nginx.conf"),
  `worker_processes 2;
daemon off;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream hello { server 127.0.0.1:${UPSTREAM}; keepalive 64; }
  server {
    listen 127.0.0.1:${NGINX} http2 reuseport;
    keepalive_requests 100000000;  # else a GOAWAY after 1000 streams per connection
    location / {
      proxy_pass http://hello;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
);
const procs = [
  Bun.spawn([BUN, "bench/http-proxy-upstream.ts", String(UPSTREAM)], { stdout: "ignore" }),
  Bun.spawn([BUN, "bench/http-proxy-gangway.ts", String(GANGWAY), String(UPSTREAM), "2"], { stdout: "ignore" }),
  Bun.spawn(["nginx", "-c", join(dir, "nginx.conf"), "-p", dir + "/"], { stdout: "ignore" }),
];
const stopAll = () => {
  for (const p of procs) p.kill();
};
process.on("exit", stopAll);
await Bun.sleep(1500);

/** Requests answered 200 in `ms`, keeping `streams` in flight on each of `sessions` connections. */
async function load(port: number, ms: number): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  const end = Date.now() + ms;
  const clients = Array.from({ length: sessions }, () => http2.connect(`http://127.0.0.1:${port}`));
  const one = (c: http2.ClientHttp2Session): Promise<void> =>
    new Promise((resolve) => {
      let req: http2.ClientHttp2Stream;
      try {
        req = c.request({ ":path": "/", ":authority": "hello.local" });
      } catch {
        failed++; // the session went away: this lane stops
        return resolve();
      }
      let status = 0;
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", () => {});
      req.on("end", () => {
        if (status === 200) done++;
        else failed++;
        resolve();
      });
      req.on("error", () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const lane = async (c: http2.ClientHttp2Session): Promise<void> => {
    while (Date.now() < end && !c.closed && !c.destroyed) await one(c);
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: streams }, () => lane(c))));
  for (const c of clients) c.close();
  return { done, failed };
}

const rate = (r: { done: number }) => Math.round(r.done / seconds);
console.log(`h2c: ${sessions} connections × ${streams} streams, ${seconds} s per run, ${rounds} rounds`);
for (let round = 1; round <= rounds; round++) {
  await load(NGINX, 1000); // warm-up
  const n = await load(NGINX, seconds * 1000);
  await load(GANGWAY, 1000);
  const g = await load(GANGWAY, seconds * 1000);
  console.log(
    `round ${round}: nginx ${rate(n)} req/s (${n.failed} failed), gangway ${rate(g)} req/s (${g.failed} failed), ratio ${(rate(g) / rate(n)).toFixed(2)}`,
  );
}
stopAll();
process.exit(0);

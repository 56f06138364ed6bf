// Response heads on a TLS connection terminated by Bun's own TLS socket (workers/tls/native.ts)
// are written from the worker's reused scratch buffer, as on plain HTTP/1.1 (response.ts
// writeResponseHead + Downstream.writeCopy): what the TLS socket does not take at once must be
// copied before the buffer is written again. Pipelined proxied responses of mixed sizes to a
// client that reads late (its socket paused until the kernel's buffers are full, so the
// gateway's writes come up short) arrive whole and in order. The data plane runs in this process.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { nativeTlsUpgrades, setNativeTls } from "../../workers/tls/native.ts";
import { pattern } from "./backend.ts";
import { headerOf } from "./harness.ts";
import { startTlsApp, type TlsApp } from "./tls-app-fixture.ts";

let app: TlsApp;

beforeAll(async () => {
  setNativeTls(null);
  app = await startTlsApp();
});

afterAll(() => {
  setNativeTls(null);
  app.stop();
});

/** Sends `n` pipelined GETs of /bytes/<size> on a new TLS connection, reads nothing for 400 ms, then all: the bytes received. */
async function lateReader(sizes: number[], n: number): Promise<Buffer> {
  let reqs = "";
  for (let i = 0; i < n; i++) reqs += `GET /bytes/${sizes[i % sizes.length]} HTTP/1.1\r\nHost: httpbin.example.com\r\n\r\n`;
  const chunks: Buffer[] = [];
  let got = 0;
  let ready!: () => void;
  const secure = new Promise<void>((r) => (ready = r));
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port: app.port,
    tls: { serverName: "httpbin.example.com", ca: app.pki.ca.cert },
    socket: {
      handshake() {
        ready();
      },
      data(_s, d) {
        chunks.push(Buffer.from(d));
        got += d.length;
      },
    },
  });
  await secure;
  s.pause();
  s.write(reqs);
  await Bun.sleep(400); // the kernel's buffers fill: the gateway's writes come up short
  s.resume();
  // until nothing more comes for 500 ms (20 s at most)
  for (let last = -1, t = Date.now(); got !== last && Date.now() - t < 20_000; ) {
    last = got;
    await Bun.sleep(500);
  }
  s.terminate();
  return Buffer.concat(chunks);
}

test("pipelined proxied responses to TLS clients that read late arrive whole and in order (heads written past a full socket)", async () => {
  const sizes = [13, 20_000, 60_000, 65_536, 100_000, 1, 0, 300];
  const n = 320;
  const upgrades = nativeTlsUpgrades();
  // two clients at once: a head one could not take waits while the other's heads are made in the same scratch buffer
  const both = await Promise.all([lateReader(sizes, n), lateReader(sizes.slice().reverse(), n)]);
  expect(nativeTlsUpgrades()).toBe(upgrades + 2); // Bun's TLS socket, not the node:tls bridge
  for (const [c, all] of both.entries()) {
    const sz = c === 0 ? sizes : sizes.slice().reverse();
    let off = 0;
    for (let i = 0; i < n; i++) {
      const size = sz[i % sz.length]!;
      const he = all.indexOf("\r\n\r\n", off);
      expect([c, i, he > 0]).toEqual([c, i, true]);
      const head = all.toString("latin1", off, he);
      expect([c, i, head.slice(0, 15)]).toEqual([c, i, "HTTP/1.1 200 OK"]);
      expect([c, i, Number(headerOf(head + "\r\n\r\n", "content-length"))]).toEqual([c, i, size]);
      const body = all.subarray(he + 4, he + 4 + size);
      expect([c, i, body.equals(Buffer.from(pattern(size)))]).toEqual([c, i, true]);
      off = he + 4 + size;
    }
    expect([c, off]).toEqual([c, all.length]);
  }
}, 60_000);

// HTTP filter chains are terminated by Bun's own TLS (workers/tls/native.ts: the peeked socket
// upgraded in place with upgradeTLS({ initialData })) and behave as over the node:tls bridge
// (bridge.ts): the same probes (HTTP/1.1 and HTTP/2 requests, ALPN chosen per connection on one
// shared SecureContext, MUTUAL with a trusted, an untrusted and no client certificate, the
// x-forwarded-client-cert sent upstream) give the same answers on both paths, and the native
// path is the one taken for SIMPLE chains (chains asking for a client certificate keep the
// bridge: listener.ts). The data plane runs in this process.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Server } from "bun";
import * as http2 from "node:http2";
import { connect, type ConnectionOptions } from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { setPost, startClock } from "../../workers/context.ts";
import { applyClusters } from "../../workers/http/clusters.ts";
import { abortAll, applyListeners, stopAll } from "../../workers/listeners.ts";
import { nativeTlsUpgrades, setNativeTls } from "../../workers/tls/native.ts";
import { httpbinHttpsApp } from "../helpers/config.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { startBackend } from "./backend.ts";
import { freePort } from "./snapshot-fixture.ts";

let pki: WalkthroughPki;
let backend: Server<undefined>;
const simplePort = freePort();
const mutualPort = freePort();

beforeAll(async () => {
  pki = await walkthroughPki();
  backend = startBackend("a");
  setPost(() => {});
  startClock();
  const yaml = [
    httpbinHttpsApp([
      [443, "https", "SIMPLE", "app-credential"],
      [8443, "https-mtls", "MUTUAL", "mtls-credential"],
    ], backend.port!),
    secretYaml("app-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
    secretYaml("mtls-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key, pki.ca.cert),
  ].join("\n---\n");
  applyListeners(applyClusters(compileYaml(yaml, { portMap: new Map([[443, simplePort], [8443, mutualPort]]), bindAddress: "127.0.0.1" })));
});

afterAll(() => {
  setNativeTls(null);
  abortAll();
  stopAll();
  backend.stop(true);
});

/** One HTTP/1.1 GET on a new TLS connection offering `alpn`: "<alpn> <status> <x-forwarded-client-cert subject>" or "closed". */
function h1(port: number, alpn: string[] | undefined, client?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    const opts: ConnectionOptions = { host: "127.0.0.1", port, servername: "httpbin.example.com", ca: pki.ca.cert, ALPNProtocols: alpn, ...client };
    const s = connect(opts);
    let got = "";
    let done = false;
    const finish = (v: string) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(v);
    };
    s.setTimeout(5000, () => finish("timeout"));
    s.on("secureConnect", () => s.write("GET /echo HTTP/1.1\r\nHost: httpbin.example.com\r\nConnection: close\r\n\r\n"));
    s.on("data", (b: Buffer) => (got += b.toString("latin1")));
    s.on("error", () => finish(got === "" ? "closed" : "error"));
    s.on("close", () => {
      if (got === "") return finish("closed");
      const status = /^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? "?";
      const body = got.slice(got.indexOf("\r\n\r\n") + 4);
      let xfcc = "-";
      try {
        const h = JSON.parse(body.slice(body.indexOf("{"), body.lastIndexOf("}") + 1)).headers as Record<string, string>;
        xfcc = /Subject="([^"]*)"/.exec(h["x-forwarded-client-cert"] ?? "")?.[1] ?? "-";
      } catch {}
      finish(`${s.alpnProtocol || "none"} ${status} ${xfcc}`);
    });
  });
}

/** One HTTP/2 GET (ALPN h2): "<status> <backend>". */
function h2(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = http2.connect(`https://127.0.0.1:${port}`, { servername: "httpbin.example.com", ca: pki.ca.cert });
    c.on("error", () => resolve("error"));
    const r = c.request({ ":path": "/echo", ":authority": "httpbin.example.com" });
    let body = "";
    let status = 0;
    r.on("response", (h) => (status = Number(h[":status"])));
    r.setEncoding("latin1");
    r.on("data", (d: string) => (body += d));
    r.on("end", () => {
      c.close();
      resolve(`${status} ${JSON.parse(body).backend}`);
    });
    r.on("error", () => resolve("error"));
  });
}

async function probes(): Promise<string[]> {
  const out: string[] = [];
  // ALPN is chosen per connection although every connection of a chain shares one SecureContext
  for (const alpn of [["http/1.1"], ["h2", "http/1.1"], undefined, ["foo", "http/1.1"], ["http/1.1"]]) out.push(await h1(simplePort, alpn));
  out.push(await h2(simplePort));
  out.push(await h2(simplePort));
  const client = { cert: pki.client.cert, key: pki.client.key };
  const other = { cert: pki.otherClient.cert, key: pki.otherClient.key };
  out.push(await h1(mutualPort, ["http/1.1"], client));
  out.push(await h1(mutualPort, ["http/1.1"])); // no certificate
  out.push(await h1(mutualPort, ["http/1.1"], other)); // not signed by the chain's CA
  out.push(await h1(mutualPort, ["http/1.1"], client));
  return out;
}

test("terminated connections run on Bun's TLS socket and answer as over the bridge", async () => {
  setNativeTls(false);
  const before = nativeTlsUpgrades();
  const bridge = await probes();
  expect(nativeTlsUpgrades()).toBe(before);
  setNativeTls(true);
  const native = await probes();
  // the SIMPLE chain's 7 connections; the MUTUAL chain's stay on the bridge (a refused certificate fails the handshake there)
  expect(nativeTlsUpgrades() - before).toBe(7);
  expect(native).toEqual(bridge);
  // and what that is
  expect(native[0]).toBe("http/1.1 200 -");
  expect(native[1]).toBe("h2 200 -"); // h2 chosen, HTTP/1.1 spoken: served as HTTP/1.1 (no preface)
  expect(native[2]).toBe("none 200 -");
  expect(native[3]).toBe("http/1.1 200 -");
  expect(native[5]).toBe("200 a");
  expect(native[7]).toMatch(/^http\/1\.1 200 .*client\.example\.com/);
  expect(native[8]).toBe("closed");
  expect(native[9]).toBe("closed");
});

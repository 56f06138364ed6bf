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
import { GOAWAY, HEADERS, PREFACE, SETTINGS, frame, headers } from "./edge/h2-raw.ts";
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
      const status = /^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? "not-http1";
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
  expect(native[1]).toBe("h2 not-http1 -"); // h2 chosen, HTTP/1.1 spoken: refused by the HTTP/2 codec (the ALPN test below)
  expect(native[2]).toBe("none 200 -");
  expect(native[3]).toBe("http/1.1 200 -");
  expect(native[5]).toBe("200 a");
  expect(native[7]).toMatch(/^http\/1\.1 200 .*client\.example\.com/);
  expect(native[8]).toBe("closed");
  expect(native[9]).toBe("closed");
});

/**
 * Raw bytes on a new TLS connection offering `alpn`, read until the gateway closes or answers
 * (an HTTP/1.1 status line, or HEADERS on stream 1), 3 s at most: "<agreed> <what came>", what
 * came being the HTTP/1.1 status line or the HTTP/2 frame types in order up to the first HEADERS
 * (GOAWAY with its code; WINDOW_UPDATEs left out), then "closed" or "open".
 */
function rawTls(alpn: string[] | undefined, payload: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port: simplePort, servername: "httpbin.example.com", ca: pki.ca.cert, ALPNProtocols: alpn });
    let got = Buffer.alloc(0);
    let done = false;
    const describe = (): string => {
      const text = got.toString("latin1");
      if (text.startsWith("HTTP/")) return text.slice(0, text.indexOf("\r\n"));
      const kinds: string[] = [];
      for (let p = 0; p + 9 <= got.length; p += 9 + got.readUIntBE(p, 3)) {
        const type = got[p + 3]!;
        kinds.push(type === GOAWAY && p + 17 <= got.length ? `GOAWAY(${got.readUInt32BE(p + 13)})` : type === HEADERS ? "HEADERS" : type === SETTINGS ? "SETTINGS" : `type${type}`);
        if (type === HEADERS) break; // the answer began (what follows may or may not have come yet)
      }
      return kinds.filter((k) => k !== "type8").join(" ") || "nothing";
    };
    const finish = (how: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(`${s.alpnProtocol || "none"} ${describe()} ${how}`);
      s.destroy();
    };
    const timer = setTimeout(() => finish("open"), 3000);
    s.on("secureConnect", () => s.write(payload));
    s.on("data", (b: Buffer) => {
      got = Buffer.concat([got, b]);
      if (describe().includes("HEADERS")) finish("open");
    });
    s.on("error", () => finish("closed"));
    s.on("close", () => finish("closed"));
  });
}

test("the protocol ALPN agreed decides HTTP/2 or HTTP/1.1 (Envoy's codec choice), on both TLS paths; only a connection that agreed none is told by its first bytes", async () => {
  const get = Buffer.from("GET /echo HTTP/1.1\r\nHost: httpbin.example.com\r\nConnection: close\r\n\r\n", "latin1");
  const fields: [string, string][] = [[":method", "GET"], [":scheme", "https"], [":path", "/echo"], [":authority", "httpbin.example.com"]];
  const h2 = Buffer.concat([Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0), headers(1, fields)]);
  const cases: [string[] | undefined, Buffer][] = [
    [["h2"], get],
    [["h2", "http/1.1"], get],
    [["h2"], Buffer.concat([Buffer.from("\r\n"), h2])],
    [["http/1.1"], h2],
    [["http/1.1"], Buffer.from("PRI * HTTP/2.0\r\n\r\n", "latin1")],
    [["h2"], h2],
    [undefined, h2],
    [["foo"], h2],
    [["http/1.1"], get],
  ];
  const run = async () => {
    const out: string[] = [];
    for (const [alpn, payload] of cases) out.push(await rawTls(alpn, payload));
    return out;
  };
  const want = [
    // h2 agreed, HTTP/1.1 spoken: the server preface, then GOAWAY PROTOCOL_ERROR (nginx the same; Envoy closes without a frame)
    "h2 SETTINGS GOAWAY(1) closed",
    "h2 SETTINGS GOAWAY(1) closed",
    "h2 SETTINGS GOAWAY(1) closed", // no CRLF is skipped before an HTTP/2 preface
    // http/1.1 agreed, the HTTP/2 preface sent: 400 and closed, as Envoy (no method PRI) and nginx answer
    "http/1.1 HTTP/1.1 400 Bad Request closed",
    "http/1.1 HTTP/1.1 400 Bad Request closed",
    "h2 SETTINGS SETTINGS HEADERS open",
    // no protocol agreed: the preface tells (Envoy sniffs it too)
    "none SETTINGS SETTINGS HEADERS open",
    "none SETTINGS SETTINGS HEADERS open",
    "http/1.1 HTTP/1.1 200 OK closed",
  ];
  setNativeTls(false);
  expect(await run()).toEqual(want);
  setNativeTls(true);
  expect(await run()).toEqual(want);
}, 20_000);

// Issue 13 B6: the Host / :authority must be a valid authority (reg-name or IP
// literal, numeric port ≤ 65535, at most 255 characters of host), else 400, on
// HTTP/1.1 and HTTP/2; a redirect can then never echo `a.example.com:@evil.com`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { headerOf, raw, WorkerHarness } from "./harness.ts";
import { startRawUpstream } from "./raw-upstream.ts";
import { applyRoutesOnFreePort } from "./apply-config.ts";
import { cluster, dest, exact, forward, uriMatch } from "./snapshot-fixture.ts";

const upstream = startRawUpstream();
let w: WorkerHarness;
let port = 0;

beforeAll(async () => {
  w = new WorkerHarness();
  port = await applyRoutesOnFreePort(
    w,
    [
      { name: "moved", match: [uriMatch(exact("/old"))], action: { kind: "redirect", status: 301, scheme: null, authority: null, port: 0, uri: "/new" } },
      { name: "rest", action: forward([dest("up")]) },
    ],
    [cluster("up", [["127.0.0.1", upstream.port]])],
  );
});

afterAll(() => {
  w.stop();
  upstream.server.stop(true);
});

async function h1(host: string, target = "/"): Promise<string> {
  return (await raw(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).text;
}

const BAD = ["a b.example.com", "a.example.com/x", "a\\b", "a.example.com:@evil.com", "user@a.example.com", "h:80:90", "h:65536", "h:8o", "a".repeat(300), "x".repeat(50_000), "[::1", "[zz::1]"];

describe("HTTP/1.1: a bad Host is 400, nothing reaches the upstream", () => {
  for (const host of BAD) {
    test(JSON.stringify(host.length > 30 ? `${host.slice(0, 10)}…(${host.length})` : host), async () => {
      const before = upstream.lines.length;
      const text = await h1(host);
      expect(text.slice(0, 12)).toBe("HTTP/1.1 400");
      expect(upstream.lines.length).toBe(before);
    });
  }
  test("absolute-form target: its authority is checked too", async () => {
    const text = (await raw(port, "GET http://a.example.com:@evil.com/old HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n")).text;
    expect(text.slice(0, 12)).toBe("HTTP/1.1 400");
  });
});

describe("HTTP/1.1: valid authorities pass", () => {
  for (const host of ["a.example.com", "A.Example.com:8080", "127.0.0.1:80", "[::1]:8443", "a.example.com."]) {
    test(host, async () => expect((await h1(host)).slice(0, 12)).toBe("HTTP/1.1 200"));
  }
  test("a redirect keeps the (valid) host and port", async () => {
    const text = await h1("a.example.com:8080", "/old");
    expect(text.slice(0, 12)).toBe("HTTP/1.1 301");
    expect(headerOf(text, "location")).toBe("http://a.example.com:8080/new");
  });
});

/** Status, or "reset" when the stream is reset as malformed (nghttp2 checks some :authority characters itself, as in Envoy). */
function h2(authority: string, path = "/"): Promise<number | "reset"> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on("error", reject);
    const req = client.request({ ":path": path, ":authority": authority });
    req.on("response", (h) => {
      resolve(Number(h[":status"]));
      client.close();
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      client.close();
      if (e.code === "ERR_HTTP2_STREAM_ERROR") resolve("reset");
      else reject(e);
    });
    req.end();
  });
}

describe("HTTP/2 (h2c): a bad :authority is 400 (or a malformed-stream reset), never routed", () => {
  for (const authority of ["a.example.com:@evil.com", "h:80:90", "a b", "h:99999", "x".repeat(1000)]) {
    test(JSON.stringify(authority.slice(0, 30)), async () => {
      const before = upstream.lines.length;
      expect([400, "reset"]).toContain(await h2(authority));
      expect(upstream.lines.length).toBe(before);
    });
  }
  test("the ones nghttp2 lets through are answered 400 by gangway", async () => {
    expect(await h2("h:80:90")).toBe(400);
    expect(await h2("x".repeat(1000))).toBe(400);
  });
  test("a valid one is routed", async () => {
    expect(await h2("a.example.com:8080")).toBe(200);
    expect(await h2("a.example.com", "/%6fld")).toBe(301); // the path is normalized on HTTP/2 too
  });
});

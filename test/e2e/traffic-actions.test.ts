// Route actions through the real gateway process: direct responses (one
// content-type, binary bodies intact), redirects (a scheme change keeps a
// non-default port, prefixRewrite), uriRegexRewrite, destination headers of a
// weighted split, and the authority match against the Host as sent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { gatewayWith, startTrafficBackend, staticService, type TrafficBackend } from "../helpers/traffic-backends.ts";
import { raw } from "../workers/harness.ts";
import http2 from "node:http2";

const BINARY = Buffer.from([0, 1, 0xfe, 0xff, 0x80, 0xc3, 0x28, 0x0a]);
let app: TrafficBackend;
let gw: GatewayProcess;

beforeAll(async () => {
  app = startTrafficBackend("app");
  const config = writeTree({
    "config.yaml":
      staticService("app", [app.port]) +
      gatewayWith(`  - match: [{uri: {exact: /json}}]
    headers: {response: {set: {content-type: application/json}}}
    directResponse: {status: 200, body: {string: '{"ok":true}'}}
  - match: [{uri: {exact: /bin}}]
    directResponse: {status: 200, body: {bytes: ${BINARY.toString("base64")}}}
  - match: [{uri: {prefix: /secure}}]
    redirect: {scheme: https}
  - match: [{uri: {prefix: /v1/}}]
    redirect: {prefixRewrite: /v2/, redirectCode: 308}
  - match: [{uri: {prefix: /service/}}]
    rewrite: {uriRegexRewrite: {match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1'}}
    route: [{destination: {host: app.test}}]
  - match: [{uri: {prefix: /split}}]
    route:
    - destination: {host: app.test}
      weight: 100
      headers: {request: {set: {x-dest: one}}, response: {add: {x-dest-resp: one}}}
    - destination: {host: app.test}
      weight: 0
  - match: [{uri: {exact: /utf8-empty}}]
    headers: {response: {set: {x-city: "Zürich"}, add: {x-jp: "日本"}}}
    directResponse: {status: 204}
  - match: [{uri: {exact: /utf8-body}}]
    headers: {response: {set: {x-city: "Zürich"}, add: {x-jp: "日本"}}}
    directResponse: {status: 200, body: {string: "ok"}}
  - match: [{uri: {exact: /utf8-bytes}}]
    headers: {response: {set: {x-city: "Zürich"}, add: {x-jp: "日本"}}}
    directResponse: {status: 200, body: {bytes: ${BINARY.toString("base64")}}}
  - match: [{uri: {prefix: /utf8-proxy}}]
    headers: {response: {set: {x-city: "Zürich"}, add: {x-jp: "日本"}}}
    route: [{destination: {host: app.test}}]
  - match: [{authority: {exact: "Shop.Example.com:8080"}}]
    directResponse: {status: 202}
  - match: [{headers: {":authority": {exact: "shop.example.com:8081"}}}]
    directResponse: {status: 203}`),
  });
  gw = await startGateway({ configDirs: [config] });
});

afterAll(async () => {
  expect(await gw.stop()).toBe(0);
  app.stop();
});

function request(path: string, host = "shop.example.com"): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}

async function rawGet(path: string, host?: string) {
  return raw(gw.ports.get(80)!, request(path, host));
}

describe("direct responses", () => {
  test("a route's own content-type is sent once, instead of text/plain", async () => {
    const r = await rawGet("/json");
    const ct = r.text.split("\r\n").filter((l) => l.toLowerCase().startsWith("content-type:"));
    expect(ct).toEqual(["content-type: application/json"]);
    expect(r.text.endsWith('{"ok":true}')).toBe(true);
  });

  test("body.bytes arrives byte for byte", async () => {
    const r = await rawGet("/bin");
    const at = r.bytes.indexOf("\r\n\r\n");
    expect([...r.bytes.subarray(at + 4)]).toEqual([...BINARY]);
    expect(r.text).toContain(`content-length: ${BINARY.length}`);
  });
});

describe("configured response header values beyond ASCII", () => {
  // UTF-8 on every path (as the request side sends them): Zürich's ü is C3 BC, never a latin1 FC
  for (const path of ["/utf8-empty", "/utf8-body", "/utf8-bytes", "/utf8-proxy"]) {
    test(`${path}: UTF-8 bytes, framing intact`, async () => {
      const r = await rawGet(path);
      const at = r.bytes.indexOf("\r\n\r\n");
      const head = r.bytes.subarray(0, at + 4);
      expect(head.includes(Buffer.from("x-city: Zürich\r\n", "utf8"))).toBe(true);
      expect(head.includes(Buffer.from("x-jp: 日本\r\n", "utf8"))).toBe(true);
      expect(head.includes(Buffer.from([0xfc]))).toBe(false);
      const len = /content-length: (\d+)/i.exec(head.toString("latin1"));
      if (len !== null) expect(r.bytes.length - at - 4).toBe(Number(len[1]));
    });
  }
});

describe("configured response header values beyond ASCII over h2c", () => {
  for (const path of ["/utf8-empty", "/utf8-body", "/utf8-proxy"]) {
    test(`${path}: UTF-8 bytes on the wire`, async () => {
      const c = http2.connect(`http://127.0.0.1:${gw.ports.get(80)!}`);
      try {
        const h = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const r = c.request({ ":path": path, ":authority": "shop.example.com" });
          r.on("response", resolve);
          r.on("error", reject);
          r.resume();
        });
        // the client reads each field byte as one char (latin1): the bytes are UTF-8's
        expect(Buffer.from(String(h["x-city"]), "latin1").toString("utf8")).toBe("Zürich");
        expect(Buffer.from(String(h["x-jp"]), "latin1").toString("utf8")).toBe("日本");
      } finally {
        c.close();
      }
    });
  }
});

describe("redirects", () => {
  test("a scheme change keeps a non-default port (Envoy's newUri)", async () => {
    const r = await rawGet("/secure/x?q=1", "shop.example.com:8080");
    expect(r.text.startsWith("HTTP/1.1 301")).toBe(true);
    expect(r.text).toContain("location: https://shop.example.com:8080/secure/x?q=1\r\n");
  });

  test("the default port of the old scheme is dropped", async () => {
    const r = await rawGet("/secure/x", "shop.example.com:80");
    expect(r.text).toContain("location: https://shop.example.com/secure/x\r\n");
  });

  test("prefixRewrite replaces the matched prefix; redirectCode 308", async () => {
    const r = await rawGet("/v1/users?page=2");
    expect(r.text.startsWith("HTTP/1.1 308")).toBe(true);
    expect(r.text).toContain("location: http://shop.example.com/v2/users?page=2\r\n");
  });
});

describe("forwarding", () => {
  test("uriRegexRewrite: the backend gets the rewritten path, the query kept", async () => {
    const r = await fetch(gw.url(80, "/service/foo/v1/api?x=1"), { headers: { host: "shop.example.com" } });
    const j = (await r.json()) as { path: string; headers: Record<string, string> };
    expect(j.path).toBe("/v1/api/instance/foo?x=1");
    expect(j.headers["x-envoy-original-path"]).toBe("/service/foo/v1/api?x=1");
  });

  test("headers of one destination of a weighted split apply when it is picked", async () => {
    const r = await fetch(gw.url(80, "/split"), { headers: { host: "shop.example.com" } });
    const j = (await r.json()) as { headers: Record<string, string> };
    expect(j.headers["x-dest"]).toBe("one");
    expect(r.headers.get("x-dest-resp")).toBe("one");
  });

  test("authority match compares the Host as sent (port and case kept)", async () => {
    expect((await rawGet("/any", "Shop.Example.com:8080")).text.startsWith("HTTP/1.1 202")).toBe(true);
    expect((await rawGet("/any", "shop.example.com:8080")).text.startsWith("HTTP/1.1 202")).toBe(false);
  });

  test("a trailing dot on the host is no way past an authority match: the virtual host was chosen without it", async () => {
    // `Host: shop.example.com.` is routed to shop.example.com's routes; compared as sent, it skipped a
    // route matching that authority (a 403 guarding a path, say) and fell to the next one
    expect((await rawGet("/any", "Shop.Example.com.:8080")).text.startsWith("HTTP/1.1 202")).toBe(true);
    expect((await rawGet("/any", "shop.example.com.:8081")).text.startsWith("HTTP/1.1 203")).toBe(true);
    expect((await rawGet("/any", "shop.example.com:8081")).text.startsWith("HTTP/1.1 203")).toBe(true);
    expect((await rawGet("/any", "shop.example.com..:8081")).text.startsWith("HTTP/1.1 203")).toBe(false);
    const c = http2.connect(`http://127.0.0.1:${gw.ports.get(80)!}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const r = c.request({ ":path": "/any", ":authority": "Shop.Example.com.:8080" });
        r.on("response", (h) => resolve(Number(h[":status"])));
        r.on("error", reject);
        r.resume();
      });
      expect(status).toBe(202);
    } finally {
      c.close();
    }
  });
});

// Header fields named like JavaScript object members (`__proto__`,
// `constructor`, `toString`) cross the HTTP/2 paths as ordinary fields: the
// header objects made from wire names have no prototype (field-map.ts), so such
// a name neither replaces the object's prototype (whose array elements then
// went upstream as fields `0` and `1`) nor reads Object.prototype's members
// (`constructor: function Array() ...` went upstream).
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

/** An h2c upstream answering with the request's fields as JSON (names of a null-prototype object). */
const h2up = http2.createServer();
h2up.on("stream", (st: http2.ServerHttp2Stream, h) => {
  st.on("error", () => {});
  st.respond({ ":status": 200 });
  st.end(JSON.stringify(Object.entries(h)));
});
/** An HTTP/1.1 upstream whose response carries the awkward names. */
const h1up = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(s) {
      s.write("HTTP/1.1 200 OK\r\n__proto__: p\r\nconstructor: c\r\ntoString: t\r\ncontent-length: 2\r\n\r\nok");
    },
  },
});

let w: WorkerHarness;
let gw = 0;

beforeAll(async () => {
  await new Promise<void>((r) => h2up.listen(0, "127.0.0.1", r));
  const h2port = (h2up.address() as { port: number }).port;
  gw = freePort();
  const entry = (name: string, protocol: string, targetPort: number) => loopbackServiceEntry({ name, host: `${name}.internal`, port: 8080, targetPort, portName: "p", protocol });
  const routes = `  - match: [{uri: {prefix: /h1up}}]
    route: [{destination: {host: h1.internal, port: {number: 8080}}}]
  - route: [{destination: {host: h2.internal, port: {number: 8080}}}]
`;
  const yaml = `${gatewayWithRoutes(routes)}${entry("h2", "HTTP2", h2port)}${entry("h1", "HTTP", h1up.port)}`;
  w = new WorkerHarness();
  await w.apply(compileYaml(yaml, { portMap: new Map([[80, gw]]), bindAddress: "127.0.0.1" }));
});

afterAll(() => {
  w.stop();
  h2up.close();
  h1up.stop(true);
});

/** The fields the h2 upstream saw, minus the pseudo-headers and the ones the gateway adds. */
function seenFields(body: string): [string, string][] {
  return (JSON.parse(body) as [string, string][]).filter(([n]) => n[0] !== ":" && !n.startsWith("x-") && n !== "user-agent" && n !== "accept");
}

test("HTTP/1.1 client → HTTP/2 upstream: __proto__ and constructor arrive as fields, nothing else appears", async () => {
  const r = await raw(gw, "GET / HTTP/1.1\r\nHost: example.com\r\n__proto__: x\r\nconstructor: c\r\ntoString: t\r\nConnection: close\r\n\r\n");
  expect(r.text).toStartWith("HTTP/1.1 200 ");
  // the body is chunked (the h2 upstream sends no content-length): look for the pairs in it
  expect(r.text).toContain('["__proto__","x"],["constructor","c"],["tostring","t"]');
  expect(r.text).not.toContain('["0",');
});

async function h2get(path: string, extra: Record<string, string>): Promise<{ headers: Record<string, unknown>; body: string }> {
  const s = http2.connect(`http://127.0.0.1:${gw}`);
  try {
    const headers = Object.assign(Object.create(null), { ":path": path, ":authority": "example.com" }, extra);
    const req = s.request(headers);
    const chunks: Buffer[] = [];
    let got: Record<string, unknown> = {};
    req.on("response", (h) => (got = h));
    req.on("data", (c: Buffer) => chunks.push(c));
    await new Promise<void>((r, j) => {
      req.on("end", r);
      req.on("error", j);
    });
    return { headers: got, body: Buffer.concat(chunks).toString() };
  } finally {
    s.close();
  }
}

test("HTTP/2 client → HTTP/2 upstream: __proto__ (twice) and constructor arrive as fields", async () => {
  const extra = Object.create(null) as Record<string, string | string[]>;
  extra["__proto__"] = ["x", "y"];
  extra["constructor"] = "c";
  const r = await h2get("/", extra as Record<string, string>);
  expect(Number(r.headers[":status"])).toBe(200);
  const seen = seenFields(r.body);
  expect(seen).toContainEqual(["constructor", "c"]);
  expect(seen.find(([n]) => n === "__proto__")?.[1]).toBe("x, y");
  expect(seen.map(([n]) => n)).not.toContain("0");
});

test("HTTP/1.1 upstream → HTTP/2 client: the response's __proto__, constructor and tostring fields pass", async () => {
  const r = await h2get("/h1up", {});
  expect(Number(r.headers[":status"])).toBe(200);
  expect(r.body).toBe("ok");
  expect(r.headers["__proto__"]).toBe("p");
  expect(r.headers["constructor"]).toBe("c");
  expect(r.headers["tostring"]).toBe("t");
});

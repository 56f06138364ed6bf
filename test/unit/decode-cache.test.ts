// The primary's decode cache (src/primary/decode-cache.ts): the same result as
// decodeFiles, unchanged files are not decoded again, a changed file is, and
// findings keep naming file, document and field. Compile must not mutate the
// resources the cache hands out again.
import { describe, expect, test } from "bun:test";
import { decodeFiles } from "../../src/decode/index.ts";
import { compileSnapshot } from "../../src/compile/index.ts";
import { DecodeCache } from "../../src/primary/decode-cache.ts";
import { routeConfigYaml } from "../../bench/route-config.ts";

const GW = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;
const vs = (name: string, body: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${name}.example.com]
  gateways: [gw]
  http: [{directResponse: {status: 200, body: {string: "${body}"}}}]
`;
const BAD = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad}
spec:
  hosts: [bad.example.com]
  gateways: [gw]
  http: [{timeout: 12parsecs, route: [{destination: {host: x.local}}]}]
`;

function strip<T>(x: T): T {
  return JSON.parse(JSON.stringify(x));
}

describe("decode cache", () => {
  test("same resources, errors and warnings as decodeFiles; unchanged files hit, a changed file is decoded again", () => {
    const cache = new DecodeCache();
    const files = [
      { path: "gw.yaml", text: GW },
      { path: "a.yaml", text: vs("a", "one") + "---\n" + vs("b", "two") },
      { path: "c.json", text: JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "c" }, spec: { ports: [{ port: 80 }] } }) },
    ];
    const first = cache.decode(files);
    expect(cache.last).toEqual({ hits: 0, decoded: 3 });
    expect(strip(first.resources)).toEqual(strip(decodeFiles(files).resources));

    const again = cache.decode(files.map((f) => ({ ...f })));
    expect(cache.last).toEqual({ hits: 3, decoded: 0 });
    expect(again.resources[1]).toBe(first.resources[1]); // the very objects

    const changed = [files[0]!, { path: "a.yaml", text: vs("a", "ONE") + "---\n" + vs("b", "two") }, files[2]!];
    const third = cache.decode(changed);
    expect(cache.last).toEqual({ hits: 2, decoded: 1 });
    expect(strip(third.resources)).toEqual(strip(decodeFiles(changed).resources));
    expect(JSON.stringify(third.resources)).toContain('"ONE"');
    expect(third.keyed().get("VirtualService/default/a")).toContain('"ONE"');
  });

  test("a bad edit reports file, document and field; the next good edit decodes again", () => {
    const cache = new DecodeCache();
    const good = [{ path: "gw.yaml", text: GW }, { path: "r.yaml", text: vs("a", "one") }];
    expect(cache.decode(good).errors).toEqual([]);
    const bad = [good[0]!, { path: "r.yaml", text: vs("a", "one") + "---\n" + BAD }];
    const broken = cache.decode(bad);
    expect(broken.errors.length).toBeGreaterThan(0);
    expect(broken.errors).toEqual(decodeFiles(bad).errors);
    expect(broken.errors[0]).toMatchObject({ file: "r.yaml", doc: 1, resource: "VirtualService/default/bad" });
    expect(broken.errors[0]!.field).toContain("timeout");
    // the same bad text again: the same errors (cached), not silently clean
    expect(cache.decode(bad).errors).toEqual(broken.errors);
    const fixed = cache.decode([good[0]!, { path: "r.yaml", text: vs("a", "two") }]);
    expect(fixed.errors).toEqual([]);
    expect(JSON.stringify(fixed.resources)).toContain('"two"');
  });

  test("a file that goes away is forgotten; not-YAML names the file", () => {
    const cache = new DecodeCache();
    cache.decode([{ path: "gw.yaml", text: GW }, { path: "x.yaml", text: vs("x", "1") }]);
    const r = cache.decode([{ path: "gw.yaml", text: GW }]);
    expect(r.resources.map((x) => x.metadata.name)).toEqual(["gw"]);
    const e = cache.decode([{ path: "gw.yaml", text: GW }, { path: "y.yaml", text: "a: [unclosed" }]);
    expect(e.errors[0]).toMatchObject({ file: "y.yaml" });
  });

  test("compile does not mutate the decoded resources (they are reused by later reloads)", () => {
    const text = routeConfigYaml(40) + "\n---\n" + BAD.replace("12parsecs", "5s");
    const { resources } = decodeFiles([{ path: "r.yaml", text }]);
    const before = structuredClone(resources);
    const opts = { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map(), bindAddress: "0.0.0.0" };
    compileSnapshot(resources, opts, 1);
    compileSnapshot(resources, opts, 2);
    expect(Bun.deepEquals(resources, before, true)).toBe(true);
  });
});

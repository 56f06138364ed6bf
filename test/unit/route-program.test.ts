// The flat route program (RouteProgram: hashed exact hosts + per virtual host
// literal scan) and the one-pass normalizeHost, each checked against the
// object-based path it replaces on the same compiled tables: any answer that
// differs is a bug in the flat structure.
import { describe, expect, test } from "bun:test";
import { reviveRegexes } from "../../src/decode/regex.ts";
import { normalizeHost, routeMatches, selectRoute, selectVirtualHost, type RequestView } from "../../src/route/lookup.ts";
import type { Listener, RouteTable } from "../../src/snapshot/types.ts";
import { compileYaml } from "./pipeline-helpers.ts";

/** The snapshot as a worker has it: cloned by postMessage, regexes revived. */
function received<T extends { listeners: Listener[] }>(snap: T): T {
  const c = structuredClone(snap);
  reviveRegexes(c.listeners);
  return c;
}

/** The earlier normalizeHost (lastIndexOf + slice + toLowerCase), the reference. */
function referenceNormalize(raw: string): string {
  let end = raw.length;
  if (raw.charCodeAt(0) === 91) {
    const close = raw.indexOf("]");
    if (close > 0) end = close + 1;
  } else {
    const colon = raw.lastIndexOf(":");
    if (colon >= 0) end = colon;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 46) end--;
  return (end === raw.length ? raw : raw.slice(0, end)).toLowerCase();
}

/** The same table without its program: selectVirtualHost uses the maps, selectRoute the path indexes. */
function withoutProgram(t: RouteTable): RouteTable {
  return { ...t, program: null };
}

function req(host: string, path: string, method = "GET", headers: Record<string, string> = {}, query = ""): RequestView {
  return { port: 80, host, authority: host, path, query, method, scheme: "http", header: (n) => headers[n] };
}

// mulberry32: an LCG's low bits cycle too fast for `% n` over interleaved draws
let seed = 11;
const rnd = (n: number) => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return ((x ^ (x >>> 14)) >>> 0) % n;
};

describe("normalizeHost", () => {
  const cases: [string, string][] = [
    ["httpbin.example.com", "httpbin.example.com"],
    ["HTTPBIN.example.com:31194", "httpbin.example.com"],
    ["a.example.com.", "a.example.com"],
    ["a.example.com.:80", "a.example.com"],
    ["[::1]:80", "[::1]"],
    ["[FE80::1]", "[fe80::1]"],
    ["[::1", "[::1"],
    ["10.0.0.1:8080", "10.0.0.1"],
    ["a:b:c", "a:b"],
    [":80", ""],
    ["", ""],
    [".", ""],
    ["host:PORT", "host"],
    ["ÄÖ.example.com", "äö.example.com"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ];
  for (const [raw, want] of cases) {
    test(`${JSON.stringify(raw)} → ${JSON.stringify(want)}`, () => {
      expect(normalizeHost(raw)).toBe(want);
      expect(referenceNormalize(raw)).toBe(want);
    });
  }
  test("agrees with the reference on random host headers", () => {
    const alphabet = "abzAZ09.-:[]Éé_";
    for (let i = 0; i < 5000; i++) {
      let s = "";
      for (let n = rnd(12); n > 0; n--) s += alphabet[rnd(alphabet.length)];
      expect(normalizeHost(s)).toBe(referenceNormalize(s));
    }
  });
  test("returns the same string when nothing changes (no copy)", () => {
    const s = ["svc1", "example", "com"].join(".");
    expect(Object.is(normalizeHost(s), s)).toBe(true);
  });
});

/** Gateway `*` on port 80 and one VirtualService per entry of `vs` (hosts, http[] YAML). */
function config(vs: [string[], string][]): string {
  let y = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;
  vs.forEach(([hosts, http], i) => {
    y += `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs${i}}
spec:
  hosts: ${JSON.stringify(hosts)}
  gateways: [gw]
  http:
${http}
`;
  });
  return y;
}

describe("host lookup through the program", () => {
  // a.example.com and www.a.example.com share routes: one virtual host, two exact domains
  // each virtual host answers its status at /, and 300 + it at its own /pN only
  const http = (n: number) => `  - match: [{uri: {exact: /p${n}}}]\n    directResponse: {status: ${300 + n}}\n  - directResponse: {status: ${n}}`;
  const s = compileYaml(
    config([
      [["a.example.com", "www.a.example.com"], http(201)],
      [["b.example.com"], http(202)],
      [["*.example.com"], http(203)],
      [["*.b.example.com"], http(204)],
      [["*"], http(205)],
      [["c.example.org"], http(206)],
    ]),
  );
  const t = s.listeners[0]!.routeTable!;
  const status = (vi: number, path = "/") => {
    const ri = selectRoute(t, vi, req("", path));
    const a = t.virtualHosts[vi]!.routes[ri]!.action;
    return a.kind === "direct" ? a.status : -1;
  };
  test("the table has a program", () => {
    expect(t.program).toBeTruthy();
    expect(t.virtualHosts.map((v) => v.domains.length)).toContain(2);
  });
  const cases: [string, number][] = [
    ["a.example.com", 201],
    ["www.a.example.com", 201],
    ["WWW.A.Example.com:8080", 201],
    ["b.example.com", 202],
    ["x.example.com", 203],
    ["a.example.com.x", 205],
    ["x.b.example.com", 204],
    ["c.example.org", 206],
    ["d.example.org", 205],
    ["example.com", 205],
    ["a.example.co", 205],
    ["", 205],
  ];
  for (const [host, want] of cases) {
    test(`${JSON.stringify(host)} → ${want}`, () => {
      const h = normalizeHost(host);
      const byMaps = selectVirtualHost(withoutProgram(t), h);
      for (const [path, code] of [["/", want], [`/p${want}`, 300 + want], ["/p200", want]] as const) {
        const vi = selectVirtualHost(t, h);
        expect(vi).toBe(byMaps);
        expect(status(vi, path)).toBe(code);
      }
    });
  }
  test("10,000 hosts, present and absent, agree with the maps", () => {
    const n = 2000;
    const big = compileYaml(config(Array.from({ length: n }, (_, i) => [[`h${i}.example.com`], `  - directResponse: {status: ${200 + (i % 300)}}`])));
    const bt = big.listeners[0]!.routeTable!;
    const maps = withoutProgram(bt);
    for (let i = 0; i < 10_000; i++) {
      const h = `h${rnd(n + n / 10)}.example.com`;
      const vi = selectVirtualHost(bt, h);
      expect(vi).toBe(selectVirtualHost(maps, h));
      if (vi >= 0) expect(bt.virtualHosts[vi]!.domains).toContain(h);
    }
    expect(selectVirtualHost(bt, "h1.example.co")).toBe(-1);
  });
  test("after structuredClone (what a worker receives) the answers are the same", () => {
    const c = received(s).listeners[0]!.routeTable!;
    for (const [host, want] of cases) {
      const vi = selectVirtualHost(c, normalizeHost(host));
      expect(vi).toBe(selectVirtualHost(t, normalizeHost(host)));
      const a = c.virtualHosts[vi]!.routes[selectRoute(c, vi, req("", "/"))]!.action;
      expect(a.kind === "direct" ? a.status : -1).toBe(want);
    }
  });
  test("selectRoute on another virtual host than the one just selected answers for that one", () => {
    const vb = selectVirtualHost(t, "b.example.com");
    const va = selectVirtualHost(t, "a.example.com");
    expect(status(vb)).toBe(202); // not a's program, though a was selected last
    expect(status(va)).toBe(201);
    expect(status(va)).toBe(201); // twice in a row, without a selection between
  });
});

describe("route choice through the program agrees with the path index", () => {
  const segs = ["", "a", "ab", "b", "c", "login"];
  const path = () => "/" + [segs[rnd(6)], segs[rnd(6)]].filter(Boolean).join("/");
  const routeYaml = (k: number, p: string, i: number): string => {
    const m = [
      `match: [{uri: {exact: "${p}"}}]`,
      `match: [{uri: {prefix: "${p}"}, headers: {x-k: {exact: "1"}}}]`,
      `match: [{uri: {regex: "${p}.*"}}]`,
      `match: [{uri: {prefix: "${p.toUpperCase()}"}, ignoreUriCase: true}]`,
      `match: [{uri: {exact: "${p}"}}, {uri: {prefix: "${path()}/"}}]`,
      `match: [{uri: {prefix: "${p}/"}}]`,
      `match: [{uri: {exact: "${p}"}, method: {exact: POST}}]`,
      `match: [{queryParams: {q: {exact: "1"}}}]`,
      `match: [{uri: {prefix: "${p}"}, withoutHeaders: {x-k: {}}}]`,
      `match: [{headers: {x-k: {prefix: "1"}}}]`,
    ][k]!;
    return `  - ${m}\n    directResponse: {status: ${201 + i}}`;
  };
  // 12 routes: packed literals (program); 40: map + trie layout (no program for that host)
  for (let t = 0; t < 24; t++) {
    const hosts = 8;
    const vs: [string[], string][] = [];
    for (let h = 0; h < hosts; h++) {
      const count = (t + h) % 4 === 3 ? 40 : 12;
      const http: string[] = [];
      for (let i = 0; i < count; i++) http.push(routeYaml(rnd(10), path(), i));
      vs.push([[`h${h}.example.com`], http.join("\n")]);
    }
    const s = compileYaml(config(vs));
    test(`tables ${t}`, () => {
      const table = received(s).listeners[0]!.routeTable!;
      let withProgram = 0;
      for (let q = 0; q < 400; q++) {
        const host = `h${rnd(hosts)}.example.com`;
        const r = req(host, path() + (rnd(2) ? "/" : ""), rnd(3) === 0 ? "POST" : "GET", rnd(2) ? { "x-k": "1" } : {}, rnd(3) === 0 ? "q=1" : "");
        const vi = selectVirtualHost(table, host);
        if (table.program!.programAt[vi]! >= 0) withProgram++;
        const got = selectRoute(table, vi, r); // the program's path
        const want = selectRoute(withoutProgram(table), vi, r); // the path index's
        expect(got).toBe(want);
        expect(got).toBe(table.virtualHosts[vi]!.routes.findIndex((x) => routeMatches(x, r))); // the first that matches, linearly
      }
      expect(withProgram).toBeGreaterThan(0);
    });
  }
});

// The route precedence suite, shared by every route layout (as Hono's routers
// share common.case.test.ts): route order and every match kind, each route
// answering a distinct direct-response status (201 + its position), so the
// status tells which route a request hit. route-layouts.test.ts runs it over
// trace() (what the workers' selectRoute picks) and each layout's `match`.
import { describe, expect, test } from "bun:test";
import { routeMatches } from "../../src/route/lookup.ts";
import type { Route, Snapshot } from "../../src/snapshot/types.ts";
import { requestView, type TraceRequest } from "../../src/trace.ts";
import { compileYaml, gatewayAndVS } from "./pipeline-helpers.ts";

export type Req = Partial<TraceRequest> & { path: string };
type Case = [string, Req, number];

/** The status a lookup answers for `req` on snapshot `s` (404: no route). */
export type Lookup = (s: Snapshot, host: string, req: Req) => number;

/** `routes`: YAML of http[] entries without their action; entry i answers 201 + i. */
export function table(routes: string[]): Snapshot {
  const http = routes.map((m, i) => `  - ${m ? `${m}\n    ` : ""}directResponse: {status: ${201 + i}}`).join("\n");
  return compileYaml(gatewayAndVS({ http }));
}

/** The direct-response status a route answers (every route of these tables has one). */
export function statusOf(r: Route): number {
  return r.action.kind === "direct" ? r.action.status : -1;
}

export function routeSuite(lookup: Lookup): void {
  function run(title: string, routes: string[], list: Case[]): void {
    describe(title, () => {
      const s = table(routes);
      for (const [what, req, status] of list) {
        test(`${what} → ${status}`, () => expect(lookup(s, req.host ?? "any.example.com", req)).toBe(status));
      }
    });
  }

  run(
    "first match wins, in configuration order (not by specificity)",
    ["match: [{uri: {prefix: /a}}]", "match: [{uri: {exact: /a/b}}]", "match: [{uri: {prefix: /a/b/c}}]", "match: [{uri: {exact: /x}}]"],
    [
      ["exact /a/b is behind prefix /a", { path: "/a/b" }, 201],
      ["/a/b/c/d", { path: "/a/b/c/d" }, 201],
      ["exact /x", { path: "/x" }, 204],
      ["/x/y is not exact /x", { path: "/x/y" }, 404],
      ["prefix is a string prefix: /ab", { path: "/ab" }, 201],
      ["query string is not part of the path", { path: "/x?y=1" }, 204],
    ],
  );

  run(
    "Gateway API path-match-order cases, written in order of precedence",
    [
      "match: [{uri: {exact: /match/exact/one}}]",
      "match: [{uri: {exact: /match/exact}}]",
      "match: [{uri: {exact: /match}}]",
      "match: [{uri: {prefix: /match/prefix/one}}]",
      "match: [{uri: {prefix: /match/prefix/}}]",
      "match: [{uri: {prefix: /match/}}]",
      "match: [{uri: {prefix: /match}}]",
    ],
    [
      ["/match/exact/one", { path: "/match/exact/one" }, 201],
      ["/match/exact", { path: "/match/exact" }, 202],
      ["/match", { path: "/match" }, 203],
      ["/match/prefix/one/any", { path: "/match/prefix/one/any" }, 204],
      ["/match/prefix/any", { path: "/match/prefix/any" }, 205],
      ["/match/any", { path: "/match/any" }, 206],
      ["/matchany", { path: "/matchany" }, 207],
      ["/other", { path: "/other" }, 404],
    ],
  );

  run(
    "uri kinds: exact, prefix, regex (full match), ignoreUriCase",
    [
      "match: [{uri: {regex: '/status/[0-9]{3}'}}]",
      "match: [{uri: {exact: /Exact}, ignoreUriCase: true}]",
      "match: [{uri: {prefix: /Pre}, ignoreUriCase: true}]",
      "match: [{uri: {prefix: /Case}}]",
    ],
    [
      ["regex", { path: "/status/418" }, 201],
      ["regex is a full match", { path: "/status/4180" }, 404],
      ["exact ignoring case", { path: "/EXACT" }, 202],
      ["prefix ignoring case", { path: "/pREfix" }, 203],
      ["prefix case-sensitive", { path: "/case/x" }, 404],
      ["prefix case-sensitive, same case", { path: "/Case/x" }, 204],
    ],
  );

  run(
    "headers: exact, prefix, regex, presence; withoutHeaders",
    [
      "match: [{headers: {x-exact: {exact: v1}}}]",
      "match: [{headers: {x-prefix: {prefix: ab}}}]",
      "match: [{headers: {x-regex: {regex: 'v[0-9]+'}}}]",
      "match: [{headers: {x-present: {}}}]",
      "match: [{uri: {prefix: /w}, withoutHeaders: {x-block: {exact: yes}}}]",
      "match: [{uri: {prefix: /w}}]",
    ],
    [
      ["exact", { path: "/", headers: { "X-Exact": "v1" } }, 201],
      ["exact, other value", { path: "/", headers: { "x-exact": "v2" } }, 404],
      ["prefix", { path: "/", headers: { "x-prefix": "abc" } }, 202],
      ["regex full match", { path: "/", headers: { "x-regex": "v12" } }, 203],
      ["regex not a full match", { path: "/", headers: { "x-regex": "v12b" } }, 404],
      ["presence, empty value", { path: "/", headers: { "x-present": "" } }, 204],
      ["withoutHeaders: header absent", { path: "/w" }, 205],
      ["withoutHeaders: other value", { path: "/w", headers: { "x-block": "no" } }, 205],
      ["withoutHeaders: excluded", { path: "/w", headers: { "x-block": "yes" } }, 206],
    ],
  );

  run(
    "queryParams, method, authority, scheme, port",
    [
      "match: [{queryParams: {v: {exact: '1'}}}]",
      "match: [{queryParams: {p: {prefix: ab}}}]",
      "match: [{queryParams: {r: {regex: '[0-9]+'}}}]",
      "match: [{queryParams: {flag: {}}}]",
      "match: [{method: {exact: POST}}]",
      "match: [{authority: {prefix: api.}}]",
      "match: [{scheme: {exact: https}}]",
      "match: [{port: 8080}]",
      "match: [{port: 80, uri: {prefix: /port}}]",
    ],
    [
      ["query exact", { path: "/?a=b&v=1" }, 201],
      ["query exact, other value", { path: "/?v=10" }, 404],
      ["query prefix", { path: "/?p=abc" }, 202],
      ["query regex", { path: "/?r=42" }, 203],
      ["query presence without value", { path: "/?flag" }, 204],
      ["method", { path: "/", method: "POST" }, 205],
      ["authority (host, port ignored)", { path: "/", host: "api.example.com:8443" }, 206],
      ["scheme", { path: "/", scheme: "https" }, 207],
      ["a match for port 8080 is dropped from the port-80 table", { path: "/" }, 404],
      ["port 80", { path: "/port" }, 209],
    ],
  );

  run(
    "match entries are OR'd, fields inside one entry AND'd",
    ["match:\n    - {uri: {prefix: /a}, method: {exact: GET}}\n    - {uri: {prefix: /b}}", "match: [{uri: {prefix: /}}]"],
    [
      ["first entry, both fields", { path: "/a", method: "GET" }, 201],
      ["first entry, one field", { path: "/a", method: "PUT" }, 202],
      ["second entry", { path: "/b", method: "PUT" }, 201],
    ],
  );

  run(
    "a route without match, or prefix /, is a catch-all: later routes are never reached (Istio trims them)",
    ["match: [{uri: {exact: /first}}]", "", "match: [{uri: {exact: /late}}]"],
    [
      ["before the catch-all", { path: "/first" }, 201],
      ["the catch-all", { path: "/anything" }, 202],
      ["after the catch-all", { path: "/late" }, 202],
    ],
  );

  describe("the path index never changes first-match order (random tables vs. a linear scan)", () => {
    // Deterministic pseudo-random generator so failures reproduce.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const segs = ["", "a", "ab", "b", "c"];
    const path = () => "/" + [segs[rnd(5)], segs[rnd(5)]].filter(Boolean).join("/");
    // 12 routes: the packed layout; 40: more literals than PACKED_MAX, the map + trie layout
    for (let t = 0; t < 30; t++) {
      const routes: string[] = [];
      const count = t % 3 === 2 ? 40 : 12;
      for (let i = 0; i < count; i++) {
        const k = rnd(6);
        const p = path();
        routes.push(
          k === 0
            ? `match: [{uri: {exact: "${p}"}}]`
            : k === 1
              ? `match: [{uri: {prefix: "${p}"}, headers: {x-k: {exact: "1"}}}]`
              : k === 2
                ? `match: [{uri: {regex: "${p}.*"}}]`
                : k === 3
                  ? `match: [{uri: {prefix: "${p.toUpperCase()}"}, ignoreUriCase: true}]`
                  : k === 4
                    ? `match: [{uri: {exact: "${p}"}}, {uri: {prefix: "${path()}/"}}]`
                    : `match: [{uri: {prefix: "${p}/"}}]`,
        );
      }
      const s = table(routes);
      test(`table ${t} (${count} routes)`, () => {
        const vh = s.listeners[0]!.routeTable!.virtualHosts[0]!;
        expect(vh.pathIndex.literals.length === 0).toBe(count === 40);
        for (let q = 0; q < 40; q++) {
          const p = path() + (rnd(2) ? "/" : "");
          const headers: Record<string, string> = rnd(2) ? { "x-k": "1" } : {};
          const view = requestView({ port: 80, host: "h", path: p, headers });
          const linear = vh.routes.findIndex((x) => routeMatches(x, view));
          expect(lookup(s, "h", { path: p, headers })).toBe(linear < 0 ? 404 : statusOf(vh.routes[linear]!));
        }
      });
    }
  });
}

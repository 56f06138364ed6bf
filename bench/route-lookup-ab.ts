// Route lookup A/B in one process: another checkout's lookup (before) against
// this one's (after), each on a snapshot its own compile built and cloned as a
// worker receives it, in interleaved rounds; medians. Under a shared machine's
// changing load, separate runs of route-lookup.bench.ts differ by ×3; side by
// side in one process the ratio holds. Run (before = e.g. `git archive main`
// unpacked, with node_modules linked):
//   GW_BEFORE=/tmp/before node_modules/.bin/bun bench/route-lookup-ab.ts [rounds]
import { readFileSync } from "node:fs";
import { compileSnapshot as compileB } from "../src/compile/index.ts";
import { decodeFiles as decodeB } from "../src/decode/index.ts";
import { reviveRegexes } from "../src/decode/regex.ts";
import * as B from "../src/route/lookup.ts";
import type { RouteTable } from "../src/snapshot/types.ts";
import { GATEWAY_DOC, HOSTS, requests, rnd, virtualServiceDocs, type LookupRequest } from "./lib/route-lookup-workload.ts";

const before = process.env.GW_BEFORE;
if (before === undefined) throw new Error("set GW_BEFORE to the checkout to compare with");
const { compileSnapshot: compileA } = await import(`${before}/src/compile/index.ts`);
const { decodeFiles: decodeA } = await import(`${before}/src/decode/index.ts`);
const A: Omit<typeof B, "selectRoute"> & { selectRoute: (...args: never[]) => number } = await import(`${before}/src/route/lookup.ts`);
/** selectRoute(table, vi, req) of a checkout; one from before the route program moved to the table takes (vh, req). */
type Select = (table: RouteTable, vi: number, req: never) => number;
const selectOf = (f: (...args: never[]) => number): Select =>
  f.length === 2 ? (t, vi, r) => (f as unknown as (vh: unknown, req: never) => number)(t.virtualHosts[vi], r) : (f as unknown as Select);
const selectA = selectOf(A.selectRoute);
const selectB: Select = B.selectRoute;
const reviveA: ((l: unknown) => void) | undefined = (await import(`${before}/src/decode/regex.ts`)).reviveRegexes;

function routesYaml(i: number): string {
  return `  - match: [{uri: {exact: /healthz}}]
    directResponse: {status: 200}
  - match: [{uri: {prefix: /api/v1/users}}]
    directResponse: {status: 201}
  - match: [{uri: {prefix: /api/v1/orders}}]
    directResponse: {status: 202}
  - match: [{uri: {prefix: /api/v2/}, headers: {x-version: {exact: "2"}}}]
    directResponse: {status: 203}
  - match: [{uri: {regex: "/items/[0-9]+"}}]
    directResponse: {status: 204}
  - match: [{uri: {prefix: /static/}}]
    directResponse: {status: 205}
  - match: [{uri: {exact: /login}, method: {exact: POST}}]
    directResponse: {status: 206}
  - match: [{uri: {prefix: /svc${i}/}}]
    directResponse: {status: 207}
  - match: [{uri: {prefix: /docs}}]
    directResponse: {status: 208}
  - directResponse: {status: 209}`;
}
const docs = [GATEWAY_DOC, ...virtualServiceDocs(routesYaml)];
const text = docs.join("\n---\n");
const opts = { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map<number, number>(), bindAddress: "0.0.0.0" };
const sa = structuredClone(compileA(decodeA([{ path: "a.yaml", text }]).resources, opts, 1));
if (reviveA !== undefined) reviveA(sa.listeners); // a checkout with RE2 regexes: as its worker would
const sbRaw = compileB(decodeB([{ path: "b.yaml", text }]).resources, opts, 1);
const sb = structuredClone(sbRaw);
let t0 = performance.now();
reviveRegexes(sb.listeners);
const reviveMs = performance.now() - t0;
const ta: RouteTable = sa.listeners[0]!.routeTable!;
const tb = sb.listeners[0]!.routeTable!;
let sink = 0;
function runA(table: RouteTable, rs: LookupRequest[]): number {
  const t = performance.now();
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    r.host = A.normalizeHost(r.rawHost);
    const vi = A.selectVirtualHost(table, r.host);
    if (vi >= 0) sink += selectA(table, vi, r as never);
  }
  return performance.now() - t;
}
function runB(table: RouteTable, rs: LookupRequest[]): number {
  const t = performance.now();
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    r.host = B.normalizeHost(r.rawHost);
    const vi = B.selectVirtualHost(table, r.host);
    if (vi >= 0) sink += selectB(table, vi, r as never);
  }
  return performance.now() - t;
}
// same answers
const check = requests(() => rnd(HOSTS));
for (const r of check) {
  const ra = { ...r, host: A.normalizeHost(r.rawHost) };
  const rb = { ...r, host: B.normalizeHost(r.rawHost) };
  const va = A.selectVirtualHost(ta, ra.host);
  const vb = B.selectVirtualHost(tb, rb.host);
  const xa = va < 0 ? -1 : selectA(ta, va, ra as never);
  const xb = vb < 0 ? -1 : selectB(tb, vb, rb as never);
  if (va !== vb || xa !== xb) throw new Error(`differ on ${r.rawHost}${r.path}`);
}
const sets: [string, LookupRequest[]][] = [["one host", requests(() => 42)], ["one host, /items/ only", requests(() => 42).map((r) => ({ ...r, path: "/items/123" }))], ["uniform", requests(() => rnd(HOSTS + HOSTS / 20))]];
const ROUNDS = Number(process.argv[2] ?? 40);
for (const [name, rs] of sets) {
  const a: number[] = [], b: number[] = [];
  for (let k = 0; k < 5; k++) {
    runA(ta, rs);
    runB(tb, rs);
  }
  for (let k = 0; k < ROUNDS; k++) {
    // alternate which goes first
    if (k % 2 === 0) {
      a.push(runA(ta, rs));
      b.push(runB(tb, rs));
    } else {
      b.push(runB(tb, rs));
      a.push(runA(ta, rs));
    }
  }
  const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1]!;
  const mA = 10_000 / med(a) / 1000, mB = 10_000 / med(b) / 1000;
  console.log(`${name.padEnd(10)} before ${mA.toFixed(2)} M/s  after ${mB.toFixed(2)} M/s  (after/before ${(mB / mA).toFixed(3)})`);
}
console.log(`reviveRegexes on the 10,000-host snapshot: ${reviveMs.toFixed(0)} ms; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
if (sink === -1) console.log(sink);

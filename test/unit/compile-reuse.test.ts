// Compile reuse (src/compile/reuse.ts): over a sequence of varied changes
// (VirtualService, Gateway, DestinationRule, Secret, ServiceEntry added, removed,
// modified), the snapshot compiled with the previous compile's results equals a
// compile from scratch of the same files, findings and their order included.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeFiles } from "../../src/decode/index.ts";
import { compileSnapshot } from "../../src/compile/index.ts";
import { CompileReuse } from "../../src/compile/reuse.ts";
import { DecodeCache } from "../../src/primary/decode-cache.ts";
import { secret } from "../helpers/config.ts";
import { canonicalPrograms } from "../helpers/route-program.ts";
import { routeTables as tables } from "../../src/snapshot/delta.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";

const FIX = join(import.meta.dir, "fixtures");
const CRT = readFileSync(join(FIX, "rsa-4160.crt"), "utf8");
const KEY = readFileSync(join(FIX, "rsa-4160.key"), "utf8");

const gateway = (extraHost = "") => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["secure.example.com"${extraHost}]
    tls: {mode: SIMPLE, credentialName: cert}
`;

const vs = (name: string, o: { host?: string; dest?: string; subset?: string; body?: string; ns?: string } = {}) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${o.ns ?? "default"}}
spec:
  hosts: [${o.host ?? `${name}.example.com`}]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {prefix: /ok}}]
    directResponse: {status: 200, body: {string: "${o.body ?? name}"}}
  - match: [{uri: {regex: "/items/[0-9]+"}}]
    route: [{destination: {host: ${o.dest ?? "api.default.svc.cluster.local"}, port: {number: 80}${o.subset ? `, subset: ${o.subset}` : ""}}}]
  - route: [{destination: {host: ${o.dest ?? "api.default.svc.cluster.local"}, port: {number: 80}}}]
`;

const dr = (subsets: string[]) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api.default.svc.cluster.local
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}
  subsets: [${subsets.map((s) => `{name: ${s}, labels: {version: ${s}}}`).join(", ")}]
`;

const se = (port: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.local]
  ports: [{number: ${port}, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`;

const svc = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
`;

const many = (n: number, tweak: (i: number) => Parameters<typeof vs>[1] = () => ({})) =>
  Array.from({ length: n }, (_, i) => vs(`r${i}`, tweak(i))).join("---\n");

type Files = Record<string, string>;

/** createdAt differs, and route programs number their conditions by their registry's history; everything else must be equal. */
function comparable(s: Snapshot): Snapshot {
  return { ...canonicalPrograms(s), createdAt: "" };
}

const OPTS = { namespace: "istio-system", labels: { istio: "ingressgateway" }, portMap: new Map<number, number>(), bindAddress: "0.0.0.0" };

type Step = [string, (f: Files) => void];

/**
 * Applies `steps` to the files `base` one after the other (after a "start" step that
 * changes nothing), compiling each state with one CompileReuse and from scratch; fails
 * at the first step where the two snapshots differ (a readable diff first), else hands
 * both to `each`.
 */
function replay(base: Files, steps: Step[], opts: typeof OPTS & { trustedProxies?: number }, each: (what: string, incremental: Snapshot, fresh: Snapshot, reuse: CompileReuse) => void): void {
  const files: Files = { ...base };
  const cache = new DecodeCache();
  const reuse = new CompileReuse();
  const toList = (f: Files) => Object.keys(f).sort().map((path) => ({ path, text: f[path]! }));
  let version = 1;
  for (const [what, change] of [["start", () => {}] as Step, ...steps]) {
    change(files);
    const list = toList(files);
    const d = cache.decode(list);
    expect(d.errors).toEqual([]);
    const incremental = compileSnapshot(d.resources, { ...opts, reuse }, version);
    const fresh = compileSnapshot(decodeFiles(list).resources, opts, version);
    if (!Bun.deepEquals(comparable(incremental), comparable(fresh), true)) {
      expect({ what, findings: incremental.findings }).toEqual({ what, findings: fresh.findings });
      expect({ what, s: JSON.parse(JSON.stringify([...incremental.clusters])) }).toEqual({ what, s: JSON.parse(JSON.stringify([...fresh.clusters])) });
      expect({ what, s: JSON.parse(JSON.stringify(comparable(incremental).listeners)) }).toEqual({ what, s: JSON.parse(JSON.stringify(comparable(fresh).listeners)) });
      throw new Error(`${what}: snapshots differ`);
    }
    each(what, incremental, fresh, reuse);
    version++;
  }
}

describe("compile reuse", () => {
  test("a sequence of varied changes: the incremental snapshot equals a compile from scratch", () => {
    const base: Files = {
      "gw.yaml": gateway(),
      "routes.yaml": many(30),
      "one.yaml": vs("one", { body: "v1" }),
      "dr.yaml": dr(["v1", "v2"]),
      "se.yaml": se(80) + "---\n" + svc,
      "secret.yaml": secret("cert", { "tls.crt": CRT, "tls.key": KEY }),
    };
    const steps: Step[] = [
      ["nothing changed", () => {}],
      ["modify one VirtualService", (f) => (f["one.yaml"] = vs("one", { body: "v2" }))],
      ["add a VirtualService in a new file", (f) => (f["two.yaml"] = vs("two", { dest: "ext.local", subset: "v1" }))],
      ["a VirtualService naming a subset", (f) => (f["one.yaml"] = vs("one", { subset: "v2" }))],
      ["DestinationRule loses a subset", (f) => (f["dr.yaml"] = dr(["v1"]))],
      ["modify the VirtualService again", (f) => (f["one.yaml"] = vs("one", { subset: "v2", body: "again" }))],
      ["remove a VirtualService", (f) => delete f["two.yaml"]],
      ["ServiceEntry port changes", (f) => (f["se.yaml"] = se(8080) + "---\n" + svc)],
      ["a VirtualService to a host that is no service", (f) => (f["one.yaml"] = vs("one", { dest: "nowhere.local" }))],
      ["Gateway gains a TLS host", (f) => (f["gw.yaml"] = gateway(', "one.example.com"'))],
      ["VirtualService on the TLS host", (f) => (f["one.yaml"] = vs("one", { host: "one.example.com" }))],
      ["Secret removed", (f) => delete f["secret.yaml"]],
      ["Secret back", (f) => (f["secret.yaml"] = secret("cert", { "tls.crt": CRT, "tls.key": KEY }))],
      ["routes file rewritten with one change in the middle", (f) => (f["routes.yaml"] = many(30, (i) => (i === 17 ? { body: "changed" } : {})))],
      ["a duplicate VirtualService in two files", (f) => (f["dup.yaml"] = vs("r3", { body: "dup" }))],
      ["VirtualService moves namespace", (f) => (f["one.yaml"] = vs("one", { ns: "other" }))],
      ["delete the DestinationRule", (f) => delete f["dr.yaml"]],
      ["back to the start", (f) => {
        for (const k of Object.keys(f)) delete f[k];
        Object.assign(f, base);
      }],
    ];
    let reusedAny = 0;
    replay(base, steps, OPTS, (_what, incremental, fresh, reuse) => {
      reusedAny += reuse.stats.reused;
      expect(incremental.hash).toBe(fresh.hash);
    });
    expect(reusedAny).toBeGreaterThan(100); // VirtualService changes did reuse the others' routes
  }, 30_000); // 5-9 s on a loaded machine; `bun test <file>` runs timed it out at 5 s

  test("a VirtualService change recompiles only that VirtualService's routes", () => {
    const cache = new DecodeCache();
    const reuse = new CompileReuse();
    const files = (body: string) => [
      { path: "gw.yaml", text: gateway() + "---\n" + svc },
      { path: "routes.yaml", text: many(50) },
      { path: "churn.yaml", text: vs("churn", { body }) },
    ];
    compileSnapshot(cache.decode(files("a")).resources, { ...OPTS, reuse }, 1);
    compileSnapshot(cache.decode(files("b")).resources, { ...OPTS, reuse }, 2);
    expect(reuse.stats).toEqual({ reused: 50, built: 1, contextSame: true });
  });

  // virtual hosts, host maps and program parts taken from the previous compile's table (src/compile/virtualhosts.ts, pathindex.ts)
  const gw2 = (redirectHosts: string[], redirect = true) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw2, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http-redirect, protocol: HTTP}
    hosts: [${redirectHosts.map((h) => JSON.stringify(h)).join(", ")}]
    tls: {httpsRedirect: ${redirect}}
  - port: {number: 8081, name: http-any, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 8081, name: http-some, protocol: HTTP}
    hosts: ["default/*.example.com", "other/only.example.com"]
`;
  const vsOn = (name: string, hosts: string[], o: { gateways?: string[]; body?: string; catchAllFirst?: boolean; ns?: string } = {}) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${o.ns ?? "default"}}
spec:
  hosts: [${hosts.map((h) => JSON.stringify(h)).join(", ")}]
  gateways: [${(o.gateways ?? ["istio-system/gw"]).join(", ")}]
  http:
${o.catchAllFirst ? "  - route: [{destination: {host: api.default.svc.cluster.local, port: {number: 80}}}]\n" : ""}  - match: [{uri: {prefix: /${name}}}, {uri: {exact: /x}, headers: {x-v: {exact: "1"}}}]
    directResponse: {status: 200, body: {string: "${o.body ?? name}"}}
  - match: [{uri: {regex: "/items/[0-9]+"}, method: {exact: GET}}]
    route: [{destination: {host: api.default.svc.cluster.local, port: {number: 80}}}]
  - route: [{destination: {host: api.default.svc.cluster.local, port: {number: 80}}}]
`;

  // behind trusted proxies an httpsRedirect host keeps its own routes after the redirect (http only)
  for (const [label, opts] of [["", OPTS], [" (behind trusted proxies)", { ...OPTS, trustedProxies: 1 }]] as const) {
  test(`virtual hosts and host maps of the previous table: the incremental snapshot equals a compile from scratch, and unchanged ones are shared${label}`, () => {
    const both = ["istio-system/gw", "istio-system/gw2"];
    const base: Files = {
      "gw.yaml": gateway() + "---\n" + gw2(["redir.example.com"]),
      "svc.yaml": svc + "---\n" + dr(["v1"]),
      "routes.yaml": many(20),
      "multi.yaml": vsOn("multi", ["a.example.com", "b.example.com"], { gateways: both }),
      "wild.yaml": vsOn("wild", ["*.wild.example.com"], { gateways: both }),
      "star.yaml": vsOn("star", ["*"], { gateways: ["istio-system/gw2"] }),
      "other.yaml": vsOn("only", ["only.example.com"], { gateways: ["istio-system/gw2"], ns: "other" }),
      // analyze's findings (replayed while only VirtualServices change)
      "findings.yaml": [
        vsOn("lost", ["lost.example.com", "secure.example.com"], { gateways: ["istio-system/nope", "istio-system/gw"] }),
        vsOn("unbound", ["x.example.com"], { gateways: ["istio-system/nope"] }),
        vsOn("meshonly", ["m.example.com"], { gateways: ["mesh"] }),
        // matches an earlier one takes first: GW0309, GW0320
        `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: dupes, namespace: default}
spec:
  hosts: [dupes.example.com]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {prefix: /d}}]
    directResponse: {status: 200}
  - match: [{uri: {prefix: /d/e}}]
    directResponse: {status: 201}
  - match: [{uri: {prefix: /d}}, {uri: {prefix: /z}}]
    directResponse: {status: 202}
`,
      ].join("---\n"),
    };
    const steps: Step[] = [
      ["nothing changed", () => {}],
      ["a second VirtualService for one of two hosts", (f) => (f["extra.yaml"] = vsOn("extra", ["a.example.com"], { gateways: both }))],
      ["its routes change", (f) => (f["extra.yaml"] = vsOn("extra", ["a.example.com"], { gateways: both, body: "changed" }))],
      ["catch-all first: moved last", (f) => (f["extra.yaml"] = vsOn("extra", ["a.example.com"], { gateways: both, catchAllFirst: true }))],
      ["it goes again: the two hosts collapse", (f) => delete f["extra.yaml"]],
      ["a third host", (f) => (f["multi.yaml"] = vsOn("multi", ["a.example.com", "b.example.com", "c.example.com"], { gateways: both }))],
      ["a VirtualService on the redirect host", (f) => (f["redir.yaml"] = vsOn("redir", ["redir.example.com"], { gateways: ["istio-system/gw2"] }))],
      ["its routes change", (f) => (f["redir.yaml"] = vsOn("redir", ["redir.example.com"], { gateways: ["istio-system/gw2"], body: "r2" }))],
      ["the redirect server gains hosts", (f) => (f["gw.yaml"] = gateway() + "---\n" + gw2(["redir.example.com", "*.wild.example.com", "r0.example.com"]))],
      ["nothing changed again", () => {}],
      ["httpsRedirect off", (f) => (f["gw.yaml"] = gateway() + "---\n" + gw2(["redir.example.com", "*.wild.example.com", "r0.example.com"], false))],
      ["httpsRedirect on again", (f) => (f["gw.yaml"] = gateway() + "---\n" + gw2(["redir.example.com", "*.wild.example.com", "r0.example.com"]))],
      ["the wildcard VirtualService changes", (f) => (f["wild.yaml"] = vsOn("wild", ["*.wild.example.com"], { gateways: both, body: "w2" }))],
      ["the catch-all host's VirtualService changes", (f) => (f["star.yaml"] = vsOn("star", ["*"], { gateways: ["istio-system/gw2"], body: "s2" }))],
      ["a host renamed: the order of virtual hosts changes", (f) => (f["routes.yaml"] = many(20, (i) => (i === 3 ? { host: "zz.example.com" } : {})))],
      ["a VirtualService leaves the namespace a server host names", (f) => (f["other.yaml"] = vsOn("only", ["only.example.com"], { gateways: ["istio-system/gw2"], ns: "third" }))],
      ["the missing gateway appears", (f) => (f["gw.yaml"] += `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: nope, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8082, name: http, protocol: HTTP}
    hosts: ["only-this.example.com"]
`)],
      ["a VirtualService changes after it", (f) => (f["multi.yaml"] = vsOn("multi", ["a.example.com"], { gateways: both, body: "m2" }))],
      ["back to the start", (f) => {
        for (const k of Object.keys(f)) delete f[k];
        Object.assign(f, base);
      }],
    ];
    let prev: Snapshot | null = null;
    replay(base, steps, opts, (what, incremental, fresh) => {
      const expected: Record<string, string[]> = { start: ["GW0301", "GW0307", "GW0309", "GW0320"], "the missing gateway appears": ["GW0302"] };
      for (const code of expected[what] ?? []) expect({ code, found: fresh.findings.some((x) => x.code === code) }).toEqual({ code, found: true });
      if (what.startsWith("nothing changed")) {
        // every virtual host and host map is the previous compile's own object
        const before = tables(prev!);
        for (const [name, t] of tables(incremental)) {
          const p = before.get(name)!;
          expect({ what, name, shared: t.virtualHosts.every((vh, i) => vh === p.virtualHosts[i]), maps: t.exactHosts === p.exactHosts && t.wildcardHosts === p.wildcardHosts }).toEqual({ what, name, shared: true, maps: true });
        }
      }
      prev = incremental;
    });
    expect(tables(prev!).size).toBe(4); // 80, 8080, 8081, and 443's TLS chain
  });
  }

  test("a one-VirtualService change shares every other virtual host and the host maps", () => {
    const cache = new DecodeCache();
    const reuse = new CompileReuse();
    const files = (body: string) => [
      { path: "gw.yaml", text: gateway() + "---\n" + svc },
      { path: "routes.yaml", text: many(50) },
      { path: "churn.yaml", text: vs("churn", { body }) },
    ];
    const a = compileSnapshot(cache.decode(files("a")).resources, { ...OPTS, reuse }, 1);
    const b = compileSnapshot(cache.decode(files("b")).resources, { ...OPTS, reuse }, 2);
    const ta = a.listeners.find((l) => l.port === 80)!.routeTable!;
    const tb = b.listeners.find((l) => l.port === 80)!.routeTable!;
    const changed = tb.virtualHosts.filter((vh, i) => vh !== ta.virtualHosts[i]).map((vh) => vh.name);
    expect(changed).toEqual(["churn.example.com:80"]);
    expect(tb.exactHosts).toBe(ta.exactHosts);
    // the program was patched: the changed part has the same length, so every host record stays where it was
    expect(tb.program!.hostSlots).toBe(ta.program!.hostSlots);
    expect(tb.program!.code).toEqual(ta.program!.code);
  });
});

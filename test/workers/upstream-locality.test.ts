// Locality load balancing through a real worker: loopback backends that are
// ServiceEntry endpoints with localities, the gateway in r1/z1 (--locality).
// Failover: traffic stays in the gateway's zone while it is healthy, moves to
// the next zone, then the next region, as outlier detection ejects, and comes
// back when the ejections end. Distribute: 80/20 between the localities named,
// none to a locality not named.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { beInternalEntry, beInternalRule, TO_BE_INTERNAL } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

const backends = new Map<string, Server<undefined>>();
const failing = new Set<string>();
/** name → locality */
const LOCALITIES: [string, string][] = [
  ["a", "r1/z1/s1"],
  ["b", "r1/z1/s1"],
  ["c", "r1/z2/s1"],
  ["d", "r2/z1/s1"],
];

function config(lb: string): string {
  const endpoints = LOCALITIES.map(([n, l]) => `  - {address: 127.0.0.1, ports: {http: ${backends.get(n)!.port}}, locality: ${l}}`);
  return `${TO_BE_INTERNAL}${beInternalEntry(endpoints)}${beInternalRule(lb)}`;
}

async function apply(w: WorkerHarness, lb: string): Promise<number> {
  const port = freePort();
  const s = compileYaml(config(lb), { portMap: new Map([[80, port]]), bindAddress: "127.0.0.1", locality: "r1/z1/s1" });
  await w.apply(s);
  return port;
}

async function get(port: number): Promise<string> {
  const r = await raw(port, "GET / HTTP/1.1\r\nhost: be.internal\r\nconnection: close\r\n\r\n");
  return r.text.split("\r\n\r\n")[1] ?? "";
}

/** Bodies of `n` requests. */
async function bodies(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await get(port));
  return out;
}

/** Requests (at most `max`) until `done(body)`; the bodies seen. */
async function until(port: number, done: (b: string) => boolean, max = 100, pauseMs = 0): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    if (pauseMs > 0) await Bun.sleep(pauseMs);
    const b = await get(port);
    seen.push(b);
    if (done(b)) break;
  }
  return seen;
}

beforeAll(() => {
  for (const [name] of LOCALITIES) {
    backends.set(
      name,
      Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch() {
          return failing.has(name) ? new Response("down", { status: 503 }) : new Response(name);
        },
      }),
    );
  }
});

afterAll(() => {
  for (const b of backends.values()) b.stop(true);
});

describe("failover (the mesh default localityLbSetting, with outlierDetection)", () => {
  let w: WorkerHarness;
  let port = 0;
  beforeAll(async () => {
    w = new WorkerHarness();
    port = await apply(w, `    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 1, interval: 100ms, baseEjectionTime: 300ms, maxEjectionPercent: 100}`);
  });
  afterAll(() => {
    failing.clear();
    w.stop();
  });

  test("the gateway's zone while healthy; ejected: the next zone, then the next region; back when the ejections end", async () => {
    expect(new Set(await bodies(port, 12))).toEqual(new Set(["a", "b"]));

    failing.add("a");
    failing.add("b");
    // each answers 503 once and is ejected. With one of the two ejected, P0's health is 70: 30 % of the
    // requests spill over to r1/z2 (drawn at random), none further; both ejected: r1/z2 takes everything
    let downs = 0;
    const seen = await until(port, (b) => (b === "down" ? ++downs : downs) === 2, 60);
    expect(downs).toBe(2);
    expect(seen.every((b) => b === "down" || b === "c")).toBe(true);
    expect(new Set(await bodies(port, 10))).toEqual(new Set(["c"]));

    failing.add("c");
    const seen2 = await until(port, (b) => b === "d", 10);
    expect(seen2.filter((b) => b === "down").length).toBe(1);
    expect(new Set(await bodies(port, 10))).toEqual(new Set(["d"]));

    failing.clear();
    // ejections end at an interval tick past 300 ms: P0 takes everything again (a and b alternating)
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      await Bun.sleep(30);
      const six = await bodies(port, 6);
      ok = six.every((b) => b === "a" || b === "b") && six.includes("a") && six.includes("b");
    }
    expect(ok).toBe(true);
  });
});

describe("distribute", () => {
  let w: WorkerHarness;
  let port = 0;
  beforeAll(async () => {
    w = new WorkerHarness();
    port = await apply(w, `    loadBalancer:
      simple: ROUND_ROBIN
      localityLbSetting:
        distribute:
        - from: r1/z1/*
          to: {"r1/z1/*": 80, "r2/*": 20}`);
  });
  afterAll(() => w.stop());

  test("80/20 between the gateway's zone and r2; r1/z2, named by no `to`, gets nothing", async () => {
    const seen = await bodies(port, 100);
    const count = (n: string) => seen.filter((b) => b === n).length;
    expect(count("c")).toBe(0);
    expect(count("a") + count("b")).toBe(80);
    expect(count("d")).toBe(20);
    expect(Math.abs(count("a") - count("b"))).toBeLessThanOrEqual(1);
  });
});

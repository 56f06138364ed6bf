// Outlier detection and consistent hashing through real workers: loopback
// backends (one fails on command), configuration compiled as the primary
// compiles it. An ejected endpoint gets no traffic until its ejection ends;
// a hash key lands on the same endpoint in two workers; a cookie policy with
// a ttl sets the cookie when the request has none.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { ejectedEndpoints } from "../../src/cli/proxy-config.ts";
import { beInternalEntry, beInternalRule, TO_BE_INTERNAL } from "../helpers/config.ts";
import { applyYamlOnFreePort } from "./apply-config.ts";
import { raw, WorkerHarness } from "./harness.ts";

const backends: Server<undefined>[] = [];
const failing = new Set<number>();

function start(id: number): Server<undefined> {
  const s = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      return failing.has(id) ? new Response("down", { status: 503 }) : new Response(`b${id}`);
    },
  });
  backends.push(s);
  return s;
}

function config(policy: string): string {
  return `${TO_BE_INTERNAL}${beInternalEntry(backends.map((b) => `  - {address: 127.0.0.1, ports: {http: ${b.port}}}`))}${beInternalRule(policy)}`;
}

async function get(port: number, extra = ""): Promise<{ status: number; body: string; head: string }> {
  const r = await raw(port, `GET / HTTP/1.1\r\nhost: be.internal\r\n${extra}connection: close\r\n\r\n`);
  const [head, body] = r.text.split("\r\n\r\n");
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(r.text)?.[1] ?? 0), body: body ?? "", head: head ?? "" };
}

beforeAll(() => {
  for (let i = 0; i < 3; i++) start(i);
});

afterAll(() => {
  for (const b of backends) b.stop(true);
});

describe("outlier detection", () => {
  let w: WorkerHarness;
  let port = 0;
  beforeAll(async () => {
    w = new WorkerHarness();
    port = await applyYamlOnFreePort(
      w,
      config(`    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 2, interval: 100ms, baseEjectionTime: 300ms, maxEjectionPercent: 50}`),
    );
  });
  afterAll(() => w.stop());

  test("a failing endpoint is ejected, gets nothing while ejected, and comes back when healthy", async () => {
    failing.add(1);
    // round robin: b1 answers 503 every third request; two in a row eject it
    const seen: string[] = [];
    for (let i = 0; i < 12 && seen.filter((b) => b === "down").length < 2; i++) seen.push((await get(port)).body);
    expect(seen.filter((b) => b === "down").length).toBe(2);
    const during = new Set<string>();
    for (let i = 0; i < 9; i++) during.add((await get(port)).body);
    expect([...during].sort()).toEqual(["b0", "b2"]);
    const m = await w.stats();
    const key = Object.keys(m).find((k) => k.startsWith("gangway_upstream_endpoint_ejected{") && k.includes(`:${backends[1]!.port}"`))!;
    expect(m[key]).toBe(1);
    expect(m['gangway_outlier_events_total{cluster="outbound|80||be.internal",action="eject"}']).toBe(1);
    // what proxy-config endpoints reads from the metrics
    const text = Object.entries(m).map(([k, v]) => `${k} ${v}`).join("\n");
    expect(ejectedEndpoints(text)).toEqual({ [`outbound|80||be.internal|127.0.0.1:${backends[1]!.port}`]: 1 });

    failing.delete(1);
    let back = false;
    for (let i = 0; i < 100 && !back; i++) {
      await Bun.sleep(30);
      back = (await get(port)).body === "b1";
    }
    expect(back).toBe(true);
  });
});

describe("consistent hash", () => {
  const policy = `    loadBalancer: {consistentHash: {httpHeaderName: x-user}}`;
  let w1: WorkerHarness;
  let w2: WorkerHarness;
  let p1 = 0;
  let p2 = 0;
  beforeAll(async () => {
    w1 = new WorkerHarness();
    w2 = new WorkerHarness();
    p1 = await applyYamlOnFreePort(w1, config(policy));
    p2 = await applyYamlOnFreePort(w2, config(policy));
  });
  afterAll(() => {
    w1.stop();
    w2.stop();
  });

  test("a user sticks to one endpoint, the same in two workers; users spread over the endpoints", async () => {
    const where = new Map<string, string>();
    for (let u = 0; u < 12; u++) {
      const a = (await get(p1, `x-user: user-${u}\r\n`)).body;
      expect((await get(p1, `x-user: user-${u}\r\n`)).body).toBe(a);
      expect((await get(p2, `x-user: user-${u}\r\n`)).body).toBe(a);
      where.set(`user-${u}`, a);
    }
    expect(new Set(where.values()).size).toBeGreaterThan(1);
  });

  test("cookie with ttl: set when missing (Envoy's Set-Cookie), then followed", async () => {
    const w = new WorkerHarness();
    try {
      const p = await applyYamlOnFreePort(w, config(`    loadBalancer: {consistentHash: {httpCookie: {name: affinity, path: /, ttl: 60s}}}`));
      const first = await get(p);
      const cookie = /^set-cookie: affinity="([0-9a-f]{16})"; Max-Age=60; Path=\/; HttpOnly$/im.exec(first.head);
      expect(cookie).not.toBeNull();
      for (let i = 0; i < 5; i++) {
        const r = await get(p, `cookie: affinity="${cookie![1]}"\r\n`);
        expect(r.body).toBe(first.body);
        expect(r.head.toLowerCase()).not.toContain("set-cookie");
      }
    } finally {
      w.stop();
    }
  });
});

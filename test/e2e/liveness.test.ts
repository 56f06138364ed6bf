// /healthz/live and the heartbeats through the real process (README "Health"): live
// through a reload; a worker stuck in a loop is terminated and restarted while the pod
// stays live; a blocked primary turns /healthz/live to 503 and back; the admin thread,
// thrown or stuck, is restarted and answers again on the same ports. Faults are made with
// GANGWAY_TEST_FAULT_FILE (src/test-fault.ts, for tests only).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { freePort, startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { appConfig } from "../helpers/config.ts";

let backend: Backend;
beforeAll(() => {
  backend = startHttpbin({ name: "app" });
});
afterAll(async () => {
  await backend.stop();
});

function config(prefix = "/never"): Record<string, string> {
  const route = "route: [{destination: {host: app.local, port: {number: 80}}}]";
  return { "gw.yaml": appConfig(backend.port, `  - match: [{uri: {prefix: ${prefix}}}]\n    ${route}\n  - ${route}`) };
}

interface Started {
  gw: GatewayProcess;
  dir: string;
  status: number;
  /** Makes the thread of `role` misbehave (src/test-fault.ts). */
  fault(text: string): void;
}

async function start(args: string[] = []): Promise<Started> {
  const dir = writeTree(config());
  const faultDir = mkdtempSync(join(tmpdir(), "gangway-fault-"));
  const faultFile = join(faultDir, "fault");
  const status = await freePort();
  const gw = await startGateway({
    configDirs: [dir],
    args: ["--status-port", `127.0.0.1:${status}`, ...args],
    env: { GANGWAY_TEST_FAULT_FILE: faultFile },
  });
  return {
    gw,
    dir,
    status,
    fault(text) {
      // renamed into place: a thread never reads half of it
      writeFileSync(join(faultDir, "next"), text);
      renameSync(join(faultDir, "next"), faultFile);
    },
  };
}

/** Status of a GET, or 0 when nothing answered (refused, reset, 2 s without an answer). */
async function statusOf(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

/** Poll `url` every 50 ms until it answers `want` (bounded); returns the statuses seen before. */
async function until(url: string, want: number, timeoutMs = 20_000): Promise<number[]> {
  const seen: number[] = [];
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusOf(url);
    if (s === want) return seen;
    seen.push(s);
    if (Date.now() > end) throw new Error(`${url} did not answer ${want}; saw ${[...new Set(seen)].join(",")}`);
    await Bun.sleep(50);
  }
}

async function metric(gw: GatewayProcess, series: string): Promise<number | null> {
  const text = await (await gw.admin("/stats/prometheus")).text();
  for (const line of text.split("\n")) if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  return null;
}

async function app(gw: GatewayProcess): Promise<number> {
  try {
    return (await fetch(gw.url(80, "/get"), { headers: { host: "app.example.com" }, signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 0;
  }
}

describe("/healthz/live", () => {
  test("200 through a reload, with the default timeout; heartbeat gauges reported", async () => {
    const s = await start();
    const live = `http://127.0.0.1:${s.status}/healthz/live`;
    try {
      const statuses: number[] = [];
      let polling = true;
      const poller = (async () => {
        for (let i = 0; i < 2000 && polling; i++) {
          statuses.push(await statusOf(live));
          await Bun.sleep(20);
        }
      })();
      const mark = s.gw.output().length;
      writeTree(config("/other"), s.dir);
      await s.gw.waitForOutput(/configuration reloaded/, 15_000, mark);
      polling = false;
      await poller;
      expect(statuses.length).toBeGreaterThan(0);
      expect([...new Set(statuses)]).toEqual([200]);
      expect(await (await s.gw.admin("/healthz/live")).text()).toBe("ALIVE\n");
      expect(await app(s.gw)).toBe(200);
      expect(await metric(s.gw, "gangway_worker_stuck_restarts_total")).toBe(0);
      expect(await metric(s.gw, "gangway_admin_thread_restarts_total")).toBe(0);
      expect(await metric(s.gw, 'gangway_heartbeat_max_gap_seconds{thread="primary"}')).toBeGreaterThan(0);
      expect(await metric(s.gw, 'gangway_heartbeat_max_gap_seconds{thread="worker"}')).not.toBeNull();
      expect(await metric(s.gw, 'gangway_heartbeat_max_gap_seconds{thread="admin"}')).not.toBeNull();
      expect(await metric(s.gw, 'gangway_worker_heartbeat_age_seconds{worker="1"}')).not.toBeNull();
    } finally {
      expect(await s.gw.stop()).toBe(0);
    }
  }, 40_000);

  test("a worker stuck in a loop is terminated and restarted; the pod stays live and serves again", async () => {
    const s = await start(["--liveness-timeout", "4s"]);
    const live = `http://127.0.0.1:${s.status}/healthz/live`;
    try {
      const mark = s.gw.output().length;
      s.fault("worker");
      await s.gw.waitForOutput(/worker stopped beating; terminating it/, 20_000, mark);
      expect(await statusOf(live)).toBe(200); // the primary beats: the process is live
      await s.gw.waitForOutput(/stuck worker ended; restarting it/, 20_000, mark);
      await until(`http://127.0.0.1:${s.status}/healthz/ready`, 200);
      expect(await app(s.gw)).toBe(200);
      expect(await statusOf(live)).toBe(200);
      expect(await metric(s.gw, "gangway_worker_stuck_restarts_total")).toBe(1);
      expect(await metric(s.gw, "gangway_worker_restarts_total")).toBe(1);
    } finally {
      expect(await s.gw.stop()).toBe(0);
    }
  }, 60_000);

  test("a blocked primary answers 503 with the reason, then 200 once it beats again; readiness keeps its answer", async () => {
    const s = await start(["--liveness-timeout", "4s"]);
    const live = `http://127.0.0.1:${s.status}/healthz/live`;
    try {
      s.fault("primary 8000");
      await until(live, 503);
      const r = await fetch(live);
      expect(await r.text()).toMatch(/^NOT LIVE: the primary has not beaten for \d+s \(--liveness-timeout 4s\)\n$/);
      // the workers serve on their own threads: still ready, and traffic flows
      expect(await statusOf(`http://127.0.0.1:${s.status}/healthz/ready`)).toBe(200);
      expect(await app(s.gw)).toBe(200);
      await until(live, 200);
      expect(await metric(s.gw, 'gangway_heartbeat_max_gap_seconds{thread="primary"}')).toBeGreaterThan(4);
    } finally {
      expect(await s.gw.stop()).toBe(0);
    }
  }, 60_000);
});

describe("the admin thread", () => {
  test("thrown: restarted, and the admin and status listeners answer again on their ports", async () => {
    const s = await start();
    try {
      const mark = s.gw.output().length;
      s.fault("admin");
      await s.gw.waitForOutput(/the admin thread ended/, 20_000, mark);
      await s.gw.waitForOutput(/admin thread restarted/, 20_000, mark);
      expect(await statusOf(`http://127.0.0.1:${s.status}/healthz/live`)).toBe(200);
      expect(await statusOf(`http://127.0.0.1:${s.status}/healthz/ready`)).toBe(200);
      expect((await s.gw.admin("/ready")).status).toBe(200);
      expect((await s.gw.admin("/config_dump")).status).toBe(200); // answered by the primary through the new thread
      expect(await metric(s.gw, "gangway_admin_thread_restarts_total")).toBe(1);
      expect(await app(s.gw)).toBe(200);
    } finally {
      expect(await s.gw.stop()).toBe(0);
    }
  }, 60_000);

  test("stuck: terminated after --liveness-timeout and restarted", async () => {
    const s = await start(["--liveness-timeout", "4s"]);
    try {
      const mark = s.gw.output().length;
      s.fault("admin-hang");
      await s.gw.waitForOutput(/the admin thread stopped beating; terminating it/, 20_000, mark);
      await s.gw.waitForOutput(/admin thread restarted/, 20_000, mark);
      expect(await statusOf(`http://127.0.0.1:${s.status}/healthz/live`)).toBe(200);
      expect((await s.gw.admin("/ready")).status).toBe(200);
      expect(await metric(s.gw, "gangway_admin_thread_restarts_total")).toBe(1);
    } finally {
      expect(await s.gw.stop()).toBe(0);
    }
  }, 60_000);
});

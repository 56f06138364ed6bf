// Durations longer than a timer can wait (2^31-1 ms, ~24.8 days): setTimeout fires
// after 1 ms for anything above, so `timeout: 1000h` (meant as "practically none")
// answered every request with a 504 at once. They are served as ~24.8 days.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { MAX_TIMER_MS } from "../../src/decode/duration.ts";
import { gatewayWithRoutes, loopbackServiceEntry } from "../helpers/config.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { applyYamlOnFreePort } from "./apply-config.ts";
import { startBackend } from "./backend.ts";
import { raw, WorkerHarness } from "./harness.ts";

let w: WorkerHarness;
let be: Server<undefined>;
beforeAll(() => {
  w = new WorkerHarness();
  be = startBackend("be");
});
afterAll(() => {
  w.stop();
  be.stop(true);
});

function config(route: string, trafficPolicy: string): string {
  return `${gatewayWithRoutes(`[{${route}, route: [{destination: {host: be.internal, port: {number: 80}}}]}]`)}${loopbackServiceEntry({ name: "be", host: "be.internal", port: 80, targetPort: be.port! })}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be}
spec:
  host: be.internal
  trafficPolicy: ${trafficPolicy}
`;
}

/** GET `path` through the worker; the status line and body. */
async function get(port: number, path: string): Promise<string> {
  const r = await raw(port, `GET ${path} HTTP/1.1\r\nhost: be.internal\r\nconnection: close\r\n\r\n`, undefined, 10_000);
  return `${r.text.split("\r\n")[0]} ${r.text.slice(r.text.indexOf("\r\n\r\n") + 4)}`;
}

describe("durations above what a timer can wait", () => {
  test("route timeout and per-try timeout of 1000h: the upstream's answer is served, not a 504 after 1 ms", async () => {
    const yaml = config("timeout: 1000h, retries: {attempts: 2, perTryTimeout: 1000h}", "{connectionPool: {tcp: {connectTimeout: 1000h}, http: {idleTimeout: 1000h}}}");
    const route = compileYaml(yaml).listeners[0]!.routeTable!.virtualHosts[0]!.routes[0]!;
    expect(route.timeoutMs).toBe(MAX_TIMER_MS);
    expect(route.retry?.perTryTimeoutMs).toBe(MAX_TIMER_MS);
    const port = await applyYamlOnFreePort(w, yaml);
    // the backend answers after 50 ms: well after a timer that fires at 1 ms
    expect(await get(port, "/delay/50")).toBe("HTTP/1.1 200 OK late");
  });
});

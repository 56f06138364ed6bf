// The Gateway API retry conformance cases end to end (httproute-retry,
// httproute-retry-connection-error, httproute-retry-with-timeouts): the real
// gateway process and, for infra-backend-v3, a loopback backend that answers
// `/retry/...` as the conformance echo server's retry simulator does: per
// `uuid`, the first `succeedAfter` tries fail (after `delayRetry`) with
// `responseCode`, or without one by aborting the connection (a TCP reset, no
// response); the tries after that are echoed with 200.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { configFiles, INFRA, type Backend } from "./gatewayapi-helpers.ts";

let sim: Server;
let gw: GatewayProcess;
const tries = new Map<string, number>();

function answer(s: Socket, status: number): void {
  const body = status === 200 ? '{"pod":"infra-backend-v3-0"}' : "";
  s.end(`HTTP/1.1 ${status} X\r\ncontent-length: ${body.length}\r\nconnection: close\r\nx-pod: infra-backend-v3-0\r\n\r\n${body}`);
}

/** The retry simulator: one request per connection (a GET, no body). */
function startSimulator(): Promise<number> {
  sim = createServer((s) => {
    let head = "";
    s.on("error", () => {});
    s.on("data", (d) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const target = head.slice(head.indexOf(" ") + 1, head.indexOf(" HTTP/"));
      const q = new URL(target, "http://x").searchParams;
      const uuid = q.get("uuid") ?? "";
      const n = tries.get(uuid) ?? 0;
      tries.set(uuid, n + 1);
      if (n >= Number(q.get("succeedAfter"))) return answer(s, 200);
      const delay = q.get("delayRetry") === null ? 0 : Number.parseInt(q.get("delayRetry")!, 10);
      const code = q.get("responseCode");
      setTimeout(() => (code === null ? s.resetAndDestroy() : answer(s, Number(code))), delay);
    });
  });
  return new Promise((resolve) => sim.listen(0, "127.0.0.1", () => resolve((sim.address() as { port: number }).port)));
}

beforeAll(async () => {
  const port = await startSimulator();
  const v3 = { namespace: INFRA, service: "infra-backend-v3", port } as Backend;
  const dir = writeTree(configFiles([v3], ["httproute-retry", "httproute-retry-connection-error", "httproute-retry-with-timeouts"]));
  gw = await startGateway({ configDirs: [dir], args: ["--gateway", `${INFRA}/same-namespace`, "--access-log", "off"], workers: 1 });
});

afterAll(async () => {
  await gw?.stop();
  sim?.close();
});

let id = 0;
/** One request as the conformance test sends it (a fresh uuid): the status, and how many tries reached the backend. */
async function send(path: string, params: Record<string, string>): Promise<[number, number]> {
  const uuid = `u${++id}`;
  const r = await fetch(gw.url(80, `${path}?${new URLSearchParams({ ...params, uuid })}`), { headers: { host: "example.com" } });
  await r.text();
  return [r.status, tries.get(uuid) ?? 0];
}

describe("Gateway API retry conformance cases through the gateway", () => {
  test("httproute-retry: listed codes are retried up to `attempts` retries; other codes are not", async () => {
    const cases: [string, Record<string, string>, number, number][] = [
      ["/retry/code-500-attempts-3", { responseCode: "500", succeedAfter: "2" }, 200, 3],
      ["/retry/code-500-attempts-3", { responseCode: "500", succeedAfter: "4" }, 500, 4],
      ["/retry/code-500-attempts-3", { responseCode: "503", succeedAfter: "2" }, 503, 1],
      ...(["500", "502", "503", "504"].flatMap((code) => [
        ["/retry/code-all-attempts-2", { responseCode: code, succeedAfter: "1" }, 200, 2],
        ["/retry/code-all-attempts-2", { responseCode: code, succeedAfter: "3" }, Number(code), 3],
      ]) as [string, Record<string, string>, number, number][]),
    ];
    for (const [path, params, status, n] of cases) expect([path, params, ...(await send(path, params))]).toEqual([path, params, status, n]);
  });

  test("httproute-retry-connection-error: a connection reset before the response is retried (a retry stanza without codes)", async () => {
    expect(await send("/retry/no-status-code-attempts-3", { succeedAfter: "2" })).toEqual([200, 3]);
    const [status, n] = await send("/retry/no-status-code-attempts-3", { succeedAfter: "4" });
    expect([[500, 503].includes(status), n]).toEqual([true, 4]);
  });

  test("httproute-retry-with-timeouts: a try longer than backendRequest is retried; retries end at the request timeout (504)", async () => {
    // the conformance test's backend delays are 300 ms and 100 ms; longer here so that a timer that fires
    // late on a loaded machine cannot let a failing try's answer arrive first (the timeouts are the manifest's)
    const slow = { responseCode: "500", delayRetry: "1000ms" };
    expect(await send("/retry/backend-request-timeout-200ms", { ...slow, succeedAfter: "2" })).toEqual([200, 3]);
    expect((await send("/retry/backend-request-timeout-200ms", { ...slow, succeedAfter: "3" }))[0]).toBe(504);
    expect(await send("/retry/request-timeout-200ms", { responseCode: "500", succeedAfter: "1" })).toEqual([200, 2]);
    expect((await send("/retry/request-timeout-200ms", { responseCode: "500", succeedAfter: "4", delayRetry: "250ms" }))[0]).toBe(504);
  });
});

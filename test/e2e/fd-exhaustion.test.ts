// Out of file descriptors: the worker cannot open a socket to the upstream. Bun
// reports that failure synchronously, inside Bun.connect (workers/connect.ts
// connectFailed); the request must still end, as a connect failure (503 UF after
// the retries), never wait for ever, and requests are served again once
// descriptors are free.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Socket } from "bun";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { HTTP_GATEWAY, serviceEntry } from "../helpers/config.ts";
import { fillDescriptors, freeDescriptors, rawClient as conn, until } from "../helpers/fd-fill.ts";

const LIMIT = 160;
let backend: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;

function vs(name: string, host: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  gateways: [gw]
  http: [{route: [{destination: {host: ${host}, port: {number: 80}}}]}]
`;
}

beforeAll(async () => {
  backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  const dir = writeTree({
    "c.yaml": [HTTP_GATEWAY, vs("warm", "warm.local"), vs("cold", "cold.local"), serviceEntry("warm", "warm.local", 80, backend.port!), serviceEntry("cold", "cold.local", 80, backend.port!)].join("\n---\n"),
  });
  gw = await startGateway({ configDirs: [dir], workers: 1, fdLimit: LIMIT });
});

afterAll(async () => {
  await gw?.stop();
  backend?.stop(true);
});

const get = (host: string): string => `GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`;

test("no descriptor for the upstream socket: 503 UF after the retries, not a hang; served again when descriptors are free", async () => {
  const port = gw.ports.get(80)!;
  const a = await conn(port);
  a.s.write(get("warm.local"));
  expect(await until(() => a.text().includes("\r\n\r\nok"), 5000)).toBe(true);
  expect(a.text()).toStartWith("HTTP/1.1 200");
  // fill the worker's descriptor table with idle client connections (the rest wait in the backlog)
  const fillers: Socket<undefined>[] = [];
  const mark = gw.output().length;
  expect(await fillDescriptors(gw.proc.pid, port, LIMIT, fillers)).toBe(true);
  // the primary's once-a-second poll cannot list the config folder now: no change, nothing reloaded or rejected
  await Bun.sleep(2500);
  expect(gw.output().slice(mark)).not.toMatch(/rejected|reload failed/);
  const before = a.text().length;
  a.s.write(get("cold.local")); // a new cluster: a new upstream connection, no descriptor for it
  const answered = await until(() => /\r\n\r\n/.test(a.text().slice(before)), 8000);
  const reply = a.text().slice(before);
  expect(answered).toBe(true);
  expect(reply).toStartWith("HTTP/1.1 503");
  expect(reply).toContain("upstream connect error");
  expect(await freeDescriptors(gw.proc.pid, LIMIT, fillers)).toBe(true);
  const b = await conn(port);
  b.s.write(get("cold.local"));
  expect(await until(() => b.text().includes("\r\n\r\nok"), 5000)).toBe(true);
  expect(b.text()).toStartWith("HTTP/1.1 200");
  a.s.end();
  b.s.end();
}, 30_000);

// A configuration change made while the process is out of file descriptors:
// the reload cannot read the file (EMFILE), the last good configuration keeps
// serving, and the change is applied once descriptors are free, without a
// further edit. `--config FILE`: the watcher's fingerprint of a file is a
// stat (no descriptor), so it looks the same before and after the failed read;
// the primary must try the load again itself (src/load/watch.ts, serve.ts).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Socket } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HTTP_GATEWAY, serviceEntry } from "../helpers/config.ts";
import { fillDescriptors, freeDescriptors, rawClient as conn, until } from "../helpers/fd-fill.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

const LIMIT = 160;
let backend: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;
let file = "";

const vs = (host: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${host.split(".")[0]}}
spec:
  hosts: [${host}]
  gateways: [gw]
  http: [{route: [{destination: {host: app.local, port: {number: 80}}}]}]
`;
const config = (hosts: string[]) => [HTTP_GATEWAY, serviceEntry("app", "app.local", 80, backend.port!), ...hosts.map(vs)].join("\n---\n");

beforeAll(async () => {
  backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  file = join(writeTree({ "c.yaml": config(["a.local"]) }), "c.yaml");
  gw = await startGateway({ configDirs: [file], workers: 1, fdLimit: LIMIT });
});

afterAll(async () => {
  await gw?.stop();
  backend?.stop(true);
});

const status = async (host: string): Promise<number> => (await fetch(gw.url(80, "/"), { headers: { host } })).status;

test("a change made while out of descriptors is applied once they are free (the last good configuration serves meanwhile)", async () => {
  const port = gw.ports.get(80)!;
  expect(await status("a.local")).toBe(200);
  expect(await status("b.local")).toBe(404);
  const a = await conn(port); // open before the table fills: asks during the shortage
  const fillers: Socket<undefined>[] = [];
  expect(await fillDescriptors(gw.proc.pid, port, LIMIT, fillers)).toBe(true);

  const mark = gw.output().length;
  writeFileSync(file, config(["a.local", "b.local"]));
  await gw.waitForOutput(/configuration rejected; the last good configuration keeps serving/, 10_000, mark);
  a.s.write("GET / HTTP/1.1\r\nhost: a.local\r\n\r\n");
  expect(await until(() => a.text().includes("\r\n\r\nok"), 5000)).toBe(true); // the last good configuration

  expect(await freeDescriptors(gw.proc.pid, LIMIT, fillers)).toBe(true);
  // no further edit: the failed load is tried again
  expect(await until(async () => (await status("b.local")) === 200, 8000)).toBe(true);
  expect(await status("a.local")).toBe(200);
  a.s.end();
}, 40_000);

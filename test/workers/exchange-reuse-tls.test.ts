// Exchanges made again on TLS connections (exchange.ts recycleRetired): a kept-alive TLS client's
// finished exchanges are made again for its next requests, and the list of finished exchanges
// waiting to be made again stays bounded (before, a TLS-only worker never recycled them and the
// list grew by one exchange per request). The data plane runs in this process so both counts are seen.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Agent, request } from "node:https";
import { exchangesRenewed, exchangesRetired } from "../../workers/http/exchange.ts";
import { startTlsApp, type TlsApp } from "./tls-app-fixture.ts";

let app: TlsApp;

beforeAll(async () => {
  app = await startTlsApp();
});

afterAll(() => {
  app.stop();
});

function get(agent: Agent, i: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: app.port, servername: "httpbin.example.com", path: `/echo?i=${i}`, headers: { host: "httpbin.example.com" }, ca: app.pki.ca.cert, agent },
      (res) => {
        let body = "";
        res.setEncoding("latin1");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

test("a kept-alive TLS client's exchanges are made again; the finished list stays bounded", async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const before = exchangesRenewed();
  const n = 200;
  for (let i = 0; i < n; i++) {
    const r = await get(agent, i);
    expect(r.status).toBe(200);
    expect(exchangesRetired()).toBeLessThanOrEqual(64);
  }
  agent.destroy();
  expect(exchangesRenewed() - before).toBeGreaterThan(n / 2);
});

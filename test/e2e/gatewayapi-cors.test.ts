// The Gateway API conformance case httproute-cors end to end, every request of
// conformance/tests/httproute-cors.go with what it accepts: the status (a
// preflight: 200 or 204), header values (any of the listed ones, whitespace
// ignored, list order free) and headers that must be absent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { configFiles, INFRA, send, startBackends, type Backend } from "./gatewayapi-helpers.ts";

let backends: Backend[];
let gw: GatewayProcess;

beforeAll(async () => {
  backends = startBackends();
  gw = await startGateway({ configDirs: [writeTree(configFiles(backends, ["httproute-cors"]))], args: ["--gateway", `${INFRA}/same-namespace`, "--access-log", "off"], workers: 1 });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends ?? []) b.server.stop(true);
});

interface Case {
  name: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  /** Statuses accepted (a preflight: 200 or 204); a forwarded request must reach infra-backend-v1. */
  status: number[];
  values?: Record<string, string[]>;
  absent?: string[];
}

const PRE = [200, 204];
const ALLOWED_1 = {
  "access-control-allow-origin": [],
  "access-control-allow-methods": ["GET, OPTIONS", "OPTIONS, GET"],
  "access-control-allow-headers": ["x-header-1, x-header-2", "x-header-2, x-header-1"],
  "access-control-expose-headers": ["x-header-3, x-header-4", "x-header-4, x-header-3"],
  "access-control-max-age": ["3600"],
  "access-control-allow-credentials": ["true"],
};
const preflight1 = (origin: string): Case => ({
  name: `preflight from ${origin} is allowed`,
  path: "/cors-1",
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "x-header-1, x-header-2" },
  status: PRE,
  values: { ...ALLOWED_1, "access-control-allow-origin": [origin] },
});
const simple1 = (origin: string): Case => ({
  name: `simple request from ${origin} is allowed`,
  path: "/cors-1",
  method: "GET",
  headers: { origin },
  status: [200],
  values: { "access-control-allow-origin": [origin], "access-control-expose-headers": ["x-header-3, x-header-4", "x-header-4, x-header-3"], "access-control-allow-credentials": ["true"] },
});
const NOT_ALLOWED = ["access-control-allow-origin"];
const wildcardOrigin = (origin: string, method: string): Case => ({
  name: `${method} from ${origin} on an allowOrigins "*" route`,
  path: "/cors-wildcard-origin",
  method,
  headers: method === "OPTIONS" ? { origin, "access-control-request-method": "PUT" } : { origin },
  status: method === "OPTIONS" ? PRE : [200],
  values: { "access-control-allow-origin": [origin, "*"], ...(method === "OPTIONS" ? { "access-control-allow-methods": ["PUT"] } : {}) },
  absent: ["access-control-allow-credentials"],
});
const REQ_HEADERS = { origin: "https://other.foo.com", "access-control-request-method": "PUT", "access-control-request-headers": "x-header-1, x-header-2" };

const CASES: Case[] = [
  preflight1("https://www.foo.com"),
  preflight1("https://www.bar.com"),
  preflight1("https://xpto.www.bar.com"),
  {
    name: "preflight from a non-matching origin is not allowed",
    path: "/cors-1",
    method: "OPTIONS",
    headers: { origin: "https://foobar.com", "access-control-request-method": "GET" },
    status: [200, 204, 403],
    absent: NOT_ALLOWED,
  },
  simple1("https://www.foo.com"),
  simple1("https://www.bar.com"),
  { name: "simple request from a non-matching origin is not allowed", path: "/cors-1", method: "GET", headers: { origin: "https://foobar.com" }, status: [200], absent: NOT_ALLOWED },
  {
    name: "preflight with POST is allowed by allowMethods *",
    path: "/cors-2",
    method: "OPTIONS",
    headers: { origin: "https://www.foo.com", "access-control-request-method": "POST" },
    status: PRE,
    values: { "access-control-allow-methods": ["POST", "*"], "access-control-allow-origin": ["https://www.foo.com"] },
    absent: ["access-control-allow-credentials"],
  },
  wildcardOrigin("https://foobar.com", "OPTIONS"),
  wildcardOrigin("https://foobar.com:12345", "OPTIONS"),
  wildcardOrigin("https://foobar.com:12345", "PUT"),
  wildcardOrigin("https://foobar.com", "PUT"),
  {
    name: "preflight with allowCredentials: the origin, method and headers echoed (never *)",
    path: "/cors-wildcard-methods-headers",
    method: "OPTIONS",
    headers: REQ_HEADERS,
    status: PRE,
    values: {
      "access-control-allow-origin": ["https://other.foo.com"],
      "access-control-allow-methods": ["PUT"],
      "access-control-allow-headers": ["x-header-1, x-header-2", "x-header-2, x-header-1"],
      "access-control-allow-credentials": ["true"],
    },
  },
  {
    name: "preflight without allowCredentials: no allow-credentials",
    path: "/cors-wildcard-methods-headers-unauth",
    method: "OPTIONS",
    headers: REQ_HEADERS,
    status: PRE,
    values: {
      "access-control-allow-origin": ["https://other.foo.com", "*"],
      "access-control-allow-methods": ["PUT", "*"],
      "access-control-allow-headers": ["x-header-1, x-header-2", "x-header-2, x-header-1", "*"],
    },
    absent: ["access-control-allow-credentials"],
  },
  {
    name: "request with allowCredentials gets allow-credentials",
    path: "/cors-wildcard-methods-headers",
    method: "GET",
    headers: { origin: "https://other.foo.com" },
    status: [200],
    values: { "access-control-allow-origin": ["https://other.foo.com"], "access-control-allow-credentials": ["true"] },
  },
  {
    name: "request without allowCredentials gets no allow-credentials",
    path: "/cors-wildcard-methods-headers-unauth",
    method: "GET",
    headers: { origin: "https://other.foo.com" },
    status: [200],
    values: { "access-control-allow-origin": ["https://other.foo.com", "*"] },
    absent: ["access-control-allow-credentials"],
  },
];

const squash = (v: string) => v.replace(/\s+/g, "");

describe("httproute-cors through the gateway", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const a = await send(gw, c.path, { method: c.method, headers: c.headers });
      const problems: string[] = [];
      if (!c.status.includes(a.status)) problems.push(`status ${a.status}`);
      if (c.method !== "OPTIONS" && a.pod !== "infra-backend-v1-0") problems.push(`answered by ${a.pod}`);
      for (const [name, ok] of Object.entries(c.values ?? {})) {
        const got = a.headers.get(name);
        if (got === null || !ok.map(squash).includes(squash(got))) problems.push(`${name}: ${got}`);
      }
      for (const name of c.absent ?? []) if (a.headers.get(name) !== null) problems.push(`${name} present: ${a.headers.get(name)}`);
      expect(problems).toEqual([]);
    });
  }
});

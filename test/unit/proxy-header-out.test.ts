// The PROXY protocol header sent on upstream connections (DestinationRule
// proxyProtocol): exact v1 and v2 bytes for IPv4 and IPv6, mixed and
// IPv4-mapped families, no address, each read back by the listener's parser;
// and the DestinationRule field compiled into the cluster, merged and checked.
import { describe, expect, test } from "bun:test";
import { decodeFiles } from "../../src/decode/index.ts";
import { endpointOf, proxyHeader, sameHeader } from "../../workers/proxy-header-out.ts";
import { parseProxyHeader, type ProxiedAddress } from "../../workers/proxy-protocol.ts";
import { gatewayWithRoutes } from "../helpers/config.ts";
import { compileYaml, findingLines } from "./pipeline-helpers.ts";

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

function readBack(b: Buffer): ProxiedAddress & { len: number } {
  const out: ProxiedAddress = { ip: "", port: 0 };
  const len = parseProxyHeader(b, out);
  return { ...out, len };
}

describe("header encoding", () => {
  test("v1 IPv4", () => {
    const h = proxyHeader(1, { ip: "203.0.113.7", port: 51234 }, { ip: "10.0.0.1", port: 443 });
    expect(h.toString("latin1")).toBe("PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n");
    expect(readBack(h)).toEqual({ ip: "203.0.113.7", port: 51234, len: h.length });
  });
  test("v1 IPv6", () => {
    const h = proxyHeader(1, { ip: "2001:db8::7", port: 4321 }, { ip: "::1", port: 80 });
    expect(h.toString("latin1")).toBe("PROXY TCP6 2001:db8::7 ::1 4321 80\r\n");
    expect(readBack(h)).toEqual({ ip: "2001:db8::7", port: 4321, len: h.length });
  });
  test("v2 IPv4: PROXY command, TCP over IPv4, 12 address bytes, no TLV", () => {
    const h = proxyHeader(2, { ip: "198.51.100.9", port: 2222 }, { ip: "10.0.0.1", port: 443 });
    expect([...h]).toEqual([...SIG, 0x21, 0x11, 0, 12, 198, 51, 100, 9, 10, 0, 0, 1, 0x08, 0xae, 0x01, 0xbb]);
    expect(readBack(h)).toEqual({ ip: "198.51.100.9", port: 2222, len: 28 });
  });
  test("v2 IPv6: TCP over IPv6, 36 address bytes", () => {
    const h = proxyHeader(2, { ip: "2001:db8::7", port: 4321 }, { ip: "2001:db8:0:0:1::1", port: 443 });
    expect([...h]).toEqual([
      ...SIG, 0x21, 0x21, 0, 36,
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1,
      0x10, 0xe1, 0x01, 0xbb,
    ]);
    expect(readBack(h)).toEqual({ ip: "2001:db8::7", port: 4321, len: 52 });
  });
  test("IPv4-mapped addresses on both ends (a dual-stack listener) are written as IPv4", () => {
    expect(proxyHeader(1, { ip: "::ffff:127.0.0.2", port: 1 }, { ip: "::ffff:127.0.0.1", port: 2 }).toString()).toBe("PROXY TCP4 127.0.0.2 127.0.0.1 1 2\r\n");
  });
  test("mixed families: both as IPv6, the IPv4 one IPv4-mapped", () => {
    const h1 = proxyHeader(1, { ip: "192.0.2.1", port: 1 }, { ip: "2001:db8::1", port: 2 });
    expect(h1.toString()).toBe("PROXY TCP6 ::ffff:192.0.2.1 2001:db8::1 1 2\r\n");
    const h2 = proxyHeader(2, { ip: "192.0.2.1", port: 1 }, { ip: "2001:db8::1", port: 2 });
    expect([...h2.subarray(16, 32)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    expect(readBack(h2).ip).toBe("::ffff:192.0.2.1");
  });
  test("no address known: v1 UNKNOWN, v2 LOCAL", () => {
    expect(proxyHeader(1, { ip: "", port: 0 }, { ip: "10.0.0.1", port: 80 }).toString()).toBe("PROXY UNKNOWN\r\n");
    const h = proxyHeader(2, { ip: "", port: 0 }, { ip: "10.0.0.1", port: 80 });
    expect([...h]).toEqual([...SIG, 0x20, 0, 0, 0]);
    expect(readBack(h)).toEqual({ ip: "", port: 0, len: 16 });
  });
  test("endpointOf reads the access log's ip:port forms", () => {
    expect(endpointOf("127.0.0.2:5000")).toEqual({ ip: "127.0.0.2", port: 5000 });
    expect(endpointOf("[::1]:80")).toEqual({ ip: "::1", port: 80 });
    expect(endpointOf("")).toEqual({ ip: "", port: 0 });
  });
  test("sameHeader compares bytes", () => {
    const a = proxyHeader(1, { ip: "127.0.0.1", port: 1 }, { ip: "127.0.0.1", port: 2 });
    expect(sameHeader(a, Buffer.from(a))).toBe(true);
    expect(sameHeader(a, proxyHeader(1, { ip: "127.0.0.2", port: 1 }, { ip: "127.0.0.1", port: 2 }))).toBe(false);
    expect(sameHeader(null, null)).toBe(true);
    expect(sameHeader(a, null)).toBe(false);
  });
});

const SVC = `apiVersion: v1
kind: Service
metadata: {name: be}
spec:
  ports: [{name: http, port: 8000}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: be}
subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{name: http, port: 8080}]}]
---
`;
const ROUTES = gatewayWithRoutes(`  - match: [{uri: {prefix: /v2}}]\n    route: [{destination: {host: be, subset: v2}}]\n  - route: [{destination: {host: be}}]`, "[a.com]");
const DR = (spec: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: be, namespace: default}
spec:
  host: be
${spec}
`;
const C = "outbound|8000||be.default.svc.cluster.local";
const CV2 = "outbound|8000|v2|be.default.svc.cluster.local";

describe("DestinationRule proxyProtocol", () => {
  test("{} is V1; V2; no GW0407 for it", () => {
    const s = compileYaml(ROUTES + SVC + DR("  trafficPolicy: {proxyProtocol: {}}\n  subsets: [{name: v2, labels: {}, trafficPolicy: {proxyProtocol: {version: V2}}}]"));
    expect(s.clusters.get(C)?.upstream?.proxyProtocol).toBe(1);
    expect(s.clusters.get(CV2)?.upstream?.proxyProtocol).toBe(2);
    expect(findingLines(s).filter((l) => l.includes("proxyProtocol"))).toEqual([]);
  });
  test("a subset without one keeps the rule's; a port-level entry keeps it too (Istio's merge leaves it)", () => {
    const s = compileYaml(
      ROUTES + SVC + DR("  trafficPolicy:\n    proxyProtocol: {version: V2}\n    portLevelSettings: [{port: {number: 8000}, loadBalancer: {simple: RANDOM}}]\n  subsets: [{name: v2, labels: {}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}]"),
    );
    expect(s.clusters.get(C)?.upstream?.proxyProtocol).toBe(2);
    expect(s.clusters.get(CV2)?.upstream?.proxyProtocol).toBe(2);
    expect(s.clusters.get(C)?.lbPolicy).toBe("RANDOM");
  });
  test("no proxyProtocol: none on the cluster", () => {
    const s = compileYaml(ROUTES + SVC + DR("  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n  subsets: [{name: v2, labels: {}}]"));
    expect(s.clusters.get(C)?.upstream?.proxyProtocol).toBeUndefined();
  });
  test("an unknown version is an error naming the file, document and field (Istio's schema: V1 or V2)", () => {
    const errs = decodeFiles([{ path: "dr.yaml", text: DR("  trafficPolicy: {proxyProtocol: {version: V3}}") }]).errors;
    expect(errs.map((f) => `${f.level} ${f.file} ${f.doc} ${f.field}: ${f.message}`)).toEqual(['Error dr.yaml 0 spec.trafficPolicy.proxyProtocol.version: must be one of "V1", "V2", got "V3"']);
  });
  test("in a portLevelSettings entry: not a field there in Istio's API (its schema rejects it), so an error too", () => {
    const errs = decodeFiles([{ path: "dr.yaml", text: DR("  trafficPolicy:\n    portLevelSettings: [{port: {number: 8000}, proxyProtocol: {version: V2}}]") }]).errors;
    expect(errs.map((f) => `${f.level} ${f.field}: ${f.message}`)).toEqual(['Error spec.trafficPolicy.portLevelSettings[0].proxyProtocol: unknown field "proxyProtocol"']);
  });
});

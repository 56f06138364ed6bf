// Conformance features/path_rules.feature (kubernetes-sigs/ingress-controller-conformance)
// through the real gateway (2 workers): every scenario of the Exact, Prefix,
// mixed and trailing-slash tables.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { send, serviceYaml, startEcho, type Echo } from "./ingress-helpers.ts";

const NS = "path-rules-ns";
const path = (p: string, type: string, svc: string) => `          - path: ${p}
            pathType: ${type}
            backend:
              service:
                name: ${svc}
                port:
                  number: 8080
`;
const INGRESS = `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: path-rules
  namespace: ${NS}
  annotations: {kubernetes.io/ingress.class: istio}
spec:
  rules:
    - host: "exact-path-rules"
      http:
        paths:
${path("/foo", "Exact", "foo-exact")}
    - host: "prefix-path-rules"
      http:
        paths:
${path("/foo", "Prefix", "foo-prefix")}${path("/aaa/bbb", "Prefix", "aaa-slash-bbb-prefix")}${path("/aaa", "Prefix", "aaa-prefix")}
    - host: "mixed-path-rules"
      http:
        paths:
${path("/foo", "Prefix", "foo-prefix")}${path("/foo", "Exact", "foo-exact")}
    - host: "trailing-slash-path-rules"
      http:
        paths:
${path("/aaa/bbb/", "Prefix", "aaa-slash-bbb-slash-prefix")}${path("/foo/", "Exact", "foo-slash-exact")}`;

const SERVICES = ["foo-exact", "foo-prefix", "aaa-slash-bbb-prefix", "aaa-prefix", "aaa-slash-bbb-slash-prefix", "foo-slash-exact"];

// [scenario, host, path, the service that must answer or the status]
const SCENARIOS: [string, string, string, string | number][] = [
  ["exact path rules should send traffic to the matching backend service (exact /foo matches request /foo)", "exact-path-rules", "/foo", "foo-exact"],
  ["exact path rules should not match requests with trailing slash (exact /foo does not match request /foo/)", "exact-path-rules", "/foo/", 404],
  ["exact path rules should be case sensitive (exact /foo does not match request /FOO)", "exact-path-rules", "/FOO", 404],
  ["exact path rules should not match any other label (exact /foo does not match request /bar)", "exact-path-rules", "/bar", 404],
  ["prefix path rules should send traffic to the matching backend service (prefix /foo matches request /foo)", "prefix-path-rules", "/foo", "foo-prefix"],
  ["prefix path rules should ignore the request trailing slash (prefix /foo matches request /foo/)", "prefix-path-rules", "/foo/", "foo-prefix"],
  ["prefix path rules should be case sensitive (prefix /foo does not match request /FOO)", "prefix-path-rules", "/FOO", 404],
  ["prefix path rules should match multiple labels, match the longest path (prefix /aaa/bbb matches request /aaa/bbb)", "prefix-path-rules", "/aaa/bbb", "aaa-slash-bbb-prefix"],
  ["prefix path rules should match multiple labels, the longest path, and subpaths (prefix /aaa/bbb matches request /aaa/bbb/ccc)", "prefix-path-rules", "/aaa/bbb/ccc", "aaa-slash-bbb-prefix"],
  ["prefix path rules should send traffic to the matching backend service (prefix /aaa matches request /aaa/ccc)", "prefix-path-rules", "/aaa/ccc", "aaa-prefix"],
  ["prefix path rules should match each labels string prefix (prefix /aaa does not match request /aaaccc)", "prefix-path-rules", "/aaaccc", 404],
  ["mixed path rules should send traffic to the matching backend service where Exact is preferred (exact /foo matches request /foo)", "mixed-path-rules", "/foo", "foo-exact"],
  ["a trailing slash in a prefix path rule should be ignored (prefix /aaa/bbb/ matches request /aaa/bbb)", "trailing-slash-path-rules", "/aaa/bbb", "aaa-slash-bbb-slash-prefix"],
  ["a trailing slash in a prefix path rule should be ignored (prefix /aaa/bbb/ matches request /aaa/bbb/)", "trailing-slash-path-rules", "/aaa/bbb/", "aaa-slash-bbb-slash-prefix"],
  ["a trailing slash in an exact path rule should not match requests without it (exact /foo/ does not match request /foo)", "trailing-slash-path-rules", "/foo", 404],
];

describe("Feature: Path rules", () => {
  const echoes: Echo[] = [];
  let gw: GatewayProcess;
  beforeAll(async () => {
    let yaml = "";
    for (const s of SERVICES) {
      const e = startEcho(s);
      echoes.push(e);
      yaml += serviceYaml(NS, s, [e]);
    }
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": yaml + INGRESS })] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await Promise.all(echoes.map((e) => e.stop()));
  });

  for (const [scenario, host, p, want] of SCENARIOS) {
    test(`An Ingress with ${scenario}`, async () => {
      const a = await send(gw, host, p);
      if (typeof want === "number") {
        expect(a.status).toBe(want);
        expect(a.pod).toBeNull();
      } else {
        expect(a.status).toBe(200);
        expect(a.service).toBe(want);
        expect(a.echo!.path).toBe(p);
      }
    });
  }
});

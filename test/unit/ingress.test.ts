// Kubernetes Ingress → routes, as Istio's ingress controller converts it.
import { describe, expect, test } from "bun:test";
import { compileYaml, findingLines, get, HTTPBIN_SERVICE } from "./pipeline-helpers.ts";

const ingress = (name: string, spec: string, meta = "", api = "networking.k8s.io/v1") => `---
apiVersion: ${api}
kind: Ingress
metadata: {name: ${name}${meta}}
spec:
${spec}
`;

const ANNOTATED = ", annotations: {kubernetes.io/ingress.class: istio}";

describe("walkthrough: Ingress with the istio class annotation (v1beta1, /status/*)", () => {
  const s = compileYaml(
    HTTPBIN_SERVICE +
      ingress(
        "ingress",
        `  rules:
  - host: httpbin.example.com
    http:
      paths:
      - path: /status/*
        backend: {serviceName: httpbin, servicePort: 8000}`,
        ANNOTATED,
        "networking.k8s.io/v1beta1",
      ),
  );
  const cases: [string, string, number][] = [
    ["httpbin.example.com", "/status/200", 200],
    ["httpbin.example.com", "/status", 200],
    ["httpbin.example.com:31194", "/status/418", 200],
    ["httpbin.example.com", "/statusx", 404],
    ["httpbin.example.com", "/headers", 404],
    ["other.example.com", "/status/200", 404],
  ];
  for (const [host, path, status] of cases) test(`${host}${path} → ${status}`, () => expect(get(s, host, path).status).toBe(status));

  test("port 80 listener from the Ingress, cluster as for a VirtualService", () => {
    expect(s.listeners.map((l) => [l.name, l.sources])).toEqual([["0.0.0.0_80", ["Ingress/default/ingress#0"]]]);
    expect(get(s, "httpbin.example.com", "/status/200").cluster).toBe("outbound|8000||httpbin.default.svc.cluster.local");
    expect(findingLines(s)).toEqual([]);
  });
});

describe("which Ingresses are ours", () => {
  const paths = "  rules:\n  - http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: httpbin, port: {number: 8000}}}}";
  const cls = (name: string, controller: string) => `---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: ${name}}
spec: {controller: ${controller}}
`;
  test("ingressClassName naming an IngressClass with Istio's controller", () => {
    const s = compileYaml(HTTPBIN_SERVICE + cls("istio", "istio.io/ingress-controller") + ingress("i", `  ingressClassName: istio\n${paths}`));
    expect(get(s, "any.host", "/x").status).toBe(200);
  });

  test("other classes, missing classes and no class are not served, with a finding", () => {
    const s = compileYaml(
      HTTPBIN_SERVICE +
        cls("nginx", "k8s.io/ingress-nginx") +
        ingress("a", `  ingressClassName: nginx\n${paths}`) +
        ingress("b", `  ingressClassName: missing\n${paths}`) +
        ingress("c", paths) +
        ingress("d", paths, ", annotations: {kubernetes.io/ingress.class: nginx}"),
    );
    expect(s.listeners).toEqual([]);
    expect(findingLines(s).filter((l) => l.includes("GW0501"))).toEqual([
      "Info GW0501 Ingress/default/a: IngressClass nginx is for controller k8s.io/ingress-nginx: not served",
      'Warning GW0501 Ingress/default/b: IngressClass "missing" not found: not served',
      "Warning GW0501 Ingress/default/c: no ingress class: not served (add annotation kubernetes.io/ingress.class: istio, or ingressClassName naming an IngressClass with controller istio.io/ingress-controller)",
      'Info GW0501 Ingress/default/d: class "nginx" is not istio: not served',
    ]);
  });
});

describe("paths: pathType, Istio's fallbacks, longest first across Ingresses", () => {
  const backend = (status: number) => `{service: {name: b${status}, port: {number: 80}}}`;
  const svcs = [1, 2, 3, 4, 5]
    .map((i) => `---\napiVersion: v1\nkind: Service\nmetadata: {name: b${i}}\nspec: {ports: [{name: http, port: 80}]}\n`)
    .join("");
  const s = compileYaml(
    svcs +
      ingress(
        "one",
        `  rules:
  - host: a.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: ${backend(1)}}
      - {path: /app/, pathType: Prefix, backend: ${backend(2)}}
      - {path: /app/exact, pathType: Exact, backend: ${backend(3)}}`,
        `${ANNOTATED}, creationTimestamp: "2024-01-01T00:00:00Z"`,
      ) +
      ingress(
        "two",
        `  rules:
  - host: a.com
    http:
      paths:
      - {path: /app/long.*, pathType: ImplementationSpecific, backend: ${backend(4)}}
      - {path: /app/exact, pathType: Prefix, backend: ${backend(5)}}`,
        `${ANNOTATED}, creationTimestamp: "2024-01-02T00:00:00Z"`,
      ),
  );
  const hit = (path: string) => get(s, "a.com", path).cluster;
  const cases: [string, string][] = [
    ["/app/exact", "outbound|80||b3.default.svc.cluster.local"], // exact beats a prefix of the same length
    ["/app/exact/x", "outbound|80||b5.default.svc.cluster.local"],
    ["/app/longer", "outbound|80||b2.default.svc.cluster.local"], // /app/long is a path-element prefix
    ["/app/long/x", "outbound|80||b4.default.svc.cluster.local"],
    ["/app", "outbound|80||b2.default.svc.cluster.local"], // Prefix /app/ matches /app
    ["/apple", "outbound|80||b1.default.svc.cluster.local"],
    ["/", "outbound|80||b1.default.svc.cluster.local"],
  ];
  for (const [path, cluster] of cases) test(`${path} → ${cluster}`, () => expect(hit(path)).toBe(cluster));
});

describe("backends and TLS", () => {
  test("named service ports resolve through the Service; an unknown name skips the path", () => {
    const s = compileYaml(
      HTTPBIN_SERVICE +
        ingress(
          "i",
          `  rules:
  - http:
      paths:
      - {path: /a, pathType: Exact, backend: {service: {name: httpbin, port: {name: http}}}}
      - {path: /b, pathType: Exact, backend: {service: {name: httpbin, port: {name: grpc}}}}`,
          ANNOTATED,
        ),
    );
    expect(get(s, "h", "/a").cluster).toBe("outbound|8000||httpbin.default.svc.cluster.local");
    expect(get(s, "h", "/b").status).toBe(404);
    expect(findingLines(s)).toContain('Warning GW0502 Ingress/default/i: Service default/httpbin has no port named "grpc": path skipped');
  });

  test("tls entries add an HTTPS server on 443 with the secret as credential", () => {
    const s = compileYaml(
      HTTPBIN_SERVICE +
        ingress(
          "i",
          `  tls: [{hosts: [a.com], secretName: a-cert}]
  rules:
  - host: a.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: httpbin, port: {number: 8000}}}}]`,
          ANNOTATED,
        ),
    );
    expect(s.listeners.map((l) => [l.port, l.protocol, l.routeTable?.name ?? l.tls?.chains.map((c) => c.name)])).toEqual([
      [80, "HTTP", "http.80"],
      [443, "HTTPS", ["https.443.https-443-ingress-i-default-0.i-istio-autogenerated-k8s-ingress-default.istio-system"]],
    ]);
    // the Secret is looked up in the Ingress's namespace, then the gateway's: missing here, so the handshake fails
    const t = get(s, "a.com", "/", { port: 443 });
    expect(t.outcome).toBe("handshake_failed");
    expect(t.reason).toContain("istio-system/a-cert not found");
  });

  test("an Ingress and a VirtualService for the same host share the virtual host, Ingress routes first", () => {
    const s = compileYaml(
      HTTPBIN_SERVICE +
        ingress("i", "  rules:\n  - host: a.com\n    http:\n      paths: [{path: /i, pathType: Exact, backend: {service: {name: httpbin, port: {number: 8000}}}}]", ANNOTATED) +
        `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [a.com]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [a.com]
  gateways: [gw]
  http: [{match: [{uri: {prefix: /}}], directResponse: {status: 299}}]
`,
    );
    expect(get(s, "a.com", "/i").status).toBe(200);
    expect(get(s, "a.com", "/other").status).toBe(299);
    expect(s.listeners[0]!.routeTable!.virtualHosts[0]!.routes.map((r) => r.source)).toEqual(["Ingress/default/i", "VirtualService/default/vs"]);
  });
});

// Conformance features/default_backend.feature and load_balancing.feature
// (kubernetes-sigs/ingress-controller-conformance) through the real gateway
// (2 workers): an Ingress with only a defaultBackend takes every request; with
// 10 replicas behind it, 100 requests reach all 10.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { send, serviceYaml, startEcho, type Echo } from "./ingress-helpers.ts";

const onlyDefault = (name: string, ns: string) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: ${ns}, annotations: {kubernetes.io/ingress.class: istio}}
spec:
  defaultBackend:
    service:
      name: echo-service
      port:
        number: 8080
`;

describe("Feature: Default backend", () => {
  let echo: Echo;
  let gw: GatewayProcess;
  beforeAll(async () => {
    echo = startEcho("echo-service");
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": serviceYaml("default-backend-ns", "echo-service", [echo]) + onlyDefault("default-backend", "default-backend-ns") })] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await echo.stop();
  });

  const examples: [string, string, string][] = [
    ["GET", "my-host", ""],
    ["GET", "my-host", "sub-path"],
    ["POST", "some-host", ""],
    ["PUT", "", "resource"],
    ["DELETE", "some-host", "resource"],
    ["PATCH", "my-host", "resource"],
  ];
  for (const [method, host, path] of examples) {
    test(`An Ingress with no rules should send all requests to the default backend: ${method} http://${host || "<address>"}/${path}`, async () => {
      const a = await send(gw, host, `/${path}`, method);
      expect(a.status).toBe(200);
      expect(a.service).toBe("echo-service");
      for (const h of ["content-length", "content-type", "date", "server"]) expect(a.headers.get(h)).not.toBeNull();
      expect(a.echo!.method).toBe(method);
      expect(a.echo!.path).toBe(`/${path}`);
      expect(a.echo!.headers["user-agent"]).toBe("Go-http-client/1.1");
    });
  }
});

describe("Feature: Load Balancing", () => {
  const pods: Echo[] = [];
  let gw: GatewayProcess;
  beforeAll(async () => {
    for (let i = 0; i < 10; i++) pods.push(startEcho("echo-service", `echo-service-${i}`));
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": serviceYaml("load-balancing-ns", "echo-service", pods) + onlyDefault("load-balancing", "load-balancing-ns") })] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await Promise.all(pods.map((p) => p.stop()));
  });

  test("An Ingress with no rules should send all requests to the default backend and use all 10 pods", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const a = await send(gw, "load-balancing", "/");
      expect(a.status).toBe(200);
      seen.add(a.pod!);
    }
    expect(seen.size).toBe(10);
  });
});

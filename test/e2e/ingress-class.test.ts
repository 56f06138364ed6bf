// Conformance features/ingress_class.feature (kubernetes-sigs/ingress-controller-conformance)
// through the real gateway (2 workers): an Ingress naming an IngressClass that
// does not exist is not served (while one naming Istio's class is), with the
// finding logged at load.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { send, serviceYaml, startEcho, type Echo } from "./ingress-helpers.ts";

const NS = "ingress-class-ns";
const ingress = (name: string, cls: string, host: string) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  ingressClassName: ${cls}
  rules:
    - host: "${host}"
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ingress-class-prefix
                port:
                  number: 8080
`;
const ISTIO_CLASS = `---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: istio}
spec: {controller: istio.io/ingress-controller}
`;

describe("Feature: Ingress class", () => {
  let echo: Echo;
  let gw: GatewayProcess;
  beforeAll(async () => {
    echo = startEcho("ingress-class-prefix");
    const yaml = serviceYaml(NS, "ingress-class-prefix", [echo]) + ISTIO_CLASS + ingress("test-ingress-class", "some-invalid-class-name", "ingress-class") + ingress("served", "istio", "served");
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": yaml })] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await echo.stop();
  });

  test("An Ingress with an invalid ingress class should not send traffic to the matching backend service", async () => {
    const a = await send(gw, "ingress-class", "/");
    expect(a.status).toBe(404);
    expect(a.pod).toBeNull();
    expect(gw.output()).toContain(`Ingress/${NS}/test-ingress-class: spec.ingressClassName: IngressClass "some-invalid-class-name" not found: not served [GW0501]`);
  });

  test("(control) the same Ingress naming Istio's IngressClass is served", async () => {
    const a = await send(gw, "served", "/");
    expect(a.status).toBe(200);
    expect(a.service).toBe("ingress-class-prefix");
  });
});

describe("--ingress-class and --ingress-mode default on the command line", () => {
  let echo: Echo;
  let gw: GatewayProcess;
  const classed = (name: string, annotation: string) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: ${NS}${annotation === "" ? "" : `\n  annotations: {kubernetes.io/ingress.class: ${annotation}}`}
spec:
  rules:
    - host: "${name}"
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: ingress-class-prefix, port: {number: 8080}}}}]
`;
  beforeAll(async () => {
    echo = startEcho("ingress-class-prefix");
    const yaml = serviceYaml(NS, "ingress-class-prefix", [echo]) + classed("gangway-class", "gangway") + classed("istio-class", "istio") + classed("no-class", "");
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": yaml })], args: ["--ingress-class", "gangway", "--ingress-mode", "default"] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await echo.stop();
  });

  test("the configured class and unclassed Ingresses are served; the istio class is not", async () => {
    const answers = await Promise.all(["gangway-class", "istio-class", "no-class"].map(async (h) => (await send(gw, h, "/")).status));
    expect(answers).toEqual([200, 404, 200]);
  });
});

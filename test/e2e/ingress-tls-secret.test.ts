// Where an Ingress's tls.secretName is read from, through the real gateway: the
// Ingress's namespace, else the gateway's; never a namespace written into the
// name (`other/cert`), which the API server refuses and istiod's SDS would not
// serve (a cross-namespace Secret the Ingress's author may not own).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { secretYaml } from "../../src/cli/certs.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake, httpsGet } from "../helpers/https.ts";
import { serviceYaml, startEcho, type Echo } from "./ingress-helpers.ts";

const tlsIngress = (name: string, host: string, secretName: string) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: apps, annotations: {kubernetes.io/ingress.class: istio}}
spec:
  tls: [{hosts: [${host}], secretName: "${secretName}"}]
  rules:
  - host: ${host}
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 8080}}}}]
`;

describe("Ingress tls.secretName: the Ingress's namespace or the gateway's, no other", () => {
  let ca: Issued;
  let echo: Echo;
  let gw: GatewayProcess;
  beforeAll(async () => {
    ca = await createCA({ cn: "tls-secret", keyType: "ec" });
    const [own, borrowed] = await Promise.all([issue(ca, { cn: "own.example", usage: "server", keyType: "ec" }), issue(ca, { cn: "borrowed.example", usage: "server", keyType: "ec" })]);
    echo = startEcho("echo");
    const yaml =
      serviceYaml("apps", "echo", [echo]) +
      "---\n" +
      secretYaml("own-cert", "apps", "tls", own.cert, own.key) +
      "---\n" +
      secretYaml("borrowed-cert", "other", "tls", borrowed.cert, borrowed.key) +
      tlsIngress("own", "own.example", "own-cert") +
      tlsIngress("borrow", "borrowed.example", "other/borrowed-cert");
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": yaml })], gatewayPorts: [80, 443] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await echo.stop();
  });

  test("a Secret beside the Ingress serves its host", async () => {
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "own.example", path: "/", ca: ca.cert });
    expect(r.status).toBe(200);
    expect(r.headers["x-pod"]).toBe("echo-0");
  });

  test("secretName other/borrowed-cert: another namespace's Secret is not presented, the handshake fails", async () => {
    const h = await handshake({ port: gw.ports.get(443)!, servername: "borrowed.example", ca: ca.cert });
    expect(h.ok).toBe(false);
  });

  test("the host still routes on port 80", async () => {
    const r = await fetch(gw.url(80, "/"), { headers: { host: "borrowed.example" } });
    expect(r.status).toBe(200);
    await r.arrayBuffer();
  });
});

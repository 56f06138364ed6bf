// Conformance features/host_rules.feature (kubernetes-sigs/ingress-controller-conformance)
// through the real gateway (2 workers): TLS for foo.bar.com with a self-signed
// Secret in the Ingress's namespace, an exact host, and a wildcard host covering
// exactly one DNS label.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { secretYaml } from "../../src/cli/certs.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { httpsGet } from "../helpers/https.ts";
import { send, serviceYaml, startEcho, type Echo } from "./ingress-helpers.ts";

const NS = "host-rules-ns";
const INGRESS = `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: host-rules
  namespace: ${NS}
  annotations: {kubernetes.io/ingress.class: istio}
spec:
  tls:
    - hosts:
        - foo.bar.com
      secretName: conformance-tls
  rules:
    - host: "*.foo.com"
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: wildcard-foo-com
                port:
                  number: 8080

    - host: foo.bar.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: foo-bar-com
                port:
                  name: http
`;

describe("Feature: Host rules", () => {
  let ca: Issued;
  let wildcard: Echo;
  let fooBar: Echo;
  let gw: GatewayProcess;
  beforeAll(async () => {
    ca = await createCA({ cn: "conformance", keyType: "ec" });
    const cert = await issue(ca, { cn: "foo.bar.com", usage: "server", keyType: "ec" });
    wildcard = startEcho("wildcard-foo-com");
    fooBar = startEcho("foo-bar-com");
    const yaml = serviceYaml(NS, "wildcard-foo-com", [wildcard]) + serviceYaml(NS, "foo-bar-com", [fooBar]) + "---\n" + secretYaml("conformance-tls", NS, "tls", cert.cert, cert.key) + INGRESS;
    gw = await startGateway({ configDirs: [writeTree({ "ingress.yaml": yaml })], gatewayPorts: [80, 443] });
  }, 20_000);
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
    await Promise.all([wildcard.stop(), fooBar.stop()]);
  });

  test("An Ingress with a host rule should send TLS traffic to the matching backend service (host foo.bar.com matches request foo.bar.com)", async () => {
    // the secure connection must verify the foo.bar.com hostname: httpsGet rejects an unverified certificate
    const r = await httpsGet({ port: gw.ports.get(443)!, servername: "foo.bar.com", path: "/", ca: ca.cert });
    expect(r.status).toBe(200);
    expect(r.headers["x-pod"]).toBe("foo-bar-com-0");
    expect(JSON.parse(r.body).host).toBe("foo.bar.com");
  });

  test("An Ingress with a host rule should send traffic to the matching backend service (host foo.bar.com matches request foo.bar.com)", async () => {
    const a = await send(gw, "foo.bar.com", "/");
    expect(a.status).toBe(200);
    expect(a.service).toBe("foo-bar-com");
    expect(a.echo!.host).toBe("foo.bar.com");
  });

  test("An Ingress with a host rule should not route traffic when hostname does not match (host foo.bar.com does not match request subdomain.bar.com)", async () => {
    expect((await send(gw, "subdomain.bar.com", "/")).status).toBe(404);
  });

  test("An Ingress with a wildcard host rule should send traffic to the matching backend service (matches based on shared suffix)", async () => {
    const a = await send(gw, "bar.foo.com", "/");
    expect(a.status).toBe(200);
    expect(a.service).toBe("wildcard-foo-com");
    expect(a.echo!.host).toBe("bar.foo.com");
  });

  test("An Ingress with a wildcard host rule should not route traffic matching on more than a single dns label (baz.bar.foo.com)", async () => {
    expect((await send(gw, "baz.bar.foo.com", "/")).status).toBe(404);
  });

  test("An Ingress with a wildcard host rule should not route traffic matching no dns label (foo.com)", async () => {
    expect((await send(gw, "foo.com", "/")).status).toBe(404);
  });
});

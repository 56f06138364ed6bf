// Gateway API TLS listener in mode Terminate, through the real gateway process:
// a TLS client (SNI, the gateway's certificate) reaches a plain TCP echo
// backend by a TLSRoute, and another by a TCPRoute on a second Terminate
// listener; the backend sees plain bytes; an SNI no listener takes fails the
// handshake.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { connect, type PeerCertificate } from "node:tls";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";
import { handshake } from "../helpers/https.ts";
import { configFiles, INFRA } from "./gatewayapi-helpers.ts";

function config(): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-terminate, namespace: ${INFRA}}
spec:
  gatewayClassName: istio
  listeners:
  - name: tls-terminate
    port: 8883
    protocol: TLS
    hostname: tls.example.com
    tls: {mode: Terminate, certificateRefs: [{name: terminate-cert}]}
    allowedRoutes: {kinds: [{kind: TLSRoute}]}
  - name: tcp-terminate
    port: 8883
    protocol: TLS
    hostname: tcp.example.com
    tls: {mode: Terminate, certificateRefs: [{name: terminate-cert}]}
    allowedRoutes: {kinds: [{kind: TCPRoute}]}
---
apiVersion: gateway.networking.k8s.io/v1alpha3
kind: TLSRoute
metadata: {name: terminated, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw-terminate, sectionName: tls-terminate}]
  hostnames: [tls.example.com]
  rules: [{backendRefs: [{name: tcp-backend, port: 3000}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: terminated-tcp, namespace: ${INFRA}}
spec:
  parentRefs: [{name: gw-terminate, sectionName: tcp-terminate}]
  rules: [{backendRefs: [{name: tcp-echo-2, port: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: tcp-echo-2, namespace: ${INFRA}}
spec:
  ports: [{name: echo-tcp-plain, port: 3000, protocol: TCP}]
`;
}

/** A plain TCP echo server: answers every chunk with `<name>:` and the bytes. */
function echo(name: string): TCPSocketListener<undefined> {
  return Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s, d) => void s.write(`${name}:${d.toString()}`) } });
}

function slice(service: string, port: number): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${service}-e2e, namespace: ${INFRA}, labels: {kubernetes.io/service-name: ${service}}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1]}]
ports: [{name: echo-tcp-plain, port: ${port}}]
`;
}

/** Connect with TLS (SNI `servername`), send `text`, read until `want` bytes came back or 5 s passed. */
function exchange(port: number, servername: string, ca: string, text: string, want: number): Promise<{ reply: string; peer: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, servername, ca, rejectUnauthorized: true }, () => s.write(text));
    let reply = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no full reply in 5 s: ${JSON.stringify(reply)}`));
    }, 5000);
    s.on("data", (d: Buffer) => {
      reply += d.toString();
      if (reply.length >= want) {
        clearTimeout(timer);
        const peer = s.getPeerCertificate();
        s.end();
        resolve({ reply, peer });
      }
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

let ca: Issued;
let gw: GatewayProcess;
let backends: TCPSocketListener<undefined>[] = [];

beforeAll(async () => {
  ca = await createCA({ cn: "example.com", keyType: "ec" });
  const cert = await issue(ca, { cn: "tls.example.com", names: ["tls.example.com", "tcp.example.com"], org: "the gateway", usage: "server", keyType: "ec" });
  backends = [echo("one"), echo("two")];
  const files = configFiles([], []);
  files["slices.yaml"] = slice("tcp-backend", backends[0]!.port) + "---\n" + slice("tcp-echo-2", backends[1]!.port);
  files["terminate.yaml"] = config() + "---\n" + secretYaml("terminate-cert", INFRA, "tls", cert.cert, cert.key);
  gw = await startGateway({ configDirs: [writeTree(files)], gatewayPorts: [8883], workers: 1, args: ["--gateway", `${INFRA}/gw-terminate`, "--access-log", "off"] });
});

afterAll(async () => {
  await gw?.stop();
  for (const b of backends) b.stop(true);
});

describe("Gateway API TLS listener, mode Terminate", () => {
  test("a TLSRoute: the gateway ends the TLS (its certificate) and the plain TCP backend gets the bytes", async () => {
    const r = await exchange(gw.ports.get(8883)!, "tls.example.com", ca.cert, "hello", "one:hello".length);
    expect(r.reply).toBe("one:hello");
    expect(r.peer.subject.O).toBe("the gateway");
  });

  test("a TCPRoute on another Terminate listener of the port, chosen by SNI", async () => {
    const r = await exchange(gw.ports.get(8883)!, "tcp.example.com", ca.cert, "hi", "two:hi".length);
    expect(r.reply).toBe("two:hi");
  });

  test("an SNI no listener takes fails the handshake", async () => {
    const h = await handshake({ port: gw.ports.get(8883)!, servername: "other.example.com", ca: ca.cert });
    expect(h.ok).toBe(false);
  });

  test("status: both listeners Accepted and Programmed with their route attached", async () => {
    const doc = (await (await gw.admin("/status")).json()) as { items: { kind: string; metadata: { name: string }; status: { listeners?: { name: string; attachedRoutes: number; conditions: { type: string; status: string }[] }[] } }[] };
    const g = doc.items.find((i) => i.kind === "Gateway" && i.metadata.name === "gw-terminate")!;
    expect(g.status.listeners!.map((l) => [l.name, l.attachedRoutes, l.conditions.filter((c) => c.type === "Accepted" || c.type === "Programmed").map((c) => c.status)])).toEqual([
      ["tls-terminate", 1, ["True", "True"]],
      ["tcp-terminate", 1, ["True", "True"]],
    ]);
  });
});

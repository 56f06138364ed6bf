// DestinationRule tls through a real worker: configuration compiled as the
// primary compiles it, requests on real sockets to loopback HTTPS backends
// with their own CA (one requiring a client certificate). A refused
// handshake is a 503 with flag UF and the TLS reason in the access log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import tls from "node:tls";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { logTail } from "../helpers/access-log.ts";
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { gatewayWithRoutes, loopbackServiceEntry, secret } from "../helpers/config.ts";
import { compileOnPort } from "./apply-config.ts";
import { raw, WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

let ca: Issued;
let otherCa: Issued;
let client: Issued;
const servers: tls.Server[] = [];
let simplePort = 0;
let mutualPort = 0;
let gwPort = 0;
let w: WorkerHarness;
const dir = mkdtempSync(join(tmpdir(), "gw-up-tls-"));
const logFile = join(dir, "access.log");

/** A TLS backend answering every request head with its SNI and the client certificate's CN (node:tls: the peer certificate is readable). */
async function backend(cert: Issued, requireClient: boolean): Promise<number> {
  const s = tls.createServer({ cert: cert.cert, key: cert.key, ca: ca.cert, requestCert: requireClient, rejectUnauthorized: requireClient }, (c) => {
    c.on("error", () => {});
    let buf = "";
    c.on("data", (d) => {
      buf += d.toString("latin1");
      while (buf.includes("\r\n\r\n")) {
        buf = buf.slice(buf.indexOf("\r\n\r\n") + 4);
        const cn = String(c.getPeerCertificate()?.subject?.CN ?? "");
        const body = "hello over tls";
        c.write(`HTTP/1.1 200 OK\r\nx-sni: ${(c as unknown as { servername?: string }).servername ?? ""}\r\nx-client-cn: ${cn}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  s.on("tlsClientError", () => {});
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

function config(dr: string, secrets = ""): string {
  return `${gatewayWithRoutes(`  - match: [{uri: {prefix: /simple}}]
    route: [{destination: {host: simple.internal, port: {number: 443}}}]
  - match: [{uri: {prefix: /mutual}}]
    route: [{destination: {host: mutual.internal, port: {number: 443}}}]`)}${loopbackServiceEntry({ name: "simple", host: "simple.internal", port: 443, targetPort: simplePort, portName: "https", protocol: "TLS" })}${loopbackServiceEntry({ name: "mutual", host: "mutual.internal", port: 443, targetPort: mutualPort, portName: "https", protocol: "TLS" })}${secrets}
${dr}`;
}

const dr = (host: string, tls: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host.split(".")[0]}}
spec:
  host: ${host}
  trafficPolicy:
    tls: ${tls}
---
`;

async function apply(yaml: string) {
  const s = compileOnPort(yaml, gwPort);
  await w.apply(s);
  return s;
}

async function get(path: string, host = "simple.internal") {
  const r = await raw(gwPort, `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
  const log = await nextLog();
  const [head, body] = r.text.split("\r\n\r\n");
  const h = (n: string) => new RegExp(`^${n}: (.*)$`, "mi").exec(head ?? "")?.[1] ?? "";
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(r.text)?.[1] ?? 0), body: body ?? "", h, log };
}

/** The access-log line of the session or request that just ended (waited for, bounded). */
const nextLog = logTail(logFile);

beforeAll(async () => {
  ca = await createCA({ cn: "upstream-ca", keyType: "ec" });
  otherCa = await createCA({ cn: "other-ca", keyType: "ec" });
  const srv = await issue(ca, { cn: "simple.internal", names: ["simple.internal", "mutual.internal"], usage: "server", keyType: "ec" });
  client = await issue(ca, { cn: "the-gateway", usage: "client", keyType: "ec" });
  simplePort = await backend(srv, false);
  mutualPort = await backend(srv, true);
  gwPort = freePort();
  w = new WorkerHarness({ accessLog: logFile });
});

afterAll(() => {
  w.stop();
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("upstream TLS through the worker", () => {
  test("SIMPLE with the backend's CA: served over TLS, SNI from the request's host", async () => {
    await apply(config(dr("simple.internal", "{mode: SIMPLE, credentialName: up-ca}"), secret("up-ca", { "ca.crt": ca.cert })));
    const r = await get("/simple");
    expect([r.status, r.body, r.h("x-sni")]).toEqual([200, "hello over tls", "simple.internal"]);
  });

  test("auto SNI: requests for two hosts to one cluster each get a connection with their own SNI", async () => {
    expect((await get("/simple", "mutual.internal")).h("x-sni")).toBe("mutual.internal");
    expect((await get("/simple", "simple.internal")).h("x-sni")).toBe("simple.internal");
  });

  test("the sni field is sent instead", async () => {
    await apply(config(dr("simple.internal", "{mode: SIMPLE, credentialName: up-ca, sni: mutual.internal}"), secret("up-ca", { "ca.crt": ca.cert })));
    expect((await get("/simple")).h("x-sni")).toBe("mutual.internal");
  });

  test("a CA that did not sign the backend: 503 UF, the verify error in the log", async () => {
    await apply(config(dr("simple.internal", "{mode: SIMPLE, credentialName: up-ca}"), secret("up-ca", { "ca.crt": otherCa.cert })));
    const r = await get("/simple");
    expect([r.status, r.body]).toEqual([503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure"]);
    const line = r.log;
    expect(line).toContain(" 503 UF ");
    expect(line).toMatch(/TLS_error:_(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
  });

  test("MUTUAL: the client certificate from credentialName is presented", async () => {
    await apply(config(dr("mutual.internal", "{mode: MUTUAL, credentialName: gw-client}"), secret("gw-client", { "tls.crt": client.cert, "tls.key": client.key, "ca.crt": ca.cert })));
    const r = await get("/mutual", "mutual.internal");
    expect([r.status, r.h("x-client-cn")]).toEqual([200, "the-gateway"]);
  });

  test("rotation: a new credential applies to the next connection", async () => {
    await apply(config(dr("simple.internal", "{mode: SIMPLE, credentialName: up-ca}"), secret("up-ca", { "ca.crt": otherCa.cert })));
    expect((await get("/simple")).status).toBe(503);
    await apply(config(dr("simple.internal", "{mode: SIMPLE, credentialName: up-ca}"), secret("up-ca", { "ca.crt": ca.cert })));
    expect((await get("/simple")).status).toBe(200);
  });

  test("a Secret that is missing: 503 UF without a connection, the reason logged", async () => {
    const s = await apply(config(dr("simple.internal", "{mode: SIMPLE, credentialName: nope}")));
    expect(s.findings.some((f) => f.code === "GW0408")).toBe(true);
    const r = await get("/simple");
    expect(r.status).toBe(503);
    expect(r.log).toContain(" 503 UF ");
    expect(r.log).toContain("TLS_error:_Secret_istio-system/nope_not_found");
  });

  test("without a DestinationRule the backend is spoken to in plaintext (and answers 400 or hangs up)", async () => {
    await apply(config(""));
    expect((await get("/simple")).status).not.toBe(200);
  });
});

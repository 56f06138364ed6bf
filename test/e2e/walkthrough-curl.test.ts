// The walkthrough replayed as a user types it: certificates made by the
// walkthrough's own openssl commands (RSA 2048, a leaf with no SAN, CN only),
// Secrets as `kubectl create secret tls` / `generic --from-file` make them, the
// shipped config/walkthrough YAML, and real curl (which offers h2 by ALPN, so
// the TLS steps run over HTTP/2 as they would against Istio). The other
// walkthrough tests use in-process clients and generated EC certificates.
// Skipped when openssl or curl is missing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpbin, type Backend } from "../../src/demo/httpbin.ts";
import { serviceEntry } from "../helpers/config.ts";
import { startGateway, writeTree, type GatewayProcess } from "../helpers/gateway.ts";

const CONFIG = join(import.meta.dir, "..", "..", "config", "walkthrough");
const tools = Bun.which("openssl") !== null && Bun.which("curl") !== null;
const HOST = "httpbin.example.com";

let certs = "";
let httpbin: Backend;
let gw: GatewayProcess;
let dir = "";

function openssl(args: string): void {
  const r = Bun.spawnSync(["sh", "-c", `openssl ${args}`], { cwd: certs, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args}: ${r.stderr.toString()}`);
}

const b64 = (file: string) => readFileSync(join(certs, file)).toString("base64");

/** What `kubectl create -n istio-system secret generic httpbin-credential --from-file=k=file ...` applies. */
function secret(type: string, files: Record<string, string>): string {
  const data = Object.entries(files).map(([k, f]) => `  ${k}: ${b64(f)}`).join("\n");
  return `apiVersion: v1\nkind: Secret\nmetadata: {name: httpbin-credential, namespace: istio-system}\ntype: ${type}\ndata:\n${data}\n`;
}

/** curl as the walkthrough runs it (bounded); its exit code and `-w` output. */
async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["curl", "-s", "--max-time", "10", ...args], { cwd: certs, stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  return { code: await p.exited, out };
}

const secure = (path: string, extra: string[] = []) => {
  const port = gw.ports.get(443)!;
  return curl(["-o", "/dev/null", "-w", "%{http_code} %{http_version}", "-HHost:httpbin.example.com", "--resolve", `${HOST}:${port}:127.0.0.1`, "--cacert", "example.com.crt", ...extra, `https://${HOST}:${port}${path}`]);
};

/** Poll `f` until `pred` holds (a hot reload taking effect), bounded. */
async function until<T>(f: () => Promise<T>, pred: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await f();
  while (!pred(v) && Date.now() < end) {
    await Bun.sleep(200);
    v = await f();
  }
  return v;
}

beforeAll(async () => {
  if (!tools) return;
  certs = mkdtempSync(join(tmpdir(), "gangway-walkthrough-certs-"));
  // the walkthrough's commands, as written
  openssl("req -x509 -sha256 -nodes -days 365 -newkey rsa:2048 -subj '/O=example Inc./CN=example.com' -keyout example.com.key -out example.com.crt");
  openssl('req -out httpbin.example.com.csr -newkey rsa:2048 -nodes -keyout httpbin.example.com.key -subj "/CN=httpbin.example.com/O=httpbin organization"');
  openssl("x509 -req -days 365 -CA example.com.crt -CAkey example.com.key -set_serial 0 -in httpbin.example.com.csr -out httpbin.example.com.crt");
  openssl('req -out client.example.com.csr -newkey rsa:2048 -nodes -keyout client.example.com.key -subj "/CN=client.example.com/O=client organization"');
  openssl("x509 -req -days 365 -CA example.com.crt -CAkey example.com.key -set_serial 1 -in client.example.com.csr -out client.example.com.crt");
  httpbin = startHttpbin({ name: "httpbin" });
  dir = writeTree({
    "httpbin.yaml": serviceEntry("httpbin", "httpbin.default.svc.cluster.local", 8000, httpbin.port),
    // both steps' VirtualServices are named httpbin (the walkthrough deletes the first): renamed here
    "http-gateway.yaml": readFileSync(join(CONFIG, "01-http-gateway", "httpbin-gateway.yaml"), "utf8").replace(/name: httpbin\n/, "name: httpbin-http\n"),
    "mygateway.yaml": readFileSync(join(CONFIG, "05-tls-simple", "mygateway.yaml"), "utf8"),
    "httpbin-credential.yaml": secret("kubernetes.io/tls", { "tls.crt": "httpbin.example.com.crt", "tls.key": "httpbin.example.com.key" }),
  });
  gw = await startGateway({ configDirs: [dir], gatewayPorts: [80, 443], args: ["--access-log", "off"] });
});
afterAll(async () => {
  if (!tools) return;
  await gw.stop();
  await httpbin.stop();
});

describe.skipIf(!tools)("the walkthrough with openssl and curl", () => {
  test("curl -s -I -HHost:httpbin.example.com http://$INGRESS_HOST:$INGRESS_PORT/status/200 → 200, server: istio-envoy", async () => {
    const r = await curl(["-I", "-HHost:httpbin.example.com", gw.url(80, "/status/200")]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.out.toLowerCase()).toContain("server: istio-envoy");
  });

  test("/headers is not routed: 404", async () => {
    const r = await curl(["-o", "/dev/null", "-w", "%{http_code}", "-HHost:httpbin.example.com", gw.url(80, "/headers")]);
    expect(r.out).toBe("404");
  });

  test("SIMPLE: curl --cacert example.com.crt https://httpbin.example.com/status/418 → the teapot, over h2 (ALPN)", async () => {
    const r = await secure("/status/418");
    expect(r).toEqual({ code: 0, out: "418 2" });
  });

  test("SIMPLE over HTTP/1.1 too", async () => {
    expect(await secure("/status/418", ["--http1.1"])).toEqual({ code: 0, out: "418 1.1" });
  });

  test("a CA that did not sign the server's certificate (same subject as the real one): curl refuses it", async () => {
    openssl("req -x509 -sha256 -nodes -days 365 -newkey rsa:2048 -subj '/O=example Inc./CN=example.com' -keyout other.key -out other.crt");
    const port = gw.ports.get(443)!;
    const r = await curl(["-o", "/dev/null", "--resolve", `${HOST}:${port}:127.0.0.1`, "--cacert", "other.crt", `https://${HOST}:${port}/status/418`]);
    expect([35, 60]).toContain(r.code); // OpenSSL reports the bad signature during the handshake (35); NSS said 60
  });

  test("MUTUAL (generic Secret with ca.crt, hot reloaded): no client certificate fails; client.example.com's gets the teapot", async () => {
    writeFileSync(
      join(dir, "httpbin-credential.yaml"),
      secret("Opaque", { "tls.key": "httpbin.example.com.key", "tls.crt": "httpbin.example.com.crt", "ca.crt": "example.com.crt" }),
    );
    writeFileSync(join(dir, "mygateway.yaml"), readFileSync(join(dir, "mygateway.yaml"), "utf8").replace("mode: SIMPLE", "mode: MUTUAL"));
    const refused = await until(() => secure("/status/418"), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0); // 35 or 56: the handshake, or the first read, fails
    const ok = await secure("/status/418", ["--cert", "./client.example.com.crt", "--key", "./client.example.com.key"]);
    expect(ok).toEqual({ code: 0, out: "418 2" });
  });
});

// `--mesh-config FILE` is read as configuration files are: why it cannot be read,
// the size limit, and UTF-8 (or UTF-16 with its byte order mark) are checked; bytes
// that are not text are an Error, never mesh options with U+FFFD in them.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMeshConfig } from "../../src/primary/pipeline.ts";

const dir = mkdtempSync(join(tmpdir(), "gangway-mesh-"));
const MESH = "defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 2\n";

function read(name: string, bytes: Buffer | string) {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return readMeshConfig(p);
}

describe("readMeshConfig", () => {
  test("UTF-8 and UTF-16 with a byte order mark are read", () => {
    expect(read("utf8.yaml", MESH).mesh.numTrustedProxies).toBe(2);
    const r = read("utf16.yaml", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(MESH, "utf16le")]));
    expect(r.errors).toEqual([]);
    expect(r.mesh.numTrustedProxies).toBe(2);
  });

  test("bytes that are not UTF-8 are an Error naming the byte", () => {
    const r = read("latin1.yaml", Buffer.from(`# caf\u00e9\n${MESH}`, "latin1"));
    expect(r.errors.map((e) => [e.level, e.code])).toEqual([["Error", "GW0101"]]);
    expect(r.errors[0]!.message).toContain("is not UTF-8 text: byte 0xe9");
  });

  test("a missing file says why; one above the size limit is not read", () => {
    const missing = readMeshConfig(join(dir, "nope.yaml"));
    expect(missing.errors[0]!.message).toContain("ENOENT");
    const big = read("big.yaml", Buffer.alloc(8 * 1024 * 1024 + 1, 0x20));
    expect(big.errors.map((e) => e.code)).toEqual(["GW0002"]);
  });

  test("a field gangway does not read is a Warning naming it (GW0009); the fields it reads are not", () => {
    const r = read(
      "unread.yaml",
      [
        "trustDomain: example.org",
        "ingressClass: public",
        "ingressControllerMode: DEFAULT",
        "ingressService: my-gw",
        "ingressSelector: my-gw",
        "defaultHttpRetryPolicy:",
        "  attempts: 3",
        "defaultConfig:",
        "  gatewayTopology:",
        "    numTrustedProxies: 1",
        "    forwardClientCertDetails: SANITIZE_SET",
        "  terminationDrainDuration: 10s",
        "extensionProviders:",
        "- name: authz",
        "  envoyExtAuthzHttp:",
        "    service: authz.default.svc.cluster.local",
        "    port: 8000",
        "    headersToDownstreamOnAllow: [x-a]",
        "",
      ].join("\n"),
    );
    expect(r.errors).toEqual([]);
    expect(r.mesh.numTrustedProxies).toBe(1);
    expect(r.mesh.ingressClass).toBe("public"); // the Ingress settings are read, so not reported
    expect(r.notRead.map((f) => [f.level, f.code, f.field])).toEqual([
      ["Warning", "GW0009", "trustDomain"],
      ["Warning", "GW0009", "defaultHttpRetryPolicy"],
      ["Warning", "GW0009", "defaultConfig.terminationDrainDuration"],
      ["Warning", "GW0009", "defaultConfig.gatewayTopology.forwardClientCertDetails"],
      ["Warning", "GW0009", "extensionProviders[0].envoyExtAuthzHttp.headersToDownstreamOnAllow"],
    ]);
    expect(r.notRead[0]!.message).toContain("--trust-domain");
    expect(r.notRead[0]!.file).toBe(join(dir, "unread.yaml"));
    expect(read("read.yaml", MESH).notRead).toEqual([]);
  });
});

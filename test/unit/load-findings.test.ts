// The folders' own findings: dangling symlinks (GW0008) and a --config that yields
// no resource (GW0007), the two ways a mounted configuration silently serves nothing.
import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { readInput } from "../../src/load/read.ts";
import { loadAndBuild } from "../../src/primary/pipeline.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { isLoopback } from "../../src/admin/server.ts";
import type { Finding } from "../../src/snapshot/types.ts";
import { runCli, writeTree } from "../helpers/gateway.ts";
import { writeKubeVolume } from "../helpers/kube-volume.ts";

const GATEWAY = `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;
const DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: httpbin}\n";

function findings(args: string[]): Finding[] {
  const built = loadAndBuild(parseArgs(args), 1);
  if (!built.ok) throw new Error(JSON.stringify(built.errors));
  return built.snapshot.findings.filter((f) => f.code === "GW0007" || f.code === "GW0008");
}

describe("dangling symlinks (GW0008)", () => {
  test("in a --config folder: a Warning naming the link and its target; the rest is read", () => {
    const dir = writeTree({ "gw.yaml": GATEWAY });
    symlinkSync("../walkthrough/01-http-gateway/httpbin-gateway.yaml", join(dir, "vs.yaml"));
    const input = readInput([dir], null);
    expect(input.files.map((f) => f.path)).toEqual([join(dir, "gw.yaml")]);
    expect(input.errors).toEqual([]);
    expect(input.warnings).toEqual([
      {
        code: "GW0008",
        level: "Warning",
        message: `${join(dir, "vs.yaml")} is a symlink to ../walkthrough/01-http-gateway/httpbin-gateway.yaml, which does not exist: skipped (a folder of links mounted into a container without their targets?)`,
        file: join(dir, "vs.yaml"),
      },
    ]);
  });

  test("in a --secrets-dir: a dangling Secret folder and a dangling key are each reported", () => {
    const secrets = writeTree({ "good/tls.crt": "c" });
    symlinkSync("/nonexistent/gangway/key", join(secrets, "good", "tls.key"));
    symlinkSync("/nonexistent/gangway/secret", join(secrets, "gone"));
    const input = readInput([], secrets);
    expect(input.secrets.map((s) => [s.name, Object.keys(s.data)])).toEqual([["good", ["tls.crt"]]]);
    expect(input.warnings.map((w) => [w.code, w.file])).toEqual([
      ["GW0008", join(secrets, "gone")],
      ["GW0008", join(secrets, "good", "tls.key")],
    ]);
  });

  test("a kubelet volume layout (..data, timestamped folder, file links) gives no finding", () => {
    const dir = writeTree({});
    writeKubeVolume(dir, { "gw.yaml": GATEWAY });
    writeKubeVolume(dir, { "gw.yaml": GATEWAY + "\n" });
    expect(readInput([dir], null).warnings).toEqual([]);
    expect(findings(["--config", dir])).toEqual([]);
  });
});

describe("a --config that yields no resources (GW0007)", () => {
  // the Dockerfile's old example: config/quickstart's relative links mounted alone
  test("a folder of links whose targets are not there: GW0008 per link and GW0007 for the folder", () => {
    const dir = writeTree({});
    symlinkSync("../walkthrough/01-http-gateway/httpbin-gateway.yaml", join(dir, "httpbin-gateway.yaml"));
    symlinkSync("../backends/httpbin.yaml", join(dir, "httpbin.yaml"));
    const got = findings(["--config", dir]);
    expect(got.map((f) => [f.code, f.level, f.file])).toEqual([
      ["GW0008", "Warning", join(dir, "httpbin-gateway.yaml")],
      ["GW0008", "Warning", join(dir, "httpbin.yaml")],
      ["GW0007", "Warning", dir],
    ]);
    expect(got[2]!.message).toBe(`--config ${dir} yields no resources: no *.yaml, *.yml or *.json file was read`);
  });

  const cases: [string, Record<string, string>, string | null][] = [
    ["an empty folder", {}, "no *.yaml, *.yml or *.json file was read"],
    ["only other files", { "README.md": "x" }, "no *.yaml, *.yml or *.json file was read"],
    ["only kinds gangway skips", { "deploy.yaml": DEPLOYMENT }, "1 file read, no kind gangway serves in it"],
    ["two files of skipped kinds", { "a.yaml": DEPLOYMENT, "b.yaml": DEPLOYMENT }, "2 files read, no kind gangway serves in them"],
    ["a Gateway", { "gw.yaml": GATEWAY }, null],
    ["a Gateway in a sub-folder beside a Deployment", { "sub/gw.yaml": GATEWAY, "deploy.yaml": DEPLOYMENT }, null],
  ];
  for (const [name, files, why] of cases) {
    test(`${name}: ${why ?? "no finding"}`, () => {
      const dir = writeTree(files);
      const got = findings(["--config", dir]);
      expect(got.map((f) => f.message)).toEqual(why === null ? [] : [`--config ${dir} yields no resources: ${why}`]);
    });
  }

  test("judged per --config: the empty one is named, the other serves", () => {
    const good = writeTree({ "gw.yaml": GATEWAY });
    const empty = writeTree({});
    expect(findings(["--config", good, "--config", empty]).map((f) => f.file)).toEqual([empty]);
    const file = join(good, "gw.yaml");
    expect(findings(["--config", file])).toEqual([]);
  });

  test("a missing folder stays an Error (GW0001), not also a GW0007", () => {
    const built = loadAndBuild(parseArgs(["--config", "/nonexistent/gangway-config"]), 1);
    expect(built.ok).toBe(false);
  });

  test("analyze prints it and still exits 0 (a Warning)", async () => {
    const dir = writeTree({});
    mkdirSync(join(dir, "empty"));
    const r = await runCli(["analyze", "--config", join(dir, "empty")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("GW0007");
    expect(r.stdout).toContain("yields no resources");
  });
});

describe("isLoopback: when the admin warning is logged", () => {
  const table: [string, boolean][] = [
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.5", false],
    ["128.0.0.1", false],
    ["pod.example.com", false],
  ];
  for (const [host, loopback] of table) test(`${host} → ${loopback}`, () => expect(isLoopback(host)).toBe(loopback));
});

describe("--status-port and --metrics-port parse like --admin", () => {
  test("off by default; HOST:PORT or off", () => {
    expect(parseArgs(["--config", "d"]).statusPort).toBeNull();
    expect(parseArgs(["--config", "d"]).metricsPort).toBeNull();
    const o = parseArgs(["--config", "d", "--status-port", "0.0.0.0:15021", "--metrics-port", "[::]:15090"]);
    expect(o.statusPort).toEqual({ host: "0.0.0.0", port: 15021 });
    expect(o.metricsPort).toEqual({ host: "::", port: 15090 });
    expect(parseArgs(["--config", "d", "--status-port", "0.0.0.0:15021", "--status-port", "off"]).statusPort).toBeNull();
  });
});

describe("mesh config fields not read (GW0009)", () => {
  test("are findings of the loaded configuration, as analyze prints them", () => {
    const dir = writeTree({ "gw.yaml": GATEWAY });
    const mesh = join(writeTree({ "mesh.yaml": "connectTimeout: 1s\n" }), "mesh.yaml");
    const built = loadAndBuild(parseArgs(["--config", dir, "--mesh-config", mesh]), 1);
    if (!built.ok) throw new Error(JSON.stringify(built.errors));
    expect(built.snapshot.findings.filter((f) => f.code === "GW0009").map((f) => [f.level, f.field, f.file])).toEqual([["Warning", "connectTimeout", mesh]]);
  });
});

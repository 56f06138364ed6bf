// Certificate files a Gateway names (serverCertificate, privateKey) read while the
// process is out of file descriptors: the load fails (the reload is refused, the
// last good configuration keeps serving, and it is tried again: watch.ts), rather
// than compiling the server as if its files were missing (its hosts would fail the
// handshake until the next edit). Run in a child process under `ulimit -n`: the
// configuration is read and compiled once, the descriptor table filled, the
// certificates read again.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { issue, createCA } from "../../src/certs/generate.ts";
import { ROOT, runUnderFdLimit } from "../helpers/fd-fill.ts";
import { writeTree } from "../helpers/gateway.ts";


test("a certificate file unreadable for want of descriptors fails the load (EMFILE), not the server's handshakes", async () => {
  const ca = await createCA({ cn: "ca", keyType: "ec" });
  const cert = await issue(ca, { cn: "a.example.com", usage: "server", keyType: "ec" });
  const dir = writeTree({
    "certs/tls.crt": cert.cert,
    "certs/tls.key": cert.key,
    "config/gw.yaml": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, serverCertificate: CERTS/tls.crt, privateKey: CERTS/tls.key}
`.replace(/CERTS/g, "DIR/certs"),
  });
  const gw = join(dir, "config", "gw.yaml");
  await Bun.write(gw, (await Bun.file(gw).text()).replace(/DIR/g, dir));
  const script = `
import { openSync, closeSync } from "node:fs";
import { readInput } from "${ROOT}/src/load/read.ts";
import { build, compileOptions } from "${ROOT}/src/primary/pipeline.ts";
import { parseArgs } from "${ROOT}/src/cli/args.ts";
const opts = compileOptions(parseArgs(["--config", "${dir}/config"]));
const input = readInput(["${dir}/config"], null);
const summary = (b) => b.ok ? { ok: true, disabled: b.snapshot.listeners.flatMap((l) => l.tls?.chains ?? []).map((c) => c.disabled) } : { ok: false, errors: b.errors.map((e) => e.message) };
const first = summary(build(input, opts, 1));
const held = [];
try { for (;;) held.push(openSync("/dev/null", "r")); } catch {}
let second;
try { second = summary(build(input, opts, 2)); } catch (e) { second = { threw: String(e) }; }
for (const fd of held) closeSync(fd);
console.log(JSON.stringify({ first, second }));
`;
  const { out, err } = await runUnderFdLimit(script, 64);
  const r = JSON.parse(out.trim().split("\n").pop() ?? "null", (_k, v) => v) as { first: { ok: boolean; disabled?: string[] }; second: { ok: boolean; errors?: string[]; disabled?: string[] } } | null;
  expect(r, err).not.toBeNull();
  expect(r!.first).toEqual({ ok: true, disabled: [""] });
  expect(r!.second.ok, JSON.stringify(r!.second)).toBe(false);
  expect(r!.second.errors!.join("\n")).toContain("EMFILE");
}, 30_000);

// Fuzzed configurations the pipeline accepts (test/helpers/config-mutate.ts and
// config-mutate-semantic.ts, the cases of test/unit/config-fuzz.test.ts) applied
// to one real worker thread in turn (every other one as a delta), with real traffic on loopback
// (test/helpers/config-worker-check.ts): the worker applies each and logs no
// error, every request gets an HTTP status or a clean close within a bound,
// never a hang, the worker answers afterwards; and a good configuration serves
// the same before and after them.
//
// CI: FUZZ_WORKER_COUNT case numbers of each mode (default 60) from FUZZ_FROM
// (default 1); the refused ones are skipped. Longer runs:
//   bun bench/config-fuzz-worker.ts --mode semantic --count 5000 --seconds 300
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildFiles } from "../helpers/config-invariants.ts";
import { forgetSemanticSeeds, semanticCase } from "../helpers/config-mutate-semantic.ts";
import { forgetParsedSeeds, mutatedCase, seedGroups, type SeedGroup } from "../helpers/config-mutate.ts";
import { loadFuzzPki } from "../helpers/config-fuzz-pki.ts";
import { WorkerCheck } from "../helpers/config-worker-check.ts";
import { EXTRA_CRLS } from "../helpers/config-mutate-kinds.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";

const FROM = Number(process.env.FUZZ_FROM ?? 1);
const COUNT = Number(process.env.FUZZ_WORKER_COUNT ?? 60);

let groups: SeedGroup[];
let check: WorkerCheck;
beforeAll(async () => {
  groups = seedGroups();
  await loadFuzzPki();
  check = new WorkerCheck();
});
afterAll(() => {
  check.stop();
  groups = [];
  forgetParsedSeeds();
  forgetSemanticSeeds();
});

/** A seed's own snapshot (it must load). */
function good(name: string): Snapshot {
  const b = buildFiles(groups.find((g) => g.name === name)!.files);
  if (!b.ok) throw new Error(`${name} does not load`);
  return b.snapshot;
}

describe("configuration fuzz on a worker: accepted snapshots applied, with traffic", () => {
  let before: string[] = [];

  test("a good TLS configuration answers (the baseline)", async () => {
    expect(await check.problems(good("config/walkthrough/06-tls-multi-host"))).toEqual([]);
    before = check.transcript;
    // real answers: an HTTP status after a handshake with a served name
    expect(before.some((t) => / SNI [^(]+ -> HTTP\/1\.1 \d{3}/.test(t))).toBe(true);
  });

  for (const mode of ["semantic", "structural"] as const) {
    test(`${COUNT} ${mode} case numbers from ${FROM}: each accepted one applies and answers`, async () => {
      const broken: string[] = [];
      let applied = 0;
      for (let seed = FROM; seed < FROM + COUNT; seed++) {
        const c = mode === "semantic" ? semanticCase(groups, seed) : mutatedCase(groups, seed);
        const b = buildFiles(c.files);
        if (!b.ok) continue;
        applied++;
        const problems = await check.problems(b.snapshot);
        if (problems.length > 0) broken.push(`${mode} case ${seed} (${c.group}; bun bench/config-fuzz-worker.ts --mode ${mode} --from ${seed} --count 1)\n  ${c.mutations.join("\n  ")}\n  => ${problems.slice(0, 5).join("\n  => ")}`);
      }
      expect(broken.slice(0, 5).join("\n")).toBe("");
      if (COUNT >= 30) expect(applied).toBeGreaterThan(COUNT / 4);
    }, 60_000);
  }

  test("the traffic reached routes and TLS servers (statuses after handshakes, 200s from the backend, h2c statuses)", () => {
    const keys = [...check.answers.keys()];
    expect(keys.some((k) => k.startsWith("HTTP HTTP/1.1 200"))).toBe(true);
    expect(keys.some((k) => /^HTTPS SIMPLE handshake HTTP\/1\.1 \d{3}/.test(k))).toBe(true);
    expect(keys.some((k) => /^HTTP\/2 TLS \d{3}$/.test(k))).toBe(true); // HTTP/2 over TLS got a :status
    expect(keys.some((k) => /^HTTP\/2 \d{3}$/.test(k))).toBe(true); // h2c requests got a :status
    expect(check.deltas).toBeGreaterThan(0); // every other snapshot went as a delta
  });

  test("the kinds seed: PASSTHROUGH reaches the TLS backend by SNI, MUTUAL answers the demo CA's client only, HTTP/2 over TLS", async () => {
    expect(await check.problems(good("test/fuzz-seeds/kinds"))).toEqual([]);
    const t = check.transcript;
    // the client sees the backend's certificate (the check's invariant) and the backend's answer
    expect(t).toContain("port 9443 SNI nginx.example.com -> HTTP/1.1 200 OK");
    expect(t).toContain("port 9443 SNI a.l4.example.com -> HTTP/1.1 200 OK");
    expect(t.some((x) => /^port 9445 SNI httpbin\.example\.com trusted client certificate -> HTTP\/1\.1 \d{3}/.test(x))).toBe(true);
    expect(t).toContain("port 9445 SNI httpbin.example.com no client certificate -> closed");
    expect(t).toContain("port 9445 SNI httpbin.example.com untrusted client certificate -> closed");
    expect(t.some((x) => /^port 9446 SNI helloworld-v1\.example\.com h2 :authority \S+ -> \d{3}$/.test(x))).toBe(true);
  });

  test("the kinds seed's MUTUAL Secret with a revocation list naming the demo client: that client gets no answer", async () => {
    const files = groups.find((g) => g.name === "test/fuzz-seeds/kinds")!.files.map((f) => ({ ...f }));
    files[0]!.text = files[0]!.text.replace(/(name: kinds-mtls[\s\S]*?data:\n)/, `$1  ca.crl: ${Buffer.from(EXTRA_CRLS[0]!).toString("base64")}\n`);
    const b = buildFiles(files);
    expect(b.ok).toBe(true);
    expect(await check.problems((b as { snapshot: Snapshot }).snapshot)).toEqual([]);
    expect(check.transcript).toContain("port 9445 SNI httpbin.example.com trusted client certificate -> closed");
    expect(check.transcript).toContain("port 9446 SNI helloworld-v1.example.com -> HTTP/1.1 200 OK");
  });

  test("the tracing seed, every request sampled: spans reach the loopback collector; the locality seed answers", async () => {
    const files = groups.find((g) => g.name === "test/fuzz-seeds/mesh/tracing")!.files.map((f) => ({ ...f }));
    files[0]!.text = files[0]!.text.replace("randomSamplingPercentage: 50", "randomSamplingPercentage: 100");
    const b = buildFiles(files);
    expect(b.ok).toBe(true);
    const s = (b as { snapshot: Snapshot }).snapshot;
    expect(s.tracing?.collector?.kind).toBe("otlp-http");
    const reports = check.spanReports;
    expect(await check.problems(s)).toEqual([]);
    expect(check.transcript.some((x) => /^port 80 Host httpbin\.example\.com -> HTTP\/1\.1 \d{3}/.test(x))).toBe(true); // a routed request, traced
    // at once a configuration without tracing and without the collector's cluster: the queued spans still reach
    // the collector (they were flushed to an endpoint the new clusters no longer had, and failed)
    expect(await check.problems(good("test/fuzz-seeds/mesh/locality"))).toEqual([]);
    for (let i = 0; i < 60 && check.spanReports === reports; i++) await Bun.sleep(50); // bounded wait (the flush is at once)
    expect(check.spanReports).toBeGreaterThan(reports);
  });

  test("a snapshot with 30 listeners: each is bound and answers", async () => {
    const files = groups.find((g) => g.name === "config/walkthrough/01-http-gateway")!.files.map((f) => ({ ...f }));
    const gw = files.find((f) => /kind: Gateway\b/.test(f.text))!;
    const servers = Array.from({ length: 29 }, (_, k) => `  - port: {number: ${30000 + k}, name: http-${k}, protocol: HTTP}\n    hosts: ["*"]\n`).join("");
    gw.text = gw.text.replace(/\n  servers:\n/, `\n  servers:\n${servers}`);
    const b = buildFiles(files);
    expect(b.ok).toBe(true);
    const s = (b as { snapshot: Snapshot }).snapshot;
    expect(s.listeners.length).toBe(30);
    expect(await check.problems(s)).toEqual([]);
    expect(new Set(check.transcript.filter((x) => / -> HTTP\/1\.1 404/.test(x)).map((x) => x.split(" ")[1])).size).toBe(30);
  });

  test("pinned: a TLS 1.3 suite alone in cipherSuites, TLS 1.2 at most: the server completes handshakes (every one failed, silently)", async () => {
    const files = groups.find((g) => g.name === "config/walkthrough/05-tls-simple")!.files.map((f) => ({ ...f }));
    const gw = files.find((f) => f.path.endsWith("mygateway.yaml"))!;
    gw.text = gw.text.replace("credentialName: httpbin-credential", "credentialName: httpbin-credential\n      maxProtocolVersion: TLSV1_2\n      cipherSuites: [TLS_AES_128_GCM_SHA256]");
    const b = buildFiles(files);
    expect(b.ok).toBe(true);
    expect(await check.problems((b as { snapshot: Snapshot }).snapshot)).toEqual([]);
    expect(check.transcript).toContain("port 443 SNI httpbin.example.com -> HTTP/1.1 404 Not Found");
  });

  test("the good configuration answers as before after all of them", async () => {
    expect(await check.problems(good("config/walkthrough/06-tls-multi-host"))).toEqual([]);
    expect(check.transcript).toEqual(before);
  });
});

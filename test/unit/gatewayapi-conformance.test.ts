// Gateway API conformance cases (test/gatewayapi/conformance-cases.ts) against
// the compiled snapshot: every request the conformance test makes is traced
// through the same lookups the workers use, and the status a controller would
// write is compared with test/gatewayapi/cases/<case>/status.golden (JSON; not .json, so `--config` on a case folder does not read it).
// UPDATE_GOLDEN=1 rewrites the status files; review the diff.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { secretYaml } from "../../src/cli/certs.ts";
import { createCA, issue } from "../../src/certs/generate.ts";
import { compileSnapshot } from "../../src/compile/index.ts";
import { splitPemCerts } from "../../src/credentials/parse.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { trace } from "../../src/trace.ts";
import { CASES, type CaseRequest } from "../gatewayapi/conformance-cases.ts";
import { options } from "./pipeline-helpers.ts";

const DIR = join(import.meta.dir, "..", "gatewayapi");
const update = process.env.UPDATE_GOLDEN === "1";

/** The Secrets the suite creates itself (kubernetes.MustCreateSelfSignedCertSecret), made once per run. */
let secrets = "";
beforeAll(async () => {
  const ca = await createCA({ cn: "gateway-conformance", keyType: "ec" });
  const names = ["example.org", "second-example.org", "*.wildcard.org", "abc.example.com", "*.example.com"];
  const leaf = await issue(ca, { cn: "example.org", names, usage: "server", keyType: "ec" });
  secrets = [
    ["gateway-conformance-infra", "tls-validity-checks-certificate"],
    ["gateway-conformance-infra", "tls-terminate-checks-certificate"],
    ["gateway-conformance-infra", "tls-checks-certificate"],
    ["gateway-conformance-web-backend", "certificate"],
  ].map(([ns, name]) => secretYaml(name!, ns!, "tls", leaf.cert, leaf.key)).join("---\n");
  secrets += await frontendFixtures();
  // the BackendTLSPolicy cases' CAs (MustCreateCACertConfigMap) and the Gateway's backend client certificate
  const other = await createCA({ cn: "gateway-conformance-mismatch", keyType: "ec" });
  const client = await issue(ca, { cn: "gateway-conformance-client", names: [], usage: "client", keyType: "ec" });
  const configMap = (name: string, pem: string) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "gateway-conformance-infra" }, data: { "ca.crt": pem } }) + "\n";
  secrets += ["---\n", configMap("tls-checks-ca-certificate", ca.cert), "---\n", configMap("mismatch-ca-certificate", other.cert), "---\n"].join("");
  secrets += secretYaml("tls-checks-client-certificate", "gateway-conformance-infra", "tls", client.cert, client.key);
});

/** Client certificates of the frontend validation cases (frontend-tls-cases.ts), by `clientCert`. */
const clientCerts = new Map<string, X509Certificate>();

/** The suite's CA ConfigMaps (kubernetes.MustCreateCACertConfigMap, key ca.crt) and the client certificates their CAs sign. */
async function frontendFixtures(): Promise<string> {
  const out: string[] = [];
  for (const [which, cm] of [["default", "tls-validity-checks-ca-certificate"], ["per-port", "tls-validity-checks-per-port-ca-certificate"]] as const) {
    const ca = await createCA({ cn: cm, keyType: "ec" });
    clientCerts.set(which, new X509Certificate((await issue(ca, { cn: `${which} client`, usage: "client", keyType: "ec" })).cert));
    out.push(configMapYaml("gateway-conformance-infra", cm, ca.cert));
  }
  out.push(configMapYaml("gateway-conformance-web-backend", "web-backend-cm", (await createCA({ cn: "web-backend-cm", keyType: "ec" })).cert));
  return "---\n" + out.join("---\n");
}

function configMapYaml(ns: string, name: string, pem: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: ${ns}}\ndata:\n  ca.crt: ${JSON.stringify(pem)}\n`;
}

/**
 * The handshake of a client presenting `q.clientCert` to the chain the SNI chose, as the
 * compiled chain asks for it (the workers leave the check to OpenSSL; the e2e test does it
 * for real): does the chain's CA sign the certificate, and what does the mode do without one.
 */
function handshakeRefused(snap: Snapshot, q: CaseRequest, chainName: string | null): boolean {
  if (q.clientCert === undefined || chainName === null) return false;
  const chain = snap.listeners.flatMap((l) => l.tls?.chains ?? []).find((c) => c.name === chainName)!;
  if (chain.mode !== "MUTUAL" && chain.mode !== "OPTIONAL_MUTUAL") return false;
  const presented = clientCerts.get(q.clientCert);
  if (presented === undefined) return chain.mode === "MUTUAL";
  const pem = snap.credentials.get(chain.clientCa ?? chain.credential)!.caCert;
  const trusted = splitPemCerts(pem).some((p) => {
    const ca = new X509Certificate(p);
    return presented.checkIssued(ca) && presented.verify(ca.publicKey);
  });
  return !trusted && chain.acceptUntrusted !== true;
}

export function compileCase(name: string, gateways: string[], extra: string[] = []): Snapshot {
  const files = ["base.yaml", `cases/${name}/input.yaml`, ...extra].map((p) => ({ path: p, text: readFileSync(join(DIR, p), "utf8") }));
  files.push({ path: "secrets.yaml", text: secrets });
  const { resources, errors } = decodeFiles(files);
  expect(errors).toEqual([]);
  return compileSnapshot(resources, options({ gateways }), 1);
}

/** What answers: the backend (`name`, `ns/name` outside the infra namespace, `name:port` when the table asks), `status Location` of a redirect the table writes as a string, or the status. */
function outcome(snap: Snapshot, q: CaseRequest): string | number {
  const t = trace(snap, { port: q.port ?? 80, host: q.host ?? q.sni ?? "example.com", path: q.path, method: q.method ?? "GET", headers: q.headers ?? {}, ...(q.sni ? { sni: q.sni } : {}) });
  if (handshakeRefused(snap, q, t.chain)) return "closed";
  // a TCP route whose backend has no endpoints (the cases' Deployments are not read) still names it
  if ((t.outcome === "tcp_no_route" && t.cluster === null) || t.outcome === "handshake_failed") return "closed";
  if (t.outcome === "no_listener") return "no listener";
  // a redirect the table names as a string: `status Location`
  if (t.outcome === "redirect" && typeof q.expect === "string") return `${t.status} ${/ to (\S+)$/.exec(t.reason)?.[1] ?? ""}`;
  if (t.outcome !== "forward" && t.outcome !== "no_endpoints" && t.outcome !== "tcp_forward" && t.outcome !== "tcp_no_route") return t.status;
  // upstream TLS that cannot be set up (a BackendTLSPolicy's invalid CA reference): 503 UF, whatever the backend
  if (snap.clusters.get(t.cluster!)?.upstream?.tls?.problem) return 503;
  const [, port, , host] = t.cluster!.split("|"); // outbound|port||name.ns.svc.cluster.local
  const [name, ns] = host!.split(".");
  const backend = ns === "gateway-conformance-infra" ? name! : `${ns}/${name}`;
  // `name:port` in the table: the Service port matters (one Service, two ports)
  return typeof q.expect === "string" && q.expect.includes(":") ? `${backend}:${port}` : backend;
}

describe("Gateway API conformance cases", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const dir = c.dir ?? c.name;
      const snap = compileCase(dir, c.gateways, c.extra);
      const got = c.requests.map((q) => ({ ...q, expect: outcome(snap, q) }));
      expect(got).toEqual(c.requests);
      const status = JSON.stringify({ items: snap.gatewayStatus ?? [] }, null, 2) + "\n";
      const file = join(DIR, "cases", dir, c.dir === undefined ? "status.golden" : `status-${c.name.split("/")[1]}.golden`);
      if (update || !existsSync(file)) {
        writeFileSync(file, status);
        if (!update) throw new Error(`${file} was missing and has been written: review it, then run again`);
        return;
      }
      expect(status).toBe(readFileSync(file, "utf8"));
    });
  }
});

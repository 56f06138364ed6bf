// DestinationRule `tls` → the cluster's upstream TLS (TLS origination), with
// its credential resolved and checked like a server's: a credentialName Secret
// in the gateway namespace (any of Istio's formats; for SIMPLE only the CA is
// used), certificate files read by the loader, or the --mesh-certs identity
// for ISTIO_MUTUAL. A credential that is missing or broken leaves the cluster
// with a `problem`: its requests get 503 (UF), never a plaintext request.
import { parseCredential, type SecretData } from "../credentials/parse.ts";
import { Codes } from "../model/codes.ts";
import type { ClientTlsPolicy, DestinationRuleResource } from "../model/istio.ts";
import { resourceRef } from "../model/meta.ts";
import type { Credential } from "../snapshot/types.ts";
import type { UpstreamTls } from "../snapshot/upstream.ts";
import type { CompileContext } from "./context.ts";
import { meshFiles, parseCredentialName, type TlsCompileState } from "./tls.ts";

/** Istio's ALPN lists: in-mesh (ISTIO_MUTUAL) with metadata exchange, h2 for HTTP/2 clusters. */
const ALPN_MESH = ["istio-peer-exchange", "istio"];

export interface UpstreamTlsInput {
  tls: ClientTlsPolicy;
  /** The rule (or subset owner) the policy came from, for findings. */
  owner: DestinationRuleResource;
  /** Field path of the tls block (`spec.trafficPolicy.tls`, `spec.subsets[1].trafficPolicy.portLevelSettings[0].tls`). */
  field: string;
  http2: boolean;
  /** `outbound_.<port>_.<subset>_.<host>`: the SNI Istio sends with ISTIO_MUTUAL. */
  istioSni: string;
}

/** Every certificate file DestinationRules name (and the mesh files for ISTIO_MUTUAL): the loader reads them. */
export function upstreamCertificateFiles(rules: DestinationRuleResource[], meshCerts: string | null): string[] {
  const out = new Set<string>();
  const visit = (t: ClientTlsPolicy | null): void => {
    if (t === null) return;
    if (t.mode === "ISTIO_MUTUAL" && meshCerts !== null) for (const f of meshFiles(meshCerts)) out.add(f);
    for (const p of [t.clientCertificate, t.privateKey, t.caCertificates]) if (p !== "") out.add(p);
  };
  for (const r of rules) {
    const policies = [r.spec.trafficPolicy, ...r.spec.subsets.map((s) => s.trafficPolicy)];
    for (const tp of policies) {
      if (tp === null) continue;
      visit(tp.tls);
      for (const p of tp.portLevelSettings) visit(p.policy.tls);
    }
  }
  return [...out];
}

function secretData(st: TlsCompileState, key: string): SecretData | null {
  const s = st.secrets.get(key);
  return s === undefined ? null : { ref: resourceRef(s), data: s.spec.data };
}

type Resolved = { key: string; credential: Credential } | { problem: string; missing: boolean };

/** A credential that turned broken keeps its last good version (reported all the same), as servers' do. */
function parsed(ctx: CompileContext, st: TlsCompileState, key: string, where: string, field: string, make: () => ReturnType<typeof parseCredential>, owner: DestinationRuleResource): Resolved {
  const cached = st.credentials.get(key);
  if (cached !== undefined) return { key, credential: cached };
  const r = make();
  if (!r.ok) {
    const last = ctx.opts.lastGood?.get(key);
    if (last !== undefined) {
      ctx.report("Error", Codes.UpstreamCredentialInvalid, owner, `${where}: ${r.problem}: the update is refused, the credential loaded before keeps serving`, field);
      st.credentials.set(key, last);
      return { key, credential: last };
    }
    return { problem: `${where}: ${r.problem}`, missing: false };
  }
  for (const w of r.credential.warnings) ctx.report("Warning", Codes.CredentialWarning, owner, `${where}: ${w}`, field);
  st.credentials.set(key, r.credential);
  return { key, credential: r.credential };
}

function fromSecret(ctx: CompileContext, st: TlsCompileState, inp: UpstreamTlsInput): Resolved {
  const [explicit, name] = parseCredentialName(inp.tls.credentialName);
  const ns = explicit !== "" ? explicit : ctx.opts.namespace;
  const key = `${ns}/${name}`;
  const secret = secretData(st, key);
  const companion = secretData(st, `${key}-cacert`);
  if (secret === null && companion === null) return { problem: `Secret ${key} not found`, missing: true };
  return parsed(ctx, st, key, `Secret ${key}`, `${inp.field}.credentialName`, () => parseCredential(name, secret, companion), inp.owner);
}

function fromFiles(ctx: CompileContext, st: TlsCompileState, inp: UpstreamTlsInput, cert: string, keyFile: string, ca: string): Resolved {
  const files = ctx.opts.certFiles ?? new Map<string, string | null>();
  const data: Record<string, string> = {};
  for (const [path, k] of [[cert, "tls.crt"], [keyFile, "tls.key"], [ca, "ca.crt"]] as const) {
    if (path === "") continue;
    const text = files.get(path);
    if (text === undefined || text === null) return { problem: `cannot read ${path}`, missing: true };
    data[k] = text;
  }
  const key = `upstream-file:${[cert, keyFile, ca].join("|")}`;
  const label = `files ${[cert, keyFile, ca].filter((p) => p !== "").join(", ")}`;
  return parsed(ctx, st, key, label, inp.field, () => parseCredential(cert || ca, { ref: label, data }, null), inp.owner);
}

/** The cluster's upstream TLS; null for DISABLE. */
export function compileUpstreamTls(ctx: CompileContext, st: TlsCompileState, inp: UpstreamTlsInput): UpstreamTls | null {
  const t = inp.tls;
  if (t.mode === "DISABLE") return null;
  const out: UpstreamTls = {
    mode: t.mode,
    credential: "",
    systemRoots: false,
    sni: t.sni,
    subjectAltNames: t.subjectAltNames,
    spiffeTrustDomain: "",
    insecureSkipVerify: t.insecureSkipVerify,
    alpn: inp.http2 ? ["h2"] : [],
    problem: "",
  };
  let r: Resolved;
  if (t.mode === "ISTIO_MUTUAL") {
    out.spiffeTrustDomain = ctx.opts.trustDomain ?? "cluster.local";
    if (out.sni === "") out.sni = inp.istioSni;
    out.alpn = inp.http2 ? [...ALPN_MESH, "h2"] : [...ALPN_MESH];
    const dir = ctx.opts.meshCerts ?? null;
    if (dir === null) {
      out.problem = "ISTIO_MUTUAL needs the mesh certificates: start with --mesh-certs DIR";
      ctx.report("Error", Codes.UpstreamMeshCertsMissing, inp.owner, `${out.problem}: requests to this destination get 503`, `${inp.field}.mode`);
      return out;
    }
    const [cert, key, root] = meshFiles(dir);
    r = fromFiles(ctx, st, inp, cert, key, root);
  } else if (t.credentialName !== "") {
    r = fromSecret(ctx, st, inp);
  } else if (t.clientCertificate !== "" || t.caCertificates !== "") {
    r = fromFiles(ctx, st, inp, t.clientCertificate, t.privateKey, t.caCertificates);
  } else {
    out.systemRoots = true; // SIMPLE without CA: the system's roots
    return out;
  }
  if ("problem" in r) {
    out.problem = r.problem;
    ctx.report("Error", r.missing ? Codes.UpstreamCredentialMissing : Codes.UpstreamCredentialInvalid, inp.owner, `${t.mode} to the upstream: ${r.problem}: requests to this destination get 503`, t.credentialName !== "" ? `${inp.field}.credentialName` : inp.field);
    return out;
  }
  const c = r.credential;
  if ((t.mode === "MUTUAL" || t.mode === "ISTIO_MUTUAL") && c.certChain === "") {
    out.problem = `${r.key} has no client certificate and key`;
    ctx.report("Error", Codes.UpstreamCredentialInvalid, inp.owner, `${t.mode} to the upstream: ${out.problem}: requests to this destination get 503`, t.credentialName !== "" ? `${inp.field}.credentialName` : inp.field);
    return out;
  }
  if (t.mode === "ISTIO_MUTUAL" && c.caCert === "") {
    out.problem = "the mesh root certificate is missing";
    ctx.report("Error", Codes.UpstreamCredentialInvalid, inp.owner, `ISTIO_MUTUAL to the upstream: ${out.problem}: requests to this destination get 503`, `${inp.field}.mode`);
    return out;
  }
  out.credential = r.key;
  out.systemRoots = c.caCert === "";
  return out;
}

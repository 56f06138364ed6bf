// TLS servers of one port → filter chains chosen by SNI, with their credentials
// resolved and checked. A server whose credential is missing or broken keeps
// its chain, disabled: its SNI names fail the handshake (never another host's
// certificate), everything else on the port keeps serving.
import type { BackendTlsIndex } from "./gatewayapi/backendtls.ts";
import { createSecureContext, getCiphers } from "node:tls";
import { keyCostWarning, parseCredential, type SecretData } from "../credentials/parse.ts";
import { Codes } from "../model/codes.ts";
import type { ConfigMapResource, SecretResource } from "../model/kube.ts";
import type { Resource } from "../model/index.ts";
import type { GatewayResource, Server, VirtualServiceResource } from "../model/istio.ts";
import { resourceRef } from "../model/meta.ts";
import { stripNamespace } from "../resolve/hosts.ts";
import type { Credential, FilterChain, TlsListener, TlsMode } from "../snapshot/types.ts";
import { caResourceName, resolveClientCa } from "./client-ca.ts";
import { crlProblem } from "../credentials/crl.ts";
import type { CompileContext } from "./context.ts";
import { compileAutoPassthroughRoutes, compilePassthroughRoutes, compileTcpRoutes, indexNames, type ServiceRef } from "./l4routes.ts";
import { serverSource, terminatesHTTP, type BoundServer, type PortGroup } from "./servers.ts";
import { compileRouteTable } from "./virtualhosts.ts";

/** Secrets by `namespace/name`. */
export type SecretIndex = Map<string, SecretResource>;

export function indexSecrets(secrets: SecretResource[]): SecretIndex {
  const m: SecretIndex = new Map();
  for (const s of secrets) m.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
  return m;
}

const VERSIONS: Record<string, string> = {
  TLSV1_0: "TLSv1",
  TLSV1_1: "TLSv1.1",
  TLSV1_2: "TLSv1.2",
  TLSV1_3: "TLSv1.3",
};

let knownCiphers: Set<string> | null = null;

/**
 * A TLS 1.3 suite (`TLS_AES_128_GCM_SHA256`...): BoringSSL's cipher list, which Envoy
 * sets from cipherSuites, does not name them (TLS 1.3's suites are fixed) and Istio's
 * IsValidCipherSuite ignores them with a warning; a list of these alone would select
 * no TLS 1.2 cipher, and a TLS 1.2-only server fail every handshake without a word.
 */
const tls13Suite = (name: string) => /^TLS_/i.test(name);

function cipherKnown(name: string): boolean {
  if (knownCiphers === null) knownCiphers = new Set(getCiphers().filter((c) => !tls13Suite(c)).map((c) => c.toUpperCase()));
  return knownCiphers.has(name.toUpperCase());
}

/**
 * A cipherSuites entry passed to BoringSSL as Envoy passes it: a known name, `ALL`, or a
 * known name after an operator (`-X` removes, `!X` bans, `+X` moves X last), which
 * Istio's IsValidCipherSuite lets through unparsed.
 */
function cipherEntry(c: string): boolean {
  if (c === "ALL" || cipherKnown(c)) return true;
  return (c.startsWith("-") || c.startsWith("!") || c.startsWith("+")) && cipherKnown(c.slice(1));
}

/** "" when the cipher list selects something, else BoringSSL's complaint. */
function noCipherSelected(list: string): string {
  try {
    createSecureContext({ ciphers: list });
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The key type (`RSA`, `ECDSA`) no cipher of `list` can sign with, or "": a TLS 1.2
 * suite names the key it needs (`ECDHE-ECDSA-…` an EC key; `ECDHE-RSA-…`, `AES128-…`,
 * `DES-CBC3-SHA` an RSA key). Lists with `ALL` or an operator are not judged.
 */
function noCipherForKey(list: string, keyType: string | undefined): string {
  if (list === "" || (keyType !== "rsa" && keyType !== "ec")) return "";
  const names = list.split(":");
  if (names.some((c) => c === "ALL" || /^[-!+]/.test(c))) return "";
  const fits = (c: string) => (/-ECDSA-/i.test(c) ? keyType === "ec" : keyType === "rsa");
  return names.some(fits) ? "" : keyType === "rsa" ? "RSA" : "ECDSA";
}

/** `kubernetes://ns/name`, `kubernetes://name`, `name` → [namespace or "", name]. */
export function parseCredentialName(ref: string): [string, string] {
  let r = ref.startsWith("kubernetes://") ? ref.slice("kubernetes://".length) : ref;
  r = r.trim();
  const slash = r.indexOf("/");
  return slash < 0 ? ["", r] : [r.slice(0, slash), r.slice(slash + 1)];
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A valid Secret name: a DNS-1123 subdomain of at most 253 characters. */
function isSecretName(s: string): boolean {
  return s.length <= 253 && SUBDOMAIN.test(s);
}

function secretData(s: SecretResource | undefined): SecretData | null {
  return s === undefined ? null : { ref: resourceRef(s), data: s.spec.data };
}

/** Route table name Istio gives an HTTPS server: `https.<port>.<port name>.<gateway>.<namespace>`. */
function chainName(b: BoundServer): string {
  const g = b.gateway;
  return `https.${b.server.port.number}.${b.server.port.name || b.index}.${g.metadata.name}.${g.metadata.namespace}`;
}

export interface TlsCompileState {
  secrets: SecretIndex;
  /** ConfigMaps by `namespace/name` (CA bundles a server names in caCertCredentialName). */
  configMaps: Map<string, ConfigMapResource>;
  credentials: Map<string, Credential>;
  /** Services AUTO_PASSTHROUGH servers may route to (asked only when there is one). */
  services: () => ServiceRef[];
  /** BackendTLSPolicy settings by Service host (compile/gatewayapi/backendtls.ts); absent: none. */
  backendTls?: BackendTlsIndex;
}

/** Namespaces to look a credential up in, in order: an Ingress's own first, then the gateway's. */
function lookupNamespaces(ctx: CompileContext, g: GatewayResource, explicit: string): string[] {
  if (explicit !== "") return [explicit];
  const origin = ctx.origins.get(g);
  const out: string[] = [];
  if (origin !== undefined && origin.kind === "Ingress") out.push(origin.metadata.namespace);
  out.push(ctx.opts.namespace);
  return out;
}

function resolveCredential(ctx: CompileContext, st: TlsCompileState, b: BoundServer, tls: NonNullable<Server["tls"]>): { key: string; problem: string } {
  const field = `spec.servers[${b.index}].tls`;
  if (tls.credentialName === "" && tls.credentialNames.length > 0) {
    // Istio serves every credentialNames entry (an RSA and an ECDSA certificate) and takes the CA from the first
    tls.credentialNames.slice(1).forEach((extra, i) => {
      const [ens, ename] = parseCredentialName(extra);
      const found = lookupNamespaces(ctx, b.gateway, ens).some((ns) => st.secrets.has(`${ns}/${ename}`));
      ctx.report(
        "Warning",
        Codes.CredentialWarning,
        b.gateway,
        `credentialNames[${i + 1}] "${extra}"${found ? "" : " (not found)"} is not presented: gangway serves one certificate per server, the first of credentialNames (Envoy would offer each to the clients that prefer its key type)`,
        `${field}.credentialNames[${i + 1}]`,
      );
    });
    return resolveCredential(ctx, st, b, { ...tls, credentialName: tls.credentialNames[0]!, credentialNames: [] });
  }
  if (tls.credentialName === "" && tls.serverCertificate === "" && tls.tlsCertificates !== undefined && tls.tlsCertificates.length > 0) {
    // as credentialNames: the first is served, the CA (MUTUAL) is the server's caCertificates
    const [first, ...extra] = tls.tlsCertificates;
    extra.forEach((c, i) =>
      ctx.report(
        "Warning",
        Codes.CredentialWarning,
        b.gateway,
        `tlsCertificates[${i + 1}] (${c.serverCertificate}) is not presented: gangway serves one certificate per server, the first of tlsCertificates (Envoy would offer each to the clients that prefer its key type)`,
        `${field}.tlsCertificates[${i + 1}]`,
      ),
    );
    return resolveCredential(ctx, st, b, { ...tls, serverCertificate: first!.serverCertificate, privateKey: first!.privateKey, caCertificates: tls.caCertificates || first!.caCertificates, tlsCertificates: [] });
  }
  if (tls.credentialName === "") {
    if (tls.serverCertificate !== "") return fileCredential(ctx, st, b, tls);
    ctx.report("Error", Codes.CredentialMissing, b.gateway, `${tls.mode} server has no credentialName: its hosts fail the handshake`, `${field}.credentialName`);
    return { key: "", problem: "no credentialName" };
  }
  // as istiod's buildGatewayListenerTLSContext: a credential is fetched by SDS, the file fields are not read
  const files = (["serverCertificate", "privateKey", "caCertificates"] as const).filter((k) => tls[k] !== "");
  for (const k of files) {
    ctx.report("Warning", Codes.CredentialWarning, b.gateway, `${k} is not used with credentialName${k === "caCertificates" ? " (the client CA is the credential's ca.crt, its -cacert Secret, or caCertCredentialName)" : ""}: ignored, as istiod ignores it`, `${field}.${k}`);
  }
  const origin = ctx.origins.get(b.gateway);
  if (origin?.kind === "Ingress" && !isSecretName(tls.credentialName)) {
    // An Ingress's secretName is a Secret name (the API server refuses anything else), never
    // `ns/name` nor `kubernetes://...`: a namespace in it would let the Ingress read another
    // namespace's Secret, which istiod's SDS refuses too (unverified cross-namespace reference).
    const problem = `tls.secretName "${tls.credentialName}" is not a Secret name (lower-case DNS subdomain, no namespace: the Secret is read from the Ingress's namespace or the gateway's)`;
    ctx.report("Error", Codes.CredentialMissing, b.gateway, `${problem}: its hosts fail the handshake`, `${field}.credentialName`);
    return { key: "", problem };
  }
  const [explicitNs, name] = parseCredentialName(tls.credentialName);
  if (explicitNs !== "" && explicitNs !== ctx.opts.namespace && origin === undefined) {
    // istiod's SDS serves a `kubernetes://` Secret only from the proxy's own namespace
    // (filterAuthorizedResources: unverified cross-namespace references are never allowed)
    const problem = `Secret ${explicitNs}/${name} is not in the gateway namespace ${ctx.opts.namespace}: a Gateway's credential is read only from there`;
    ctx.report("Error", Codes.CredentialMissing, b.gateway, `credentialName "${tls.credentialName}": ${problem}: its hosts fail the handshake`, `${field}.credentialName`);
    return { key: "", problem };
  }
  const tried: string[] = [];
  for (const ns of lookupNamespaces(ctx, b.gateway, explicitNs)) {
    const key = `${ns}/${name}`;
    const secret = st.secrets.get(key);
    const companion = st.secrets.get(`${ns}/${name}-cacert`);
    if (secret === undefined && companion === undefined) {
      tried.push(key);
      continue;
    }
    const cached = st.credentials.get(key);
    if (cached !== undefined) return checkMode(ctx, b, tls, key, cached);
    const r = parseCredential(name, secretData(secret), secretData(companion));
    if (!r.ok) {
      // the Secret itself when there is one: the finding then names its file and document
      const where: Resource | string = secret ?? `Secret/${key}`;
      const last = keepLastGood(ctx, st, key, where, r.problem, r.field);
      if (last !== null) return checkMode(ctx, b, tls, key, last);
      ctx.report("Error", Codes.CredentialInvalid, where, `${r.problem}: the hosts of ${resourceRef(b.gateway)} server ${b.index} fail the handshake`, r.field);
      return { key: "", problem: `credential ${key}: ${r.problem}` };
    }
    r.credential.warnings.forEach((w, i) => ctx.report("Warning", Codes.CredentialWarning, secret ?? `Secret/${key}`, w, r.warningFields[i]));
    const costly = keyCostWarning(r.credential);
    if (costly !== null) ctx.report("Warning", Codes.KeyTooLarge, secret ?? `Secret/${key}`, costly, "data");
    st.credentials.set(key, r.credential);
    return checkMode(ctx, b, tls, key, r.credential);
  }
  const missing = `Secret ${tried.join(" or ")} not found`;
  ctx.report("Error", Codes.CredentialMissing, b.gateway, `credentialName "${tls.credentialName}": ${missing}: its hosts fail the handshake`, `${field}.credentialName`);
  return { key: "", problem: missing };
}

/**
 * A credential that no longer parses but served until now keeps serving (reported
 * as an Error all the same); null when there is no earlier good version.
 */
function keepLastGood(ctx: CompileContext, st: TlsCompileState, key: string, where: Resource | string, problem: string, field: string): Credential | null {
  const last = ctx.opts.lastGood?.get(key);
  if (last === undefined) return null;
  ctx.report("Error", Codes.CredentialInvalid, where, `${problem}: the update is refused, the credential loaded before keeps serving`, field);
  st.credentials.set(key, last);
  return last;
}

/** serverCertificate / privateKey / caCertificates: files (a mounted volume), read by the loader. */
function fileCredential(ctx: CompileContext, st: TlsCompileState, b: BoundServer, tls: NonNullable<Server["tls"]>): { key: string; problem: string } {
  const field = `spec.servers[${b.index}].tls`;
  const files = ctx.opts.certFiles ?? new Map<string, string | null>();
  const data: Record<string, string> = {};
  const want: [string, string, string][] = [
    ["serverCertificate", tls.serverCertificate, "tls.crt"],
    ["privateKey", tls.privateKey, "tls.key"],
    ["caCertificates", tls.caCertificates, "ca.crt"],
  ];
  for (const [name, path, key] of want) {
    if (path === "") continue;
    const text = files.get(path);
    if (text === undefined || text === null) {
      const p = `cannot read ${name} file ${path}`;
      ctx.report("Error", Codes.CredentialMissing, b.gateway, `${p}: its hosts fail the handshake`, `${field}.${name}`);
      return { key: "", problem: p };
    }
    data[key] = text;
  }
  const key = `file:${tls.serverCertificate}`;
  const r = parseCredential(tls.serverCertificate, { ref: `file ${tls.serverCertificate}`, data }, null);
  if (!r.ok) {
    const fieldName = r.field === "data.tls.key" ? "privateKey" : r.field === "data.ca.crt" ? "caCertificates" : "serverCertificate";
    const last = keepLastGood(ctx, st, key, resourceRef(b.gateway), r.problem, `${field}.${fieldName}`);
    if (last !== null) return checkMode(ctx, b, tls, key, last);
    ctx.report("Error", Codes.CredentialInvalid, b.gateway, `${r.problem}: its hosts fail the handshake`, `${field}.${fieldName}`);
    return { key: "", problem: r.problem };
  }
  for (const w of r.credential.warnings) ctx.report("Warning", Codes.CredentialWarning, b.gateway, `${tls.serverCertificate}: ${w}`, `${field}.serverCertificate`);
  const costly = keyCostWarning(r.credential);
  if (costly !== null) ctx.report("Warning", Codes.KeyTooLarge, b.gateway, `${tls.privateKey}: ${costly}`, `${field}.privateKey`);
  st.credentials.set(key, r.credential);
  return checkMode(ctx, b, tls, key, r.credential);
}

/**
 * MUTUAL / OPTIONAL_MUTUAL: what the client certificate is checked against besides
 * the credential's CA, as Envoy's validation context: the CA of
 * `caCertCredentialName`, `insecureSkipVerify` (ACCEPT_UNTRUSTED), the certificate
 * and SPKI hashes, and the revocation list of `caCrl`.
 */
function clientChecks(ctx: CompileContext, st: TlsCompileState, b: BoundServer, tls: NonNullable<Server["tls"]>, chain: FilterChain): void {
  const field = `spec.servers[${b.index}].tls`;
  if (tls.caCertCredentialName) {
    const ca = resolveClientCa(ctx, st, b, caResource(ctx, st, b, tls.caCertCredentialName));
    chain.clientCa = ca.key;
    chain.disabled = ca.problem;
  }
  if (tls.insecureSkipVerify === true) chain.acceptUntrusted = true;
  if (tls.verifyCertificateHash !== undefined && tls.verifyCertificateHash.length > 0) chain.verifyHashes = tls.verifyCertificateHash;
  if (tls.verifyCertificateSpki !== undefined && tls.verifyCertificateSpki.length > 0) chain.verifySpki = tls.verifyCertificateSpki;
  // with a credential, istiod builds the validation context from the Secret alone (compileChain warns)
  if (tls.caCrl !== undefined && tls.caCrl !== "" && tls.credentialName === "" && tls.credentialNames.length === 0) {
    const text = ctx.opts.certFiles?.get(tls.caCrl);
    const bad = text === undefined || text === null ? `cannot read caCrl file ${tls.caCrl}` : crlProblem(text);
    if (bad !== null) {
      const p = text === undefined || text === null ? bad : `caCrl file ${tls.caCrl} does not parse: ${bad}`;
      ctx.report("Error", Codes.CredentialInvalid, b.gateway, `${p}: its hosts fail the handshake`, `${field}.caCrl`);
      chain.disabled = p;
    } else chain.crl = text!;
  }
}

/**
 * An Istio Gateway's `caCertCredentialName` is a Secret name (or `ns/name`) looked up
 * as credentialName is; istiod's resource names (`configmap://…`, from a Gateway API
 * `tls.frontend`) pass as they are.
 */
function caResource(ctx: CompileContext, st: TlsCompileState, b: BoundServer, name: string): string {
  if (name.includes("://")) return name;
  const [explicitNs, n] = parseCredentialName(name);
  const nss = lookupNamespaces(ctx, b.gateway, explicitNs);
  const ns = nss.find((s) => st.secrets.has(`${s}/${n}`)) ?? nss[0]!;
  return caResourceName("Secret", ns, n);
}

/** Istio's mesh certificate layout: [cert-chain.pem, key.pem, root-cert.pem]. */
export function meshFiles(dir: string): [string, string, string] {
  const d = dir.endsWith("/") ? dir : dir + "/";
  return [d + "cert-chain.pem", d + "key.pem", d + "root-cert.pem"];
}

/** Every file path a Gateway server names for its certificates (the loader reads them). */
export function certificateFiles(gateways: GatewayResource[], meshCerts: string | null = null): string[] {
  const out = new Set<string>();
  for (const g of gateways) {
    for (const s of g.spec.servers) {
      if (s.tls?.mode === "ISTIO_MUTUAL" && meshCerts !== null) for (const f of meshFiles(meshCerts)) out.add(f);
      if (s.tls === null) continue;
      if (s.tls.credentialName !== "" || s.tls.credentialNames.length > 0) continue;
      if (s.tls.caCrl) out.add(s.tls.caCrl);
      for (const p of [s.tls.serverCertificate, s.tls.privateKey, s.tls.caCertificates]) if (p !== "") out.add(p);
      const first = s.tls.tlsCertificates?.[0];
      if (first !== undefined) for (const p of [first.serverCertificate, first.privateKey, first.caCertificates]) if (p !== "") out.add(p);
    }
  }
  return [...out];
}

function checkMode(ctx: CompileContext, b: BoundServer, tls: NonNullable<Server["tls"]>, key: string, c: Credential): { key: string; problem: string } {
  const field = `spec.servers[${b.index}].tls.credentialName`;
  if (c.certChain === "") {
    const p = `Secret ${key} has no server certificate and key`;
    ctx.report("Error", Codes.CredentialInvalid, b.gateway, `${p}: its hosts fail the handshake`, field);
    return { key: "", problem: p };
  }
  if ((tls.mode === "MUTUAL" || tls.mode === "OPTIONAL_MUTUAL" || tls.mode === "ISTIO_MUTUAL") && c.caCert === "" && !tls.caCertCredentialName) {
    const p = `${tls.mode} needs a CA certificate: Secret ${key} has no ca.crt/cacert and there is no ${key}-cacert`;
    ctx.report("Error", Codes.CredentialInvalid, b.gateway, `${p}: its hosts fail the handshake`, field);
    return { key: "", problem: p };
  }
  return { key, problem: "" };
}

function compileChain(
  ctx: CompileContext,
  st: TlsCompileState,
  group: PortGroup,
  b: BoundServer,
  vsByGateway: Map<string, VirtualServiceResource[]>,
  claimed: Map<string, string>,
): FilterChain {
  const tls = b.server.tls!;
  const field = `spec.servers[${b.index}].tls`;
  const mode = tls.mode as TlsMode;
  const chain: FilterChain = {
    name: chainName(b),
    source: serverSource(ctx, b),
    serverNames: b.server.hosts.map(stripNamespace).map((h) => h.toLowerCase()),
    mode,
    credential: "",
    disabled: "",
    minVersion: VERSIONS[tls.minProtocolVersion] ?? "TLSv1.2",
    maxVersion: VERSIONS[tls.maxProtocolVersion] ?? "TLSv1.3",
    ciphers: "",
    subjectAltNames: tls.subjectAltNames,
    routeTable: null,
    tcpRoutes: null,
  };
  // a Gateway API listener (its derived Gateway's origin): Hosts a more specific listener of the port owns are misdirected
  const origin = ctx.origins.get(b.gateway)?.kind;
  if (origin === "KubernetesGateway" || origin === "ListenerSet") chain.ownHostsOnly = true;
  if (mode === "SIMPLE" || mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL") {
    const { key, problem } = resolveCredential(ctx, st, b, tls);
    chain.credential = key;
    chain.disabled = problem;
    if (mode !== "SIMPLE" && problem === "") clientChecks(ctx, st, b, tls, chain);
  } else if (mode === "ISTIO_MUTUAL") {
    const meshCerts = ctx.opts.meshCerts ?? null;
    if (meshCerts === null) {
      chain.disabled = "ISTIO_MUTUAL needs the mesh certificates: start with --mesh-certs DIR";
      ctx.report("Error", Codes.CredentialMissing, b.gateway, `${chain.disabled}: connections for ${chain.serverNames.join(", ")} fail the handshake`, `${field}.mode`);
    } else {
      const [cert, key, root] = meshFiles(meshCerts);
      const { key: k, problem } = fileCredential(ctx, st, b, { ...tls, serverCertificate: cert, privateKey: key, caCertificates: root });
      chain.credential = k;
      chain.disabled = problem;
      chain.trustDomain = ctx.opts.trustDomain ?? "cluster.local";
    }
  } else if (mode === "PASSTHROUGH") {
    chain.tcpRoutes = compilePassthroughRoutes(ctx, b, chain.name, vsByGateway, claimed);
  } else {
    chain.tcpRoutes = compileAutoPassthroughRoutes(ctx, b, chain.name, chain.source, st.services()); // AUTO_PASSTHROUGH: every mode is served
  }
  if (tls.cipherSuites.length > 0) {
    const known = [...new Set(tls.cipherSuites.filter(cipherEntry))];
    for (const c of tls.cipherSuites) {
      if (!cipherEntry(c)) ctx.report("Warning", Codes.CipherUnknown, b.gateway, tls13Suite(c.replace(/^[-!+]/, "")) ? `cipher suite ${c} is a TLS 1.3 suite, which a cipher list cannot name (TLS 1.3's suites are always on): dropped` : `cipher suite ${c} is not known: dropped`, `${field}.cipherSuites`);
    }
    const dups = [...new Set(tls.cipherSuites.filter((c, i) => cipherEntry(c) && tls.cipherSuites.indexOf(c) !== i))];
    if (dups.length > 0) ctx.report("Warning", Codes.TlsSettingIgnored, b.gateway, `duplicate cipher suites ignored: ${dups.join(", ")}`, `${field}.cipherSuites`);
    chain.ciphers = known.join(":");
    const none = known.length > 0 && known.some((c) => c !== "ALL" && !cipherKnown(c)) ? noCipherSelected(chain.ciphers) : "";
    if (none !== "") {
      // Envoy refuses such a TLS context too (the list BoringSSL builds is empty)
      chain.disabled = `cipherSuites ${known.join(", ")} select no cipher`;
      ctx.report("Error", Codes.CredentialInvalid, b.gateway, `${chain.disabled}: its hosts fail the handshake`, `${field}.cipherSuites`);
    }
  } else if (tls.minProtocolVersion === "TLSV1_0" || tls.minProtocolVersion === "TLSV1_1") {
    ctx.report("Warning", Codes.TlsSettingIgnored, b.gateway, `minProtocolVersion ${tls.minProtocolVersion} needs cipherSuites: the default ciphers no longer include ones TLS versions below 1.2 can use`, `${field}.minProtocolVersion`);
  }
  if ((tls.caCrl ?? "") !== "" && (tls.credentialName !== "" || tls.credentialNames.length > 0) && mode !== "PASSTHROUGH" && mode !== "AUTO_PASSTHROUGH") {
    // istiod builds a credential's validation context from the Secret alone (its ca.crl key)
    ctx.report("Warning", Codes.TlsSettingIgnored, b.gateway, "caCrl is ignored with credentialName: the CRL is the credential's ca.crl key", `${field}.caCrl`);
  }
  if (tls.httpsRedirect) {
    ctx.report("Warning", Codes.TlsSettingIgnored, b.gateway, "httpsRedirect should only be used with HTTP servers: ignored", `${field}.httpsRedirect`);
  }
  if ((mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH") && (tls.credentialName !== "" || tls.credentialNames.length > 0 || tls.serverCertificate !== "" || tls.privateKey !== "" || tls.caCertificates !== "" || (tls.tlsCertificates ?? []).length > 0 || (tls.caCrl ?? "") !== "")) {
    ctx.report("Warning", Codes.TlsSettingIgnored, b.gateway, `${mode} mode does not use certificates: they are ignored`, `${field}.mode`);
  }
  const keyType = chain.credential === "" ? undefined : st.credentials.get(chain.credential)?.keyType;
  const unusable = chain.disabled === "" && chain.maxVersion !== "TLSv1.3" ? noCipherForKey(chain.ciphers, keyType) : "";
  if (unusable !== "") {
    // Envoy takes such a list too and fails each handshake; istiod says nothing (a gangway Warning)
    ctx.report("Warning", Codes.TlsSettingIgnored, b.gateway, `cipherSuites ${chain.ciphers.replaceAll(":", ", ")} have no cipher for the certificate's ${unusable} key and maxProtocolVersion is below TLS 1.3: its hosts fail the handshake`, `${field}.cipherSuites`);
  }
  if (chain.minVersion > chain.maxVersion) {
    ctx.report("Error", Codes.CredentialInvalid, b.gateway, `minProtocolVersion is above maxProtocolVersion: its hosts fail the handshake`, `${field}.minProtocolVersion`);
    chain.disabled = "minProtocolVersion above maxProtocolVersion";
  }
  if (terminatesHTTP(b.server)) {
    chain.routeTable = compileRouteTable(ctx, { ...group, servers: [b] }, vsByGateway, null, chain.name);
  } else if (chain.tcpRoutes === null) {
    // a TLS server terminated here: its bytes follow the tcp routes
    chain.tcpRoutes = compileTcpRoutes(ctx, b, chain.name, vsByGateway);
  }
  return chain;
}

/** The filter chains of a TLS port and their SNI index. */
export function compileTlsListener(
  ctx: CompileContext,
  st: TlsCompileState,
  group: PortGroup,
  vsByGateway: Map<string, VirtualServiceResource[]>,
): TlsListener {
  const claimed = new Map<string, string>();
  const chains = group.servers.map((b) => compileChain(ctx, st, group, b, vsByGateway, claimed));
  // A PASSTHROUGH server is reached by the sniHosts of its tls routes, not by its hosts:
  // istiod builds one filter chain per route match (buildGatewayNetworkFiltersFromTLSRoutes)
  // and none for a server without routes, so another server's chain gets that SNI
  const names = chains.map((c) => (c.mode === "PASSTHROUGH" && c.tcpRoutes !== null ? c.tcpRoutes.routes.flatMap((r) => r.sniHosts) : c.serverNames));
  return { chains, ...indexNames(names) };
}

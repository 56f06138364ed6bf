// Gateway (networking.istio.io): servers with port, hosts and TLS settings,
// checked as Istio's validation checks them.
import type { GatewaySpec, Server, ServerTLS, ServerTLSMode } from "../model/istio.ts";
import { isIP } from "node:net";
import { Codes } from "../model/codes.ts";
import type { ServerProtocol } from "../snapshot/types.ts";
import { bool, join, obj, objList, oneOf, port, str, strList, strMap, type Obj, type Reader } from "./read.ts";

const TLS_MODES: readonly ServerTLSMode[] = ["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"];

/** Istio protocol names (case-insensitive) → the protocol gangway serves them as. */
const PROTOCOLS: Record<string, ServerProtocol> = {
  HTTP: "HTTP",
  HTTP_PROXY: "HTTP",
  HTTPS: "HTTPS",
  HTTP2: "HTTP2",
  GRPC: "GRPC",
  "GRPC-WEB": "GRPC",
  TCP: "TCP",
  TLS: "TLS",
  MONGO: "MONGO",
  REDIS: "REDIS",
  MYSQL: "TCP",
};

export { isHTTPProtocol, isTLSProtocol } from "../snapshot/protocols.ts";
import { isHTTPProtocol, isTLSProtocol } from "../snapshot/protocols.ts";

// `h`, `*.h`, `*`, optionally `ns/`, `./` or `*/` in front.
const HOST = /^((\*|\.|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\/)?(\*|(\*\.)?[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?(\.[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)*\.?)$/;

export function validGatewayHost(h: string): boolean {
  return HOST.test(h);
}

function decodeTLS(r: Reader, o: Obj, path: string): ServerTLS {
  return {
    httpsRedirect: bool(r, o, "httpsRedirect", path),
    mode: oneOf(r, o, "mode", path, TLS_MODES, "PASSTHROUGH"),
    credentialName: str(r, o, "credentialName", path),
    credentialNames: strList(r, o, "credentialNames", path),
    serverCertificate: str(r, o, "serverCertificate", path),
    privateKey: str(r, o, "privateKey", path),
    caCertificates: str(r, o, "caCertificates", path),
    subjectAltNames: strList(r, o, "subjectAltNames", path),
    minProtocolVersion: str(r, o, "minProtocolVersion", path),
    maxProtocolVersion: str(r, o, "maxProtocolVersion", path),
    cipherSuites: strList(r, o, "cipherSuites", path),
    ...clientChecks(r, o, path),
  };
}

const HASH = /^[0-9a-f]{64}$/;

/** The fields an Istio Gateway writes only for some servers: present only when written. */
function clientChecks(r: Reader, o: Obj, path: string): Partial<ServerTLS> {
  const out: Partial<ServerTLS> = {};
  const given = (k: string) => o[k] !== undefined && o[k] !== null;
  if (given("caCertCredentialName")) out.caCertCredentialName = str(r, o, "caCertCredentialName", path);
  if (given("insecureSkipVerify")) out.insecureSkipVerify = bool(r, o, "insecureSkipVerify", path);
  if (given("caCrl")) out.caCrl = str(r, o, "caCrl", path);
  if (given("verifyCertificateHash")) {
    const list = strList(r, o, "verifyCertificateHash", path);
    // hex, "simple and colon separated formats are acceptable" (Envoy rejects anything else)
    out.verifyCertificateHash = list.map((h, i) => {
      const n = h.replace(/:/g, "").toLowerCase();
      if (!HASH.test(n)) r.fail(Codes.InvalidValue, `${join(path, "verifyCertificateHash")}[${i}]`, `${JSON.stringify(h)} is not a hex SHA-256 hash (64 hex digits, colons allowed)`);
      return n;
    });
  }
  if (given("verifyCertificateSpki")) {
    const list = strList(r, o, "verifyCertificateSpki", path);
    out.verifyCertificateSpki = list.map((h, i) => {
      if (!/^[A-Za-z0-9+/]{43}=$/.test(h)) r.fail(Codes.InvalidValue, `${join(path, "verifyCertificateSpki")}[${i}]`, `${JSON.stringify(h)} is not a base64 SHA-256 hash (44 characters)`);
      return h;
    });
  }
  if (given("tlsCertificates")) {
    out.tlsCertificates = objList(r, o, "tlsCertificates", path, (c, p) => ({
      serverCertificate: str(r, c, "serverCertificate", p),
      privateKey: str(r, c, "privateKey", p),
      caCertificates: str(r, c, "caCertificates", p),
    }));
  }
  return out;
}

function checkTLS(r: Reader, s: Server, path: string): void {
  const tls = s.tls;
  const p = s.port.protocol;
  const tpath = join(path, "tls");
  if (isTLSProtocol(p)) {
    if (tls === null) {
      r.fail(Codes.MissingField, tpath, `server must have TLS settings for ${p}`);
      return;
    }
  } else if (tls !== null) {
    // Istio allows a pass-through mode (the default; AUTO_PASSTHROUGH too) without certificates: httpsRedirect
    const onlyRedirect =
      (tls.mode === "PASSTHROUGH" || tls.mode === "AUTO_PASSTHROUGH") && tls.caCertificates === "" && tls.privateKey === "" && tls.serverCertificate === "";
    if (!isHTTPProtocol(p) || !onlyRedirect) {
      r.fail(Codes.Conflict, tpath, `server cannot have TLS settings for plain-text ${p} ports (only httpsRedirect)`);
    }
    return;
  }
  if (tls === null) return;
  const m = tls.mode;
  const certs = tls.tlsCertificates ?? [];
  if (m === "ISTIO_MUTUAL") {
    // Istio's validateTLSOptions: the mesh certificate is the only one ISTIO_MUTUAL serves
    const given: [string, boolean][] = [
      ["serverCertificate", tls.serverCertificate !== ""],
      ["privateKey", tls.privateKey !== ""],
      ["caCertificates", tls.caCertificates !== ""],
      ["tlsCertificates", certs.length > 0],
      ["credentialName", tls.credentialName !== ""],
      ["credentialNames", tls.credentialNames.length > 0],
    ];
    for (const [k, set] of given) if (set) r.fail(Codes.Conflict, join(tpath, k), `ISTIO_MUTUAL TLS cannot have an associated ${k}`);
  }
  if (m === "SIMPLE" || m === "MUTUAL" || m === "OPTIONAL_MUTUAL") {
    const fromSecret = tls.credentialName !== "" || tls.credentialNames.length > 0;
    const sources = [tls.serverCertificate !== "" && tls.privateKey !== "", tls.credentialName !== "", tls.credentialNames.length > 0, certs.length > 0].filter(Boolean).length;
    if (sources > 1) {
      r.fail(Codes.Conflict, tpath, "only one of credentialName, credentialNames, serverCertificate/privateKey and tlsCertificates may be given");
    }
    if (!fromSecret) {
      if (certs.length > 0) {
        certs.forEach((c, i) => {
          const cp = `${join(tpath, "tlsCertificates")}[${i}]`;
          if (c.serverCertificate === "") r.fail(Codes.MissingField, join(cp, "serverCertificate"), `${m} TLS requires a server certificate`);
          if (c.privateKey === "") r.fail(Codes.MissingField, join(cp, "privateKey"), `${m} TLS requires a private key`);
        });
      } else {
        if (tls.serverCertificate === "") r.fail(Codes.MissingField, join(tpath, "serverCertificate"), `${m} TLS requires credentialName or a server certificate`);
        if (tls.privateKey === "") r.fail(Codes.MissingField, join(tpath, "privateKey"), `${m} TLS requires credentialName or a private key`);
      }
      if (m !== "SIMPLE" && tls.caCertificates === "") r.fail(Codes.MissingField, join(tpath, "caCertificates"), "MUTUAL TLS requires a client CA bundle");
    }
  }
  // as Istio's validateTLSOptions, whose CRL checks are never reached with a credential
  // (it returns first): a caCrl beside credentialName is accepted and ignored (compile warns)
  if (tls.caCrl !== undefined && tls.caCrl !== "" && tls.credentialName === "" && tls.credentialNames.length === 0) {
    if (m === "SIMPLE") r.fail(Codes.Conflict, join(tpath, "caCrl"), "CRL is not supported with SIMPLE TLS");
  }
}

function decodeServer(r: Reader, o: Obj, path: string): Server | null {
  const po = obj(r, o, "port", path, true);
  const ppath = join(path, "port");
  let number = 0;
  let name = "";
  let protocol: ServerProtocol = "HTTP";
  if (po !== null) {
    number = port(r, po, "number", ppath, true);
    name = str(r, po, "name", ppath, true);
    if (typeof po.targetPort === "number" && po.targetPort > 0) r.fail(Codes.InvalidValue, join(ppath, "targetPort"), "targetPort has no impact on Gateways (Istio refuses it)");
    const raw = str(r, po, "protocol", ppath, true);
    if (raw !== "") {
      const p = PROTOCOLS[raw.toUpperCase()];
      if (p === undefined) {
        r.fail(Codes.InvalidValue, join(ppath, "protocol"), `unknown protocol ${JSON.stringify(raw)} (HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, MONGO, REDIS, MYSQL)`);
      } else protocol = p;
    }
  }
  const hosts = strList(r, o, "hosts", path, true).map((h) => h.toLowerCase());
  hosts.forEach((h, i) => {
    if (!validGatewayHost(h)) r.fail(Codes.InvalidValue, `${join(path, "hosts")}[${i}]`, `invalid host ${JSON.stringify(h)} (host, *.suffix or *, optionally namespace/ in front)`);
    // Istio's validateSidecarOrGatewayHostnamePart: a host other than * needs a dot
    else if (!h.slice(h.indexOf("/") + 1).includes(".") && h.slice(h.indexOf("/") + 1) !== "*") {
      r.fail(Codes.InvalidValue, `${join(path, "hosts")}[${i}]`, `invalid host ${JSON.stringify(h)}: short names (non FQDN) are not allowed`);
    }
  });
  const to = obj(r, o, "tls", path);
  const s: Server = {
    name: str(r, o, "name", path),
    port: { number, name, protocol },
    bind: str(r, o, "bind", path),
    hosts,
    tls: to === null ? null : decodeTLS(r, to, join(path, "tls")),
  };
  // fields Istio does not implement for a gateway server: kept to be reported, never dropped silently
  if (o.defaultEndpoint !== undefined && o.defaultEndpoint !== null) s.defaultEndpoint = str(r, o, "defaultEndpoint", path);
  if (s.bind !== "" && !s.bind.startsWith("unix://") && isIP(s.bind) === 0) {
    r.fail(Codes.InvalidValue, join(path, "bind"), `bind ${JSON.stringify(s.bind)} is not an IP address (or unix:// path)`);
  }
  checkTLS(r, s, path);
  return s;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function decodeGateway(r: Reader, spec: Obj, name?: string): GatewaySpec {
  // Istio's ValidateGateway: the name is a DNS-1123 label (no dots), gateways are referred to as ns/name
  if (name !== undefined && !DNS_LABEL.test(name)) r.fail(Codes.InvalidValue, "metadata.name", `invalid gateway name ${JSON.stringify(name)}: a DNS-1123 label (no dots)`);
  const servers = objList(r, spec, "servers", "spec", (o, p) => decodeServer(r, o, p), true);
  const names = new Set<string>();
  servers.forEach((s, i) => {
    if (s.port.name === "") return;
    if (names.has(s.port.name)) r.fail(Codes.Conflict, `spec.servers[${i}].port.name`, `port names in servers must be unique: duplicate ${JSON.stringify(s.port.name)}`);
    names.add(s.port.name);
  });
  return { selector: strMap(r, spec, "selector", "spec"), servers };
}

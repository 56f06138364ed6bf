// Gateway API client certificate validation (`spec.tls.frontend`), as istiod's
// buildTLS converts it: for a TLS-terminating listener (HTTPS, TLS Terminate)
// the `perPort` entry of its port, else `default`; one caCertificateRef, a core
// ConfigMap or Secret (key `cacert`, else `ca.crt`), of the Gateway's namespace
// or of another one a ReferenceGrant allows. AllowValidOnly → MUTUAL (a client
// without a certificate the CA signed fails the handshake); AllowInsecureFallback
// → OPTIONAL_MUTUAL accepting untrusted certificates (istiod's
// insecureSkipVerify: Envoy's ACCEPT_UNTRUSTED). A reference that does not
// resolve makes the listener not accepted (NoValidCACertificate): not served.
import { parseCaBundle } from "../../credentials/ca-bundle.ts";
import type { CACertificateRef, FrontendTLSConfig, GatewayListener, KubernetesGatewayResource } from "../../model/gatewayapi.ts";
import { GATEWAY_GROUP } from "../../model/gatewayapi.ts";
import type { ConfigMapResource, SecretResource } from "../../model/kube.ts";
import { caResourceName } from "../client-ca.ts";
import type { Grants } from "./grants.ts";
import { cond, type Condition } from "./status.ts";

/** How a listener validates client certificates: the derived server's TLS settings. */
export interface FrontendValidation {
  mode: "MUTUAL" | "OPTIONAL_MUTUAL";
  /** The CA's resource name, as istiod names it: `configmap://ns/name-cacert` or `kubernetes-gateway://ns/name-cacert`. */
  caCertCredentialName: string;
  /** AllowInsecureFallback: a certificate the CA did not sign is accepted too. */
  insecureSkipVerify: boolean;
}

/** A reference that does not resolve: the listener's ResolvedRefs reason, and the field it is in. */
export interface FrontendProblem {
  reason: string;
  message: string;
  field: string;
}

export type FrontendResult = FrontendValidation | FrontendProblem | null;

/** The perPort entry for the listener's port, else the default, with its field path; null without `tls.frontend`. */
function configFor(g: KubernetesGatewayResource, port: number): { config: FrontendTLSConfig; field: string } | null {
  const f = g.spec.frontendTls;
  if (f === null) return null;
  const i = f.perPort.findIndex((p) => p.port === port);
  return i < 0 ? { config: f.default, field: "spec.tls.frontend.default" } : { config: f.perPort[i]!.tls, field: `spec.tls.frontend.perPort[${i}].tls` };
}

function refString(r: CACertificateRef): string {
  return `${r.group}/${r.kind}/${r.name}.${r.namespace}`;
}

export interface FrontendLookup {
  configMaps: Map<string, ConfigMapResource>;
  secrets: Map<string, SecretResource>;
  grants: Grants;
}

/**
 * The client validation of a TLS-terminating listener whose certificate resolved: null when none
 * applies (no `tls.frontend`, or no `validation` for its port),
 * else the settings, or why the reference does not resolve (the listener's ResolvedRefs reason).
 * The checks run in istiod's order: one ref only, ReferenceGrant (before the target is looked
 * at, so status never tells whether an object it may not see exists), kind, existence, content.
 */
export function frontendValidation(g: KubernetesGatewayResource, l: GatewayListener, look: FrontendLookup): FrontendResult {
  const c = configFor(g, l.port);
  const v = c?.config.validation ?? null;
  if (c === null || v === null || v.caCertificateRefs.length === 0) return null;
  const fail = (reason: string, message: string, at = "[0]"): FrontendProblem => ({ reason, message, field: `${c.field}.validation.caCertificateRefs${at}` });
  if (v.caCertificateRefs.length > 1) return fail("InvalidCACertificateRef", "only one caCertificateRef is supported", "");
  const ref = v.caCertificateRefs[0]!;
  const gwNs = g.metadata.namespace;
  const ns = ref.namespace || gwNs;
  const core = ref.group === "";
  // istiod asks the grant for a Secret when the ref is one, for a ConfigMap otherwise
  const grantKind = core && ref.kind === "Secret" ? "Secret" : "ConfigMap";
  if (ns !== gwNs && !look.grants.allows(GATEWAY_GROUP, "Gateway", gwNs, "", grantKind, ns, ref.name)) {
    return fail("RefNotPermitted", `caCertificateRef ${ns}/${ref.name} not accessible to a Gateway in namespace "${gwNs}" (missing a ReferenceGrant?)`);
  }
  if (!core || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) {
    return fail("InvalidCACertificateKind", `invalid CA certificate reference ${refString(ref)}, only secret and configmap are allowed`);
  }
  const key = `${ns}/${ref.name}`;
  const obj = ref.kind === "ConfigMap" ? look.configMaps.get(key) : look.secrets.get(key);
  if (obj === undefined) return fail("InvalidCACertificateRef", `invalid CA certificate reference ${refString(ref)}, ${ref.kind.toLowerCase()} ${key} not found`);
  const parsed = parseCaBundle(ref.name, `${ref.kind}/${key}`, obj.spec.data);
  if (!parsed.ok) return fail("InvalidCACertificateRef", `invalid CA certificate reference ${refString(ref)}, ${parsed.problem}`);
  const insecure = v.mode === "AllowInsecureFallback";
  return {
    mode: insecure ? "OPTIONAL_MUTUAL" : "MUTUAL",
    caCertCredentialName: caResourceName(ref.kind as "ConfigMap" | "Secret", ns, ref.name),
    insecureSkipVerify: insecure,
  };
}

/** istiod's Gateway condition when `default` or a `perPort` entry is AllowInsecureFallback, or null. */
export function insecureFrontendCondition(g: KubernetesGatewayResource): Condition | null {
  const f = g.spec.frontendTls;
  if (f === null) return null;
  const insecure = [f.default, ...f.perPort.map((p) => p.tls)].some((c) => c.validation?.mode === "AllowInsecureFallback");
  return insecure ? cond("InsecureFrontendValidationMode", true, "ConfigurationChanged", "Gateway is operating in AllowInsecureFallback mode for frontend validation") : null;
}

// The CA a TLS server verifies its clients with when it is named apart from the
// server's credential (`caCertCredentialName`: a Gateway API Gateway's
// `tls.frontend` caCertificateRef, a ConfigMap or a Secret). It becomes a CA-only
// credential in the snapshot under that name, which the filter chain points to.
import { parseCaBundle } from "../credentials/ca-bundle.ts";
import { Codes } from "../model/codes.ts";
import type { Credential } from "../credentials/parse.ts";
import type { ConfigMapResource, SecretResource } from "../model/kube.ts";
import type { CompileContext } from "./context.ts";
import type { BoundServer } from "./servers.ts";

/** What the lookup needs of the TLS compile state (tls.ts's TlsCompileState). */
export interface ClientCaState {
  configMaps: Map<string, ConfigMapResource>;
  secrets: Map<string, SecretResource>;
  credentials: Map<string, Credential>;
}
const SUFFIX = "-cacert";

/** istiod's name for a CA resource: `configmap://ns/name-cacert`, `kubernetes-gateway://ns/name-cacert` (a Secret). */
export function caResourceName(kind: "ConfigMap" | "Secret", ns: string, name: string): string {
  return `${kind === "ConfigMap" ? "configmap" : "kubernetes-gateway"}://${ns}/${name}${SUFFIX}`;
}

/** `configmap://ns/name-cacert` → ["ConfigMap", ns, name]; `kubernetes-gateway://…` → Secret; null for anything else. */
export function parseCaResourceName(ref: string): ["ConfigMap" | "Secret", string, string] | null {
  const m = /^(configmap|kubernetes-gateway):\/\/([^/]+)\/(.+)$/.exec(ref);
  if (m === null || !m[3]!.endsWith(SUFFIX)) return null;
  return [m[1] === "configmap" ? "ConfigMap" : "Secret", m[2]!, m[3]!.slice(0, -SUFFIX.length)];
}

/** ConfigMaps by `namespace/name`. */
export function indexConfigMaps(list: ConfigMapResource[]): Map<string, ConfigMapResource> {
  return new Map(list.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c]));
}

/** `caCertCredentialName` → its key in the snapshot's credentials, or why it cannot serve (the chain is then disabled). */
export function resolveClientCa(ctx: CompileContext, st: ClientCaState, b: BoundServer, name: string): { key: string; problem: string } {
  const field = `spec.servers[${b.index}].tls.caCertCredentialName`;
  if (st.credentials.has(name)) return { key: name, problem: "" };
  const parsed = parseCaResourceName(name);
  const fail = (problem: string) => {
    ctx.report("Error", Codes.CredentialInvalid, b.gateway, `${problem}: its hosts fail the handshake`, field);
    return { key: "", problem };
  };
  if (parsed === null) return fail(`caCertCredentialName ${JSON.stringify(name)} is not configmap://ns/name-cacert or kubernetes-gateway://ns/name-cacert`);
  const [kind, ns, n] = parsed;
  const obj = kind === "ConfigMap" ? st.configMaps.get(`${ns}/${n}`) : st.secrets.get(`${ns}/${n}`);
  if (obj === undefined) return fail(`${kind} ${ns}/${n} not found`);
  const r = parseCaBundle(name, `${kind}/${ns}/${n}`, obj.spec.data);
  if (!r.ok) return fail(`${kind} ${ns}/${n}: ${r.problem}`);
  for (const w of r.credential.warnings) ctx.report("Warning", Codes.CredentialWarning, `${kind}/${ns}/${n}`, w, r.field);
  st.credentials.set(name, r.credential);
  return { key: name, problem: "" };
}

// A Gateway's `spec.tls.frontend` (Gateway API client certificate validation):
// `default` for every TLS-terminating listener, `perPort` entries overriding it
// for one port. `mode` defaults to AllowValidOnly (the CRD's default).
import { Codes } from "../model/codes.ts";
import type { FrontendTLS, FrontendTLSConfig } from "../model/gatewayapi.ts";
import { join, obj, objList, oneOf, port, str, type Obj, type Reader } from "./read.ts";

const MODES = ["AllowValidOnly", "AllowInsecureFallback"] as const;

function config(r: Reader, o: Obj | null, path: string): FrontendTLSConfig {
  const v = o === null ? null : obj(r, o, "validation", path);
  if (v === null) return { validation: null };
  const vp = join(path, "validation");
  return {
    validation: {
      caCertificateRefs: objList(r, v, "caCertificateRefs", vp, (c, cp) => ({
        group: str(r, c, "group", cp),
        kind: str(r, c, "kind", cp, true),
        name: str(r, c, "name", cp, true),
        namespace: str(r, c, "namespace", cp),
      }), true),
      mode: oneOf(r, v, "mode", vp, MODES, "AllowValidOnly"),
    },
  };
}

export function decodeFrontendTls(r: Reader, spec: Obj): FrontendTLS | null {
  const tls = obj(r, spec, "tls", "spec");
  const f = tls === null ? null : obj(r, tls, "frontend", "spec.tls");
  if (f === null) return null;
  const p = "spec.tls.frontend";
  const perPort = objList(r, f, "perPort", p, (e, ep) => ({ port: port(r, e, "port", ep, true), tls: config(r, obj(r, e, "tls", ep, true), join(ep, "tls")) }));
  // the CRD's rule (an API server refuses the object): "Port for TLS configuration must be unique within the Gateway"
  perPort.forEach((e, i) => {
    if (perPort.findIndex((x) => x.port === e.port) !== i) r.fail(Codes.Conflict, `${p}.perPort[${i}].port`, `port for TLS configuration must be unique within the Gateway: ${e.port} again`);
  });
  return { default: config(r, obj(r, f, "default", p, true), join(p, "default")), perPort };
}

// Conformance cases of the Gateway API's frontend client certificate validation
// (`spec.tls.frontend`, features GatewayFrontendClientCertificateValidation and
// ...InsecureFallback), kept apart from conformance-cases.ts so they merge cleanly.
// `clientCert` is the certificate the request's client presents: the suite's
// tls-validity-checks-client-certificate (signed by the CA of ConfigMap
// tls-validity-checks-ca-certificate), the per-port one (signed by the CA of
// tls-validity-checks-per-port-ca-certificate), or none; "closed" is a handshake
// that fails. Real handshakes: test/e2e/gatewayapi-frontend-tls.test.ts.
import type { CaseRequest, ConformanceCase } from "./conformance-cases.ts";

const INFRA = "gateway-conformance-infra";
const gw = (name: string) => `${INFRA}/${name}`;
const V1 = "infra-backend-v1";
const V2 = "infra-backend-v2";
/** An HTTPS request to `host` on `port` (SNI = host) presenting `clientCert`. */
const https = (host: string, port: number, clientCert: NonNullable<CaseRequest["clientCert"]>, expect: string | number): CaseRequest => ({ host, sni: host, port, path: "/", clientCert, expect });

export const FRONTEND_TLS_CASES: ConformanceCase[] = [
  {
    // default CA on 443, the per-port CA on 8443: each listener takes only its own CA's clients
    name: "gateway-with-clientcertificate-validation",
    gateways: [gw("client-validation-default")],
    requests: [
      https("example.org", 443, "default", V1), https("example.org", 443, "per-port", "closed"),
      https("second-example.org", 8443, "per-port", V2), https("second-example.org", 8443, "default", "closed"),
      // not in the upstream test: AllowValidOnly without a certificate
      https("example.org", 443, "none", "closed"), https("second-example.org", 8443, "none", "closed"),
    ],
  },
  {
    // AllowInsecureFallback: every client is served (a matching, a foreign or no certificate); the Gateway says InsecureFrontendValidationMode
    name: "gateway-with-clientcertificate-validation-insecure-fallback",
    gateways: [gw("client-validation-insecure-fallback")],
    requests: [
      https("example.org", 443, "default", V1), https("example.org", 443, "per-port", V1), https("example.org", 443, "none", V1),
      https("second-example.org", 8443, "per-port", V2), https("second-example.org", 8443, "default", V2), https("second-example.org", 8443, "none", V2),
    ],
  },
  {
    // status only upstream (a missing ConfigMap, a Service, a cross-namespace ConfigMap without ReferenceGrant): those listeners are not served
    name: "gateway-with-invalid-clientcertificate-validation",
    gateways: [gw("gateway-with-invalid-client-cert-validation")],
    requests: [
      { host: "first-example.org", sni: "first-example.org", port: 7443, path: "/", expect: "no listener" },
      { host: "second-example.org", sni: "second-example.org", port: 8443, path: "/", expect: "no listener" },
      { host: "fourth-example.org", sni: "fourth-example.org", port: 6443, path: "/", expect: "no listener" },
    ],
  },
  {
    // an invalid default CA: the HTTPS listener is not served, the HTTP listener (its perPort entry is for port 80, no TLS) serves
    name: "gateway-invalid-default-frontend-client-certificate-validation",
    gateways: [gw("invalid-default-client-validation-config")],
    requests: [{ host: "example.org", path: "/", expect: V1 }, { host: "example.org", sni: "example.org", port: 443, path: "/", expect: "no listener" }],
  },
];

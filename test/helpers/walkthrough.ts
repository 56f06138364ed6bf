// The walkthrough's YAML, as the walkthrough writes it, for the tests that
// replay its sections through the real gateway process.

/**
 * The walkthrough's Gateway mygateway: one server on 443 (HTTPS) for `host`
 * with tls mode `mode`; SIMPLE and MUTUAL take the credential httpbin-credential.
 */
export function walkthroughGateway(mode: "SIMPLE" | "MUTUAL" | "PASSTHROUGH", host: string): string {
  const credential = mode === "PASSTHROUGH" ? "" : "\n      credentialName: httpbin-credential # must be the same as secret";
  return `
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: mygateway
spec:
  selector:
    istio: ingressgateway # use istio default ingress gateway
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    tls:
      mode: ${mode}${credential}
    hosts:
    - ${host}
`;
}

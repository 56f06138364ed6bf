// A gateway that takes mesh clients (ISTIO_MUTUAL): its Gateway and route, and
// the mesh certificates it is started with (--mesh-certs).
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";
import { writeTree } from "./gateway.ts";

/** Gateway mesh-gw: 443 HTTPS, ISTIO_MUTUAL, for *.mesh.example.com; VirtualService app to httpbin.default:8000. */
export const MESH_GATEWAY = `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: mesh-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*.mesh.example.com"]
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: ["*.mesh.example.com"]
  gateways: [mesh-gw]
  http: [{route: [{destination: {host: httpbin.default.svc.cluster.local, port: {number: 8000}}}]}]
`;

/**
 * The mesh root (cluster.local) and, in a new directory laid out as Istio's
 * (root-cert.pem, cert-chain.pem, key.pem), the gateway's certificate for
 * app.mesh.example.com with the SPIFFE id of istio-ingressgateway.
 */
export async function meshCerts(): Promise<{ root: Issued; dir: string }> {
  const root = await createCA({ cn: "cluster.local root", keyType: "ec" });
  const gwCert = await issue(root, { cn: "istio-ingressgateway", usage: "both", keyType: "ec", names: ["app.mesh.example.com"], uris: ["spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway"] });
  return { root, dir: writeTree({ "root-cert.pem": root.cert, "cert-chain.pem": gwCert.cert, "key.pem": gwCert.key }) };
}

// Certificates for tests, made once per test file with src/certs/generate.ts.
import { createCA, issue, type Issued } from "../../src/certs/generate.ts";

export interface WalkthroughPki {
  ca: Issued; // O=example Inc., CN=example.com
  httpbin: Issued; // CN=httpbin.example.com
  client: Issued; // CN=client.example.com, signed by ca
  otherCa: Issued;
  otherClient: Issued; // signed by otherCa
}

/** The walkthrough's openssl steps: example.com CA, httpbin and client certificates, and a second CA. */
export async function walkthroughPki(): Promise<WalkthroughPki> {
  const ca = await createCA({ cn: "example.com", org: "example Inc.", keyType: "ec" });
  const otherCa = await createCA({ cn: "other.example", org: "other Inc.", keyType: "ec" });
  const [httpbin, client, otherClient] = await Promise.all([
    issue(ca, { cn: "httpbin.example.com", org: "httpbin organization", usage: "server", keyType: "ec" }),
    issue(ca, { cn: "client.example.com", org: "client organization", usage: "client", keyType: "ec" }),
    issue(otherCa, { cn: "client.other.example", usage: "client", keyType: "ec" }),
  ]);
  return { ca, httpbin, client, otherCa, otherClient };
}

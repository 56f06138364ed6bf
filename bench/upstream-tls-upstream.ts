// The TLS upstream of the upstream-TLS benchmark: a CA and a server
// certificate for `hello.internal` written to DIR (ca.pem, cert.pem, key.pem),
// then Bun.serve over TLS returning `Hello, World!` on PORT.
// Usage: bun bench/upstream-tls-upstream.ts [port=18090] [dir=/tmp/up-tls-bench]
import { mkdirSync, writeFileSync } from "node:fs";
import { createCA, issue } from "../src/certs/generate.ts";

const port = Number(process.argv[2] ?? 18090);
const dir = process.argv[3] ?? "/tmp/up-tls-bench";
mkdirSync(dir, { recursive: true });
const ca = await createCA({ cn: "bench-ca", keyType: "ec" });
const srv = await issue(ca, { cn: "hello.internal", names: ["hello.internal"], usage: "server", keyType: "ec" });
writeFileSync(`${dir}/ca.pem`, ca.cert);
writeFileSync(`${dir}/cert.pem`, srv.cert);
writeFileSync(`${dir}/key.pem`, srv.key);
Bun.serve({ hostname: "127.0.0.1", port, development: false, tls: { cert: srv.cert, key: srv.key }, fetch: () => new Response("Hello, World!") });
console.log(`tls upstream on ${port}`);

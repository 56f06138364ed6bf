// `gateway certs ca|server|client ...`: the walkthrough's openssl steps, without openssl
// (options: CERTS_USAGE below).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError, type Options } from "./args.ts";
import { createCA, issue, loadCA, type KeyType } from "../certs/generate.ts";

export type SecretFormat = "tls" | "generic" | "split";

export const CERTS_USAGE = `Usage: npx gangway certs ca|server|client [options]
  certs ca     --name example.com [--org "example Inc."] [--days 365] [--out DIR]
  certs server --ca DIR/example.com --name httpbin.example.com [--names a,b] [--org ...] [--out DIR]
               [--secret-name NAME [--secret-format tls|generic|split] [--with-ca] [--secret-namespace NS]
                [--secrets-dir DIR]]
  certs client --ca DIR/example.com --name client.example.com [--org ...] [--out DIR]
Every kind: [--key-type rsa|ec] (RSA 2048 by default, as the walkthrough) [--days N].
--ca names the CA's files without .crt/.key. Writes NAME.crt and NAME.key (and NAME.yaml
for --secret-name: a Secret in one of Istio's three credential formats; with --secrets-dir DIR,
the Secret as a mounted volume instead: DIR/NAME/tls.crt, tls.key (+ ca.crt), for
\`npx gangway --secrets-dir DIR\`).
`;

function one(o: Options, name: string): string | undefined {
  const v = o.extra.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64");
}

/** The Secrets (name → key → value) of one of Istio's three credential formats. */
export function secretData(name: string, format: SecretFormat, cert: string, key: string, caCert?: string): { name: string; type: string; data: Record<string, string> }[] {
  switch (format) {
    case "tls":
      return [{ name, type: "kubernetes.io/tls", data: { "tls.crt": cert, "tls.key": key, ...(caCert ? { "ca.crt": caCert } : {}) } }];
    case "generic":
      return [{ name, type: "Opaque", data: { cert, key, ...(caCert ? { cacert: caCert } : {}) } }];
    case "split":
      return [{ name, type: "Opaque", data: { cert, key } }, ...(caCert ? [{ name: `${name}-cacert`, type: "Opaque", data: { cacert: caCert } }] : [])];
  }
}

/** Secret YAML in one of Istio's three credential formats. */
export function secretYaml(name: string, namespace: string, format: SecretFormat, cert: string, key: string, caCert?: string): string {
  const doc = (n: string, type: string, data: Record<string, string>) =>
    [
      "apiVersion: v1",
      "kind: Secret",
      "metadata:",
      `  name: ${n}`,
      `  namespace: ${namespace}`,
      `type: ${type}`,
      "data:",
      ...Object.entries(data).map(([k, v]) => `  ${k}: ${b64(v)}`),
    ].join("\n") + "\n";
  return secretData(name, format, cert, key, caCert).map((s) => doc(s.name, s.type, s.data)).join("---\n");
}

export async function certsCommand(o: Options): Promise<number> {
  const kind = o.positional[0];
  const name = one(o, "--name");
  const out = one(o, "--out") ?? ".";
  const org = one(o, "--org");
  const daysStr = one(o, "--days");
  const days = daysStr === undefined ? 365 : Number(daysStr);
  if (!Number.isFinite(days) || days <= 0) throw new UsageError("certs: --days must be a positive number");
  const keyType = (one(o, "--key-type") ?? "rsa") as KeyType;
  if (keyType !== "rsa" && keyType !== "ec") throw new UsageError("certs: --key-type is rsa or ec");
  if (kind !== "ca" && kind !== "server" && kind !== "client") {
    throw new UsageError("certs: expected `certs ca|server|client --name NAME ...`");
  }
  if (name === undefined) throw new UsageError(`certs ${kind}: --name is required`);
  mkdirSync(out, { recursive: true });
  const write = (file: string, text: string) => {
    writeFileSync(join(out, file), text, { mode: file.endsWith(".key") ? 0o600 : 0o644 });
    process.stdout.write(`wrote ${join(out, file)}\n`);
  };
  if (kind === "ca") {
    const ca = await createCA({ cn: name, org, days, keyType });
    write(`${name}.crt`, ca.cert);
    write(`${name}.key`, ca.key);
    return 0;
  }
  const caBase = one(o, "--ca");
  if (caBase === undefined) throw new UsageError(`certs ${kind}: --ca PATH (without .crt/.key) is required`);
  const readCa = (file: string): string => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new UsageError(`certs ${kind}: cannot read the CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  const caCertPem = readCa(`${caBase}.crt`);
  const ca = await loadCA(caCertPem, readCa(`${caBase}.key`));
  const names = one(o, "--names")?.split(",").map((s) => s.trim()).filter(Boolean);
  const leaf = await issue(ca, { cn: name, org, days, keyType, usage: kind, names: names ?? (kind === "server" ? [name] : []) });
  write(`${name}.crt`, leaf.cert);
  write(`${name}.key`, leaf.key);
  const secretName = one(o, "--secret-name");
  if (secretName !== undefined) {
    const fmt = (one(o, "--secret-format") ?? "tls") as SecretFormat;
    const ns = one(o, "--secret-namespace") ?? o.namespace;
    if (!["tls", "generic", "split"].includes(fmt)) throw new UsageError("certs: --secret-format is tls, generic or split");
    const withCa = o.extra.has("--with-ca") || fmt === "split" ? caCertPem : undefined;
    if (o.secretsDir !== null) {
      // what the kubelet mounts for a Secret volume, for `gateway --secrets-dir DIR`
      for (const sec of secretData(secretName, fmt, leaf.cert, leaf.key, withCa)) {
        const folder = join(o.secretsDir, sec.name);
        mkdirSync(folder, { recursive: true });
        for (const [k, v] of Object.entries(sec.data)) {
          writeFileSync(join(folder, k), v, { mode: k === "tls.key" || k === "key" ? 0o600 : 0o644 });
          process.stdout.write(`wrote ${join(folder, k)}\n`);
        }
      }
    } else write(`${secretName}.yaml`, secretYaml(secretName, ns, fmt, leaf.cert, leaf.key, withCa));
  }
  return 0;
}

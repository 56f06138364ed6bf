// The committed standalone validators (src/validate/generated/) are exactly
// what src/validate/generate.ts makes from the vendored schemas: a schema or
// converter change without `bun src/validate/generate.ts` fails here.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generatedSources } from "../../src/validate/generate.ts";
import { schemaProblems } from "../../src/validate/index.ts";
import { configSchemas, GENERATED_DIR } from "../../src/validate/registry.ts";

describe("src/validate/generated", () => {
  test("is up to date with schemas/ and src/validate/convert.ts", () => {
    const want = generatedSources();
    const have = readdirSync(GENERATED_DIR).filter((f) => f.endsWith(".js")).sort();
    expect(have).toEqual([...want.keys()].sort());
    for (const [name, text] of want) expect(`${name}: ${readFileSync(join(GENERATED_DIR, name), "utf8") === text}`).toBe(`${name}: true`);
  }, 60_000); // compiles every schema: ~1.5 s alone, several under load

  test("generated and compiled validators agree (valid, unknown field, wrong type, enum)", () => {
    const generated = configSchemas();
    const compiled = configSchemas(null);
    const docs = [
      { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "v" }, spec: { hosts: ["a"], http: [{ route: [{ destination: { host: "b" } }] }] } },
      { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "v" }, spec: { hosts: ["a"], http: [{ match: [{ uri: { prefx: "/" } }] }] } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: "80" }] } },
      { apiVersion: "networking.istio.io/v1beta1", kind: "Gateway", metadata: { name: "g" }, spec: { servers: [{ port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["a"], tls: { mode: "STRICT" } }] } },
    ];
    for (const d of docs) {
      const a = generated.validator(d.apiVersion, d.kind)!;
      const b = compiled.validator(d.apiVersion, d.kind)!;
      expect(a(d)).toBe(b(d));
      expect(schemaProblems(d, d.apiVersion, d.kind, generated)).toEqual(schemaProblems(d, d.apiVersion, d.kind, compiled));
    }
  }, 30_000);
});

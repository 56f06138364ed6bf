// The CEL rules (x-kubernetes-validations) of the CRDs gangway reads, one table row each
// (fixtures/cel-rules.json: bench/cel-rules.ts over the originals, served versions,
// de-duplicated): an object violating the rule is an Error, as the API server refuses
// it, and the nearest object satisfying it is admitted (test/helpers/cel-cases.ts makes
// both). Rules src/decode/cel.ts checks answer with the CRD's message at the rule's field.
import { describe, expect, test } from "bun:test";
import { stringify } from "yaml";
import { CEL_RULES } from "../../src/decode/cel.ts";
import { decodeFiles } from "../../src/decode/index.ts";
import { caseFor, documentFor, type CelRow } from "../helpers/cel-cases.ts";
import fixture from "./fixtures/cel-rules.json";

const rows = fixture as CelRow[];

function errors(doc: Record<string, unknown>): { field: string; message: string }[] {
  return decodeFiles([{ path: "cel.yaml", text: stringify(doc) }]).errors.map((e) => ({ field: e.field ?? "", message: e.message }));
}

const ours = (row: CelRow) => CEL_RULES.some((r) => r.kind === row.kind && r.paths.includes(row.path) && r.message === row.message);
const concrete = (path: string) => path.replace(/\[\*\]/g, "[0]").replace(/\{\*\}/g, ".app");
const title = (row: CelRow, i: number) => `${i + 1} ${row.kind.split("/")[1]} ${row.path}: ${row.message.slice(0, 100)}`;

/**
 * Valid objects gangway refuses though the API server admits them, with why (left as they are):
 * a network-only endpoint (Istio warns, gangway cannot reach another network) and
 * exponentialDelay (Istio's own validation refuses it: "not supported yet").
 */
const STRICTER: Record<string, string> = {
  "networking.istio.io/ServiceEntry spec.endpoints[*] Address is required": "spec.endpoints[0].address: is required",
  "networking.istio.io/WorkloadEntry spec Address is required": "spec.address: is required",
  "networking.istio.io/VirtualService spec.http[*].fault.delay.exponentialDelay must be a valid duration greater than 1ms": "spec.http[0].fault.delay.exponentialDelay: exponentialDelay not supported yet",
};

describe("rules checked by src/decode/cel.ts: the CRD's message at the field; the nearest valid object admitted", () => {
  rows.forEach((row, i) => {
    if (!ours(row)) return;
    test(title(row, i), () => {
      const c = caseFor(row);
      expect(errors(documentFor(row, c, "good"))).toEqual([]);
      const bad = errors(documentFor(row, c, "bad"));
      expect(bad.filter((e) => e.message === row.message && e.field.startsWith(concrete(row.path)))).not.toEqual([]);
    });
  });
});

describe("rules other checks cover (Istio's validation in the decoders, the schema): the violation is refused", () => {
  rows.forEach((row, i) => {
    if (ours(row)) return;
    const c = caseFor(row);
    if (c.na !== undefined) return;
    test(title(row, i), () => {
      const stricter = STRICTER[`${row.kind} ${row.path} ${row.message}`];
      const good = errors(documentFor(row, c, "good")).map((e) => `${e.field}: ${e.message}`);
      expect(good).toEqual(stricter === undefined ? [] : [stricter]);
      expect(errors(documentFor(row, c, "bad"))).not.toEqual([]);
    });
  });
});

test("rules that do not apply to files: a transition rule (oldSelf), a status field, a type the schema's enum already limits", () => {
  expect(rows.filter((r) => caseFor(r).na !== undefined).map((r) => `${r.kind} ${r.path}`)).toEqual([
    "gateway.networking.k8s.io/Gateway status.addresses[*]",
    "gateway.networking.k8s.io/GatewayClass spec.controllerName",
    "gateway.networking.k8s.io/HTTPRoute spec.rules[*].matches[*].path",
  ]);
});

test("every rule of cel.ts is one of the CRDs' (kind, field, message), for the versions that carry it", () => {
  const versionsOf = new Map<string, Set<string>>();
  for (const r of rows) for (const v of r.versions) versionsOf.set(r.kind, (versionsOf.get(r.kind) ?? new Set()).add(v));
  const problems: string[] = [];
  for (const rule of CEL_RULES) {
    for (const path of rule.paths) {
      const row = rows.find((r) => r.kind === rule.kind && r.path === path && r.message === rule.message);
      if (row === undefined) {
        problems.push(`${rule.kind} ${path}: no such rule: ${rule.message}`);
        continue;
      }
      const all = [...versionsOf.get(row.kind)!].sort();
      // all versions: no list, or the CRD's served versions listed (a version gangway reads unchecked, TCPRoute v1alpha3, is then left out)
      const want = [...row.versions].sort();
      const have = rule.versions === undefined ? all : [...rule.versions].sort();
      if (JSON.stringify(want) !== JSON.stringify(have)) problems.push(`${rule.kind} ${path}: versions ${JSON.stringify(have)}, the CRDs' ${JSON.stringify(want)}`);
    }
  }
  expect(problems).toEqual([]);
});

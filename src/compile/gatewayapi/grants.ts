// ReferenceGrant: may an object of (group, kind) in one namespace refer to an
// object of (group, kind, name) in another? Grants live in the target's namespace.
import type { NamespaceResource, ReferenceGrantResource } from "../../model/gatewayapi.ts";
import type { LabelSelector } from "../../model/gatewayapi.ts";

export interface Grants {
  allows(fromGroup: string, fromKind: string, fromNs: string, toGroup: string, toKind: string, toNs: string, toName: string): boolean;
}

export function indexGrants(grants: ReferenceGrantResource[]): Grants {
  const byNs = new Map<string, ReferenceGrantResource[]>();
  for (const g of grants) {
    const l = byNs.get(g.metadata.namespace);
    if (l === undefined) byNs.set(g.metadata.namespace, [g]);
    else l.push(g);
  }
  return {
    allows(fromGroup, fromKind, fromNs, toGroup, toKind, toNs, toName) {
      for (const g of byNs.get(toNs) ?? []) {
        const from = g.spec.from.some((f) => f.group === fromGroup && f.kind === fromKind && f.namespace === fromNs);
        if (!from) continue;
        if (g.spec.to.some((t) => t.group === toGroup && t.kind === toKind && (t.name === "" || t.name === toName))) return true;
      }
      return false;
    },
  };
}

/** Namespace name → labels; a namespace without a Namespace object has only `kubernetes.io/metadata.name`. */
export function namespaceLabels(namespaces: NamespaceResource[]): (ns: string) => Record<string, string> {
  const m = new Map(namespaces.map((n) => [n.metadata.name, n.metadata.labels]));
  return (ns) => m.get(ns) ?? { "kubernetes.io/metadata.name": ns };
}

export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    if (e.operator === "In" && !(has && e.values.includes(v!))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(v!)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

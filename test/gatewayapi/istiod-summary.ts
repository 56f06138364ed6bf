// One line per Gateway, ListenerSet, listener and route parent of a status document:
// the conditions' type=status/reason (sorted), attachedRoutes, supportedKinds, addresses.
// The same summary is made of istiod's conversion goldens (test/gatewayapi/istiod/*.istiod.txt)
// and of gangway's status, so the two compare line by line (messages are each their own).

interface Cond {
  type: string;
  status: string;
  reason: string;
}
export interface Item {
  kind: string;
  metadata: { namespace?: string; name: string };
  status?: {
    conditions?: Cond[];
    addresses?: { type?: string; value: string }[];
    attachedListenerSets?: number;
    listeners?: { name: string; attachedRoutes: number; supportedKinds?: { kind: string }[]; conditions?: Cond[] }[];
    parents?: { parentRef: { name: string; namespace?: string; kind?: string; sectionName?: string; port?: number }; controllerName: string; conditions?: Cond[] }[];
  };
}

const conds = (cs: Cond[] | undefined) =>
  (cs ?? [])
    .map((c) => `${c.type}=${c.status}/${c.reason}`)
    .sort()
    .join(" ");

export function summarize(items: Item[]): string[] {
  const out: string[] = [];
  for (const it of items) {
    const s = it.status ?? {};
    const id = `${it.kind} ${it.metadata.namespace ?? ""}/${it.metadata.name.toLowerCase()}`;
    if (it.kind === "Gateway" || it.kind === "ListenerSet") {
      // istiod's Gateway-level ResolvedRefs (True on every Gateway) is not one gangway writes
      const own = (s.conditions ?? []).filter((c) => !(it.kind === "Gateway" && c.type === "ResolvedRefs" && c.status === "True"));
      const addr = (s.addresses ?? []).map((a) => `${a.type ?? ""}:${a.value}`).join(",");
      out.push(`${id}: ${conds(own)}${addr ? ` addresses=${addr}` : ""}${s.attachedListenerSets ? ` attachedListenerSets=${s.attachedListenerSets}` : ""}`);
      for (const l of s.listeners ?? []) {
        out.push(`${id} listener ${l.name}: attachedRoutes=${l.attachedRoutes} kinds=${(l.supportedKinds ?? []).map((k) => k.kind).join(",")} ${conds(l.conditions)}`);
      }
    } else if (s.parents) {
      for (const p of s.parents) {
        if (p.controllerName !== "istio.io/gateway-controller") continue;
        const r = p.parentRef;
        const ref = `${r.kind ?? "Gateway"} ${r.namespace ?? it.metadata.namespace}/${r.name}${r.sectionName ? `#${r.sectionName}` : ""}${r.port ? `:${r.port}` : ""}`;
        out.push(`${id} parent ${ref}: ${conds(p.conditions)}`);
      }
    }
  }
  return out.sort();
}

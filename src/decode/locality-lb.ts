// loadBalancer.localityLbSetting of a DestinationRule, and the MeshConfig's
// localityLbSetting: decoded and checked as istiod's ValidateLocalityLbSetting
// (pkg/config/validation/agent) checks them. Each problem is an Error naming the
// field: `distribute` and `failover` together; `failover` with a topology label
// in `failoverPriority`; distribute weights outside 1-100 or not summing to 100;
// malformed or overlapping localities; failover regions equal, with `/` or `*`.
// (The Warning istiod adds, failover without outlierDetection, needs the merged
// policy: compile/locality-lb.ts reports it.)
import { Codes } from "../model/codes.ts";
import type { LocalityLbSetting } from "../model/istio.ts";
import { bool, join, keySegment, obj, objList, str, strList, type Obj, type Reader } from "./read.ts";

export const LABEL_REGION = "topology.kubernetes.io/region";
export const LABEL_ZONE = "topology.kubernetes.io/zone";
export const LABEL_SUBZONE = "topology.istio.io/subzone";

/** `localityLbSetting` under `o` (null when absent). */
export function decodeLocalityLb(r: Reader, o: Obj, key: string, path: string): LocalityLbSetting | null {
  const l = obj(r, o, key, path);
  if (l === null) return null;
  const p = join(path, key);
  const out: LocalityLbSetting = {
    enabled: l.enabled === undefined || l.enabled === null ? null : bool(r, l, "enabled", p),
    distribute: objList(r, l, "distribute", p, (d, dp) => ({ from: str(r, d, "from", dp), to: weights(r, d, dp) })),
    failover: objList(r, l, "failover", p, (f, fp) => ({ from: str(r, f, "from", fp), to: str(r, f, "to", fp) })),
    failoverPriority: strList(r, l, "failoverPriority", p),
    path: p,
  };
  validate(r, out, p);
  return out;
}


/** A `to` locality as a field path part: bare when it reads as one (`us-east1/*`), else quoted (`[""]`). */
const toKey = (loc: string) => (/^[A-Za-z0-9_.*\/-]+$/.test(loc) && !/^\.|\.\.|\.$/.test(loc) ? `.${loc}` : keySegment(loc, false));
function weights(r: Reader, d: Obj, path: string): [string, number][] {
  const to = obj(r, d, "to", path);
  if (to === null) return [];
  const out: [string, number][] = [];
  for (const k of Object.keys(to)) {
    const v = to[k];
    if (typeof v !== "number" || !Number.isInteger(v)) {
      r.fail(Codes.WrongType, `${join(path, "to")}${toKey(k)}`, `must be an integer weight, got ${JSON.stringify(v)}`);
      continue;
    }
    out.push([k, v]);
  }
  return out;
}

function validate(r: Reader, s: LocalityLbSetting, p: string): void {
  if (s.distribute.length > 0 && s.failover.length > 0) {
    r.fail(Codes.Conflict, p, "distribute and failover cannot both be set");
    return;
  }
  if (s.failover.length > 0) {
    const i = s.failoverPriority.findIndex((l) => l === LABEL_REGION || l === LABEL_ZONE || l === LABEL_SUBZONE);
    if (i >= 0) {
      r.fail(Codes.Conflict, `${p}.failoverPriority[${i}]`, `failover cannot be set with the topology label ${s.failoverPriority[i]} in failoverPriority`);
      return;
    }
  }
  s.distribute.forEach((d, i) => {
    const dp = `${p}.distribute[${i}]`;
    let total = 0;
    for (const [loc, w] of d.to) {
      if (w <= 0 || w > 100) r.fail(Codes.InvalidValue, `${dp}.to${toKey(loc)}`, `locality weight must be from 1 to 100, got ${w}`);
      total += w;
    }
    if (total !== 100) r.fail(Codes.InvalidValue, `${dp}.to`, `the locality weights add up to ${total}, not 100`);
    const bad = localitiesProblem(d.to.map(([loc]) => loc));
    if (bad !== null) r.fail(Codes.InvalidValue, `${dp}.to`, bad);
  });
  const bad = localitiesProblem(s.distribute.map((d) => d.from));
  if (bad !== null) r.fail(Codes.InvalidValue, `${p}.distribute`, `from: ${bad}`);
  s.failover.forEach((f, i) => {
    const fp = `${p}.failover[${i}]`;
    if (f.from === f.to) r.fail(Codes.InvalidValue, fp, `from and to must be different regions, both are ${JSON.stringify(f.from)}`);
    if (f.from.includes("/") || f.to.includes("/")) r.fail(Codes.InvalidValue, fp, "failover names regions only (no /zone)");
    if (f.from.includes("*") || f.to.includes("*")) r.fail(Codes.InvalidValue, fp, "failover regions cannot contain the wildcard *");
  });
}

/**
 * istiod's validateLocalities: at most one `*`, at the end; no empty region,
 * zone or subzone; no locality overlapping one before it (`r1` then `r1/z1`,
 * `*` then anything). The problem, or null.
 */
export function localitiesProblem(localities: string[]): string | null {
  // region → zone → subzone, "*" standing for all
  const seen = new Map<string, Map<string, Set<string>>>();
  const overlap = (l: string) => `locality ${l} overlaps one given before it`;
  for (const l of localities) {
    const stars = l.split("*").length - 1;
    if (stars > 1 || (stars === 1 && !l.endsWith("*"))) return `locality ${l}: at most one wildcard *, at the end`;
    if (seen.has("*")) return overlap(l);
    const items = splitN(l, 3);
    if (items.some((x) => x === "")) return `locality ${l} has an empty region, zone or subzone`;
    const [region, zone, subzone] = items as [string, string?, string?];
    const zones = seen.get(region);
    if (zone === undefined) {
      if (zones !== undefined) return overlap(l);
      seen.set(region, new Map([["*", new Set(["*"])]]));
    } else if (subzone === undefined) {
      if (zones !== undefined && (zones.has("*") || zones.has(zone))) return overlap(l);
      if (zones === undefined) seen.set(region, new Map([[zone, new Set(["*"])]]));
      else zones.set(zone, new Set(["*"]));
    } else {
      if (zones !== undefined && zones.has("*")) return overlap(l);
      const subs = zones?.get(zone);
      if (subs !== undefined && (subs.has("*") || subs.has(subzone))) return overlap(l);
      if (zones === undefined) seen.set(region, new Map([[zone, new Set([subzone])]]));
      else if (subs === undefined) zones.set(zone, new Set([subzone]));
      else subs.add(subzone);
    }
  }
  return null;
}

/** Go's strings.SplitN(s, "/", n). */
function splitN(s: string, n: number): string[] {
  const parts = s.split("/");
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join("/")];
}


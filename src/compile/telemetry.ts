// Telemetry accessLogging → the access-log sinks, as istiod computes them for a
// gateway (pilot/pkg/model/telemetry.go AccessLogging, mergeLogs):
//
// - which apply: the first Telemetry without selector or targetRef (oldest) of the
//   root namespace istio-system, then of the gateway namespace, then those of the
//   gateway namespace whose selector or targetRef picks this gateway (README's
//   AuthorizationPolicy rules, whyNotApplied); later levels override earlier ones.
// - a gateway is a CLIENT workload to istiod: entries with `match.mode: SERVER` skip it.
// - providers: an entry's, else its parent level's, else the mesh config's
//   defaultProviders.accessLogging; `disabled` turns a provider off; a filter
//   applies to the providers its entry names.
// - a provider is an extensionProviders name (or the built-in `envoy`, /dev/stdout
//   in the mesh config's format); only envoyFileAccessLog ones can be written here.
// - no provider that resolves: null, and the mesh config's accessLogFile decides.
// The tracing part is src/compile/tracing.ts; metrics are reported (GW0116) and not applied.
import { meshPlace, type MeshConfig } from "../decode/meshconfig.ts";
import { Codes } from "../model/codes.ts";
import { compareCreation } from "../model/meta.ts";
import type { AccessLoggingSpec, TelemetryResource } from "../model/telemetry.ts";
import type { CelNode } from "../snapshot/access-log.ts";
import { compileCel } from "./access-log-cel.ts";
import type { TelemetryLogging } from "./access-log.ts";
import type { CompileContext } from "./context.ts";
import { ROOT_NAMESPACE, whyNotApplied } from "./security.ts";

/** One level's entries, and where they came from. */
interface Level {
  t: TelemetryResource;
  logs: AccessLoggingSpec[];
}

const ref = (t: TelemetryResource) => `Telemetry/${t.metadata.namespace}/${t.metadata.name}`;
const wide = (t: TelemetryResource) => t.spec.selector === null && t.spec.targetRefs.length === 0;

/** applicable() once per compile: access logging and tracing ask for it, its findings are made once. */
const applied = new WeakMap<CompileContext, TelemetryResource[]>();
export function applicableTelemetry(ctx: CompileContext, all: TelemetryResource[]): TelemetryResource[] {
  let r = applied.get(ctx);
  if (r === undefined) applied.set(ctx, (r = applicable(ctx, all)));
  return r;
}

/** The Telemetry objects that apply to this gateway, root namespace first; the others are reported. */
function applicable(ctx: CompileContext, all: TelemetryResource[]): TelemetryResource[] {
  const { namespace, labels } = ctx.opts;
  const sorted = [...all].sort(compareCreation);
  const out: TelemetryResource[] = [];
  for (const ns of namespace === ROOT_NAMESPACE ? [ROOT_NAMESPACE] : [ROOT_NAMESPACE, namespace]) {
    const wides = sorted.filter((t) => t.metadata.namespace === ns && wide(t));
    if (wides.length > 0) out.push(wides[0]!);
    // about the object as a whole; `spec` is where a selector or targetRefs would make it apply
    for (const t of wides.slice(1)) ctx.report("Warning", Codes.TelemetryNotApplied, t, `not applied: ${ref(wides[0]!)} is older, and Istio applies one Telemetry without selector or targetRef per namespace`, "spec");
  }
  for (const t of sorted) {
    if (wide(t)) {
      if (t.metadata.namespace !== ROOT_NAMESPACE && t.metadata.namespace !== namespace) ctx.report("Info", Codes.TelemetryNotApplied, t, `not applied to this gateway: namespace ${t.metadata.namespace} is neither the root namespace ${ROOT_NAMESPACE} nor the gateway namespace ${namespace}`);
      continue;
    }
    let why = whyNotApplied(t, namespace, labels, ctx.opts.gateways ?? []);
    // istiod looks for selector and targetRef Telemetry in the workload's own namespace only
    if (why === "" && t.metadata.namespace !== namespace && t.spec.targetRefs.length === 0) why = `a Telemetry with a selector applies in its own namespace only (${t.metadata.namespace}, the gateway's is ${namespace})`;
    if (why === "") out.push(t);
    else ctx.report("Info", Codes.TelemetryNotApplied, t, `not applied to this gateway: ${why}`);
  }
  return out;
}

const clientMode = (l: AccessLoggingSpec) => l.mode !== "SERVER";

interface ProviderState {
  disabled: boolean;
  /** The entry whose filter applies, or null. */
  filterFrom: { t: TelemetryResource; index: number; expression: string } | null;
}

/** istiod's mergeLogs for a CLIENT workload: provider name → disabled / filter. */
function mergeLogs(levels: Level[], defaults: string[]): Map<string, ProviderState> {
  const providers = new Map<string, ProviderState>();
  if (levels.length === 0) {
    for (const p of defaults) providers.set(p, { disabled: false, filterFrom: null });
    return providers;
  }
  let names = defaults;
  const filters = new Map<string, ProviderState["filterFrom"]>();
  for (const l of levels) {
    const here = new Set<string>();
    l.logs.forEach((e, index) => {
      if (!clientMode(e)) return;
      for (const p of e.providers) {
        here.add(p);
        filters.set(p, e.filter === "" ? null : { t: l.t, index, expression: e.filter });
      }
    });
    if (here.size > 0) names = [...here];
  }
  const inScope = new Set(names);
  let parent = defaults;
  for (const l of levels) {
    for (const e of l.logs) {
      const ps = e.providers.length > 0 ? e.providers : parent;
      parent = ps;
      for (const p of ps) {
        if (!inScope.has(p) || !clientMode(e)) continue;
        providers.set(p, e.disabled === true ? { disabled: true, filterFrom: null } : { disabled: false, filterFrom: filters.get(p) ?? null });
      }
    }
  }
  return providers;
}

/** The Telemetry entry that names provider `name` (the innermost level's first), with its field; null when it comes from the mesh config's defaultProviders. */
function namedAt(levels: Level[], name: string): { t: TelemetryResource; field: string } | null {
  for (const l of [...levels].reverse()) {
    for (let i = 0; i < l.logs.length; i++) {
      const j = l.logs[i]!.providers.indexOf(name);
      if (j >= 0) return { t: l.t, field: `spec.accessLogging[${i}].providers[${j}].name` };
    }
  }
  return null;
}

function filterNode(ctx: CompileContext, f: ProviderState["filterFrom"]): CelNode | null {
  if (f === null) return null;
  const c = compileCel(f.expression);
  if ("node" in c) return c.node;
  ctx.report("Warning", Codes.AccessLogFilter, f.t, `${c.message}: the filter is not applied, every line is written`, `spec.accessLogging[${f.index}].filter.expression`);
  return null;
}

/** What the Telemetry objects say for this gateway; null: nothing (the mesh config decides). */
export function compileTelemetryLogging(ctx: CompileContext, all: TelemetryResource[], mesh: MeshConfig): TelemetryLogging | null {
  for (const t of all) {
    for (const k of t.spec.notRead) ctx.report("Warning", Codes.KindNotRead, t, `${k} is not read by gangway (its metrics are /stats/prometheus): not applied`, `spec.${k}`);
  }
  const tels = applicableTelemetry(ctx, all);
  const levels: Level[] = tels.filter((t) => t.spec.accessLogging.length > 0).map((t) => ({ t, logs: t.spec.accessLogging }));
  for (const l of levels) {
    l.logs.forEach((e, i) => {
      if (e.filter !== "" && e.providers.length === 0) ctx.report("Warning", Codes.AccessLogFilter, l.t, "a filter applies to the providers its entry names, and this entry names none (as in Istio): not applied", `spec.accessLogging[${i}].filter`);
      if (e.mode === "SERVER") ctx.report("Info", Codes.TelemetryNotApplied, l.t, "match.mode SERVER: a gateway is a CLIENT workload to istiod, this entry does not apply", `spec.accessLogging[${i}].match.mode`);
    });
  }
  const al = mesh.accessLog;
  if (levels.length === 0 && al.defaultProviders.length === 0) return null;
  const merged = mergeLogs(levels, al.defaultProviders);
  const at = levels[levels.length - 1]?.t ?? null;
  const sinks: TelemetryLogging["sinks"] = [];
  let decided = false;
  for (const name of [...merged.keys()].sort()) {
    const state = merged.get(name)!;
    const file = al.fileProviders.find((p) => p.name.toLowerCase() === name.toLowerCase());
    if (file === undefined) {
      if (state.disabled) continue;
      const kind = [...al.otherProviders].find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
      if (kind === "prometheus" || kind === "stackdriver") continue; // metrics providers: no access log, as istiod
      const why = kind === undefined ? `provider ${JSON.stringify(name)} is not defined in the mesh config's extensionProviders` : `provider ${JSON.stringify(name)} is ${kind}, which gangway cannot write to (it writes envoyFileAccessLog providers)`;
      const named = namedAt(levels, name);
      // no Telemetry names it: the mesh config's defaultProviders.accessLogging does
      if (named === null && at === null) ctx.findings.push({ code: Codes.AccessLogProvider, level: "Warning", message: `${why}: no access log for it`, ...meshPlace(mesh, "defaultProviders.accessLogging") });
      else ctx.report("Warning", Codes.AccessLogProvider, named?.t ?? at, `${why}: no access log for it`, named?.field ?? "spec.accessLogging");
      if (kind !== undefined) decided = true; // istiod configures it, so the mesh config's accessLogFile does not apply
      continue;
    }
    decided = true;
    if (state.disabled) continue;
    sinks.push({ name: file.name, path: file.path, format: file.format, filter: filterNode(ctx, state.filterFrom) });
  }
  if (!decided) return null;
  const source = levels.length === 0 ? "meshConfig defaultProviders.accessLogging" : levels.map((l) => ref(l.t)).join(", ");
  return { sinks, source };
}

// Telemetry (telemetry.istio.io v1, v1alpha1), checked as Istio's webhook checks
// it: its scope (selector, targetRef(s)), each accessLogging entry (providers,
// disabled, match.mode, filter.expression, which must be CEL), each tracing
// entry (decodeTracingEntry, telemetry-tracing.ts), and which parts gangway does
// not apply (metrics: compile reports it). Pure.
import { compileCel } from "../compile/access-log-cel.ts";
import { Codes } from "../model/codes.ts";
import type { AccessLoggingSpec, TelemetrySpec, WorkloadMode } from "../model/telemetry.ts";
import { decodeScope } from "./security.ts";
import { decodeTracingEntry } from "./telemetry-tracing.ts";
import { isObj, obj, objList, oneOf, str, type Obj, type Reader } from "./read.ts";

const MODES: readonly WorkloadMode[] = ["CLIENT_AND_SERVER", "CLIENT", "SERVER"];

function accessLogging(r: Reader, o: Obj, path: string): AccessLoggingSpec {
  const providers = objList(r, o, "providers", path, (p, pp) => str(r, p, "name", pp, true));
  let disabled: boolean | null = null;
  if (o.disabled !== undefined && o.disabled !== null) {
    if (typeof o.disabled === "boolean") disabled = o.disabled;
    else r.fail(Codes.WrongType, `${path}.disabled`, "must be a boolean");
  }
  const match = obj(r, o, "match", path);
  const mode = match === null ? "CLIENT_AND_SERVER" : oneOf(r, match, "mode", `${path}.match`, MODES, "CLIENT_AND_SERVER");
  const f = obj(r, o, "filter", path);
  const filter = f === null ? "" : str(r, f, "expression", `${path}.filter`);
  if (filter !== "") {
    const c = compileCel(filter);
    // the webhook parses it with cel-go: what is not CEL is refused (what gangway cannot evaluate is compile's Warning)
    if ("level" in c && c.level === "Error") r.fail(Codes.AccessLogFilter, `${path}.filter.expression`, c.message);
  }
  return { providers, disabled, mode, filter };
}

export function decodeTelemetry(r: Reader, spec: Obj): TelemetrySpec {
  const scope = decodeScope(r, spec);
  const logs = objList(r, spec, "accessLogging", "spec", (o, p) => accessLogging(r, o, p));
  const tracing = objList(r, spec, "tracing", "spec", (o, p) => decodeTracingEntry(r, o, p));
  const notRead: string[] = [];
  for (const k of ["metrics"]) {
    const v = spec[k];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && !(isObj(v) && Object.keys(v).length === 0)) notRead.push(k);
  }
  return { ...scope, accessLogging: logs, tracing, notRead };
}

// One `spec.tracing[]` entry of a Telemetry (telemetry.istio.io Tracing):
// providers, match.mode, randomSamplingPercentage (0–100, as the webhook checks
// it), disableSpanReporting, customTags (literal, environment, header,
// formatter), useRequestIdForTraceSampling, enableIstioTags and
// disableContextPropagation. Fields not written stay null: istiod merges the
// levels field by field (src/compile/tracing.ts). Pure.
import { Codes } from "../model/codes.ts";
import type { TracingCustomTagSpec, TracingEntrySpec, WorkloadMode } from "../model/telemetry.ts";
import { isObj, obj, objList, oneOf, str, type Obj, type Reader } from "./read.ts";

const MODES: readonly WorkloadMode[] = ["CLIENT_AND_SERVER", "CLIENT", "SERVER"];

/** A BoolValue: null when not written. */
function optBool(r: Reader, o: Obj, key: string, path: string): boolean | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return v;
  r.fail(Codes.WrongType, `${path}.${key}`, "must be a boolean");
  return null;
}

function customTag(r: Reader, tag: string, o: Obj | null, path: string): TracingCustomTagSpec | null {
  if (o === null) return null;
  const kinds = ["literal", "environment", "header", "formatter"].filter((k) => o[k] !== undefined && o[k] !== null);
  if (kinds.length !== 1) {
    r.fail(Codes.InvalidValue, path, kinds.length === 0 ? "must set one of literal, environment, header, formatter" : `only one of ${kinds.join(", ")} may be set`);
    return null;
  }
  const k = kinds[0]!;
  const v = obj(r, o, k, path);
  if (v === null) return null;
  const p = `${path}.${k}`;
  if (k === "literal") return { tag, kind: "literal", value: str(r, v, "value", p) };
  if (k === "formatter") return { tag, kind: "formatter", value: str(r, v, "value", p) };
  const name = str(r, v, "name", p, true);
  const defaultValue = str(r, v, "defaultValue", p);
  return k === "environment" ? { tag, kind: "environment", name, defaultValue } : { tag, kind: "header", name: name.toLowerCase(), defaultValue };
}

export function decodeTracingEntry(r: Reader, o: Obj, path: string): TracingEntrySpec {
  const providers = objList(r, o, "providers", path, (p, pp) => str(r, p, "name", pp, true));
  const match = obj(r, o, "match", path);
  const mode = match === null ? "CLIENT_AND_SERVER" : oneOf(r, match, "mode", `${path}.match`, MODES, "CLIENT_AND_SERVER");
  let randomSamplingPercentage: number | null = null;
  const rs = o.randomSamplingPercentage;
  if (rs !== undefined && rs !== null) {
    if (typeof rs !== "number" || !Number.isFinite(rs)) r.fail(Codes.WrongType, `${path}.randomSamplingPercentage`, "must be a number");
    else if (rs < 0 || rs > 100) r.fail(Codes.InvalidValue, `${path}.randomSamplingPercentage`, `must be between 0 and 100, got ${rs}`);
    else randomSamplingPercentage = rs;
  }
  let customTags: TracingCustomTagSpec[] | null = null;
  if (o.customTags !== undefined && o.customTags !== null) {
    if (!isObj(o.customTags)) r.fail(Codes.WrongType, `${path}.customTags`, "must be an object of tag names");
    else {
      customTags = [];
      for (const tag of Object.keys(o.customTags).sort()) {
        const v = o.customTags[tag];
        if (v !== null && !isObj(v)) {
          r.fail(Codes.WrongType, `${path}.customTags.${tag}`, "must be an object");
          continue;
        }
        const t = customTag(r, tag, (v ?? null) as Obj | null, `${path}.customTags.${tag}`);
        if (t !== null) customTags.push(t);
      }
    }
  }
  return {
    providers,
    mode,
    randomSamplingPercentage,
    disableSpanReporting: optBool(r, o, "disableSpanReporting", path),
    customTags,
    useRequestIdForTraceSampling: optBool(r, o, "useRequestIdForTraceSampling", path),
    enableIstioTags: optBool(r, o, "enableIstioTags", path),
    disableContextPropagation: optBool(r, o, "disableContextPropagation", path),
  };
}

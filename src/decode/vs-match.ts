// VirtualService pieces shared by routes and policies: a StringMatch and a
// Destination, checked as Istio's validation checks them.
import { Codes } from "../model/codes.ts";
import type { Destination, StringMatchSpec } from "../model/istio.ts";
import { compileRe2 } from "./regex.ts";
import { join, obj, port, str, type Obj, type Reader } from "./read.ts";

/** A StringMatch object: exactly one of exact/prefix/regex; `{}` → null (matches anything). */
export function decodeStringMatch(r: Reader, o: Obj, path: string): StringMatchSpec | null {
  const kinds = (["exact", "prefix", "regex"] as const).filter((k) => o[k] !== undefined && o[k] !== null);
  if (kinds.length > 1) {
    r.fail(Codes.Conflict, path, `only one of exact, prefix, regex may be given (got ${kinds.join(", ")})`);
    return null;
  }
  if (kinds.length === 0) return null;
  const kind = kinds[0]!;
  const v = o[kind];
  if (typeof v !== "string") {
    r.fail(Codes.WrongType, join(path, kind), "must be a string");
    return null;
  }
  if (kind === "regex") {
    const c = compileRe2(v);
    if (!c.ok) {
      r.fail(Codes.InvalidRegex, join(path, kind), `invalid regex ${JSON.stringify(v)}: ${c.error} (Istio uses RE2 syntax)`);
      return null;
    }
  }
  return { kind, value: v };
}

export function decodeDestination(r: Reader, o: Obj, path: string): Destination {
  const po = obj(r, o, "port", path);
  return {
    host: str(r, o, "host", path, true).toLowerCase(),
    subset: str(r, o, "subset", path),
    port: po === null ? 0 : port(r, po, "number", join(path, "port")),
  };
}


// Header operations on local replies (the route's response `set`/`add`).
import type { HeaderOperations } from "../../src/snapshot/types.ts";

export { hasOps } from "./heads-out.ts";

/** `set` and `add` operations as header lines for a local reply. */
export function localOps(ops: HeaderOperations): string {
  let out = "";
  for (const [k, v] of ops.set) out += k.toLowerCase() + ": " + v + "\r\n";
  for (const [k, v] of ops.add) out += k.toLowerCase() + ": " + v + "\r\n";
  return out;
}

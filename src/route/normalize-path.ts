// Istio's mesh `pathNormalization`, as Envoy's HTTP connection manager applies
// it to the path before routing (the query is never touched):
//
//   NONE                      the path as received
//   BASE (Istio's default)    Envoy `normalize_path`: Chromium's path
//                             canonicalizer (RFC 3986 §6.2.2): `.`/`..`
//                             segments removed (`%2e` counts as a dot), `\` → `/`,
//                             percent-encoded unreserved characters decoded
//                             (`%70` → `p`), other escapes kept as sent (hex case
//                             included: `%2F` and `%2f` stay), `"<>^\`{|}` escaped
//                             as `%22`…; `%00` → invalid
//   MERGE_SLASHES             BASE, then `merge_slashes` (`//` → `/`)
//   DECODE_AND_MERGE_SLASHES  first `path_with_escaped_slashes_action:
//                             UNESCAPE_AND_FORWARD` (`%2F`/`%2f` → `/`, `%5C`/`%5c`
//                             → `\`), then BASE, then merge slashes
//
// The order is Envoy's (maybeNormalizePath: unescape slashes, canonicalize,
// merge). Deliberate difference: an escape that is not `%` + two hex digits is
// invalid here (400); Chromium copies it through. Rejecting it leaves no
// "nested escape" (`%%30%30`) for a later hop to decode differently.

export type PathNormalization = "NONE" | "BASE" | "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES";

export const PATH_NORMALIZATIONS: readonly PathNormalization[] = ["NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"];

export function isPathNormalization(s: string): s is PathNormalization {
  return (PATH_NORMALIZATIONS as readonly string[]).includes(s);
}

/** Per character: 1 unreserved (decoded when escaped), 2 escaped when raw (Chromium's ESCAPE). */
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (alnum || c === 45 || c === 46 || c === 95 || c === 126) CLASS[c] = 1;
  else if (c <= 32 || c >= 127 || '"#<>^`{|}'.includes(String.fromCharCode(c))) CLASS[c] = 2;
}

/**
 * Characters that send a path down the slow path: `%`, `\`, the ones BASE
 * escapes (3), and `/` (4) when the next one is `.` (or `/` when merging).
 */
const FAST = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (CLASS[c] === 2) FAST[c] = 3;
FAST[37 /* % */] = 3;
FAST[92 /* \ */] = 3;
FAST[47 /* / */] = 4;

const UPPER_HEX = "0123456789ABCDEF";

/** Value of a hex digit + 1, 0 when `c` is not one. */
function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 47;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 86 : 0;
}

/**
 * The normalized path (no query), or null when it is invalid (`%00`, a `%`
 * without two hex digits): the caller answers 400. Returns `path` itself
 * (no new string) when there is nothing to change, the usual case: one pass
 * over the characters, a table read each.
 */
export function normalizePath(path: string, mode: PathNormalization): string | null {
  if (mode === "NONE" || path.charCodeAt(0) !== 47 /* / */) return path;
  const merge = mode !== "BASE";
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    const f = c < 128 ? FAST[c]! : 3;
    if (f === 0) continue;
    if (f === 4) {
      const next = path.charCodeAt(i + 1);
      if (next !== 46 /* . */ && !(merge && next === 47)) continue;
    }
    return canonicalize(mode === "DECODE_AND_MERGE_SLASHES" ? unescapeSlashes(path) : path, merge);
  }
  return path;
}

/** `%2F`/`%2f` → `/`, `%5C`/`%5c` → `\` (Envoy's PathUtil::unescapeSlashes). */
function unescapeSlashes(p: string): string {
  if (p.indexOf("%") < 0) return p;
  return p.replace(/%2f/gi, "/").replace(/%5c/gi, "\\");
}

/** Length of a dot at i: 1 for `.`, 3 for `%2e`/`%2E`, else 0. */
function dotAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 46) return 1;
  if (c === 37 && s.charCodeAt(i + 1) === 50 && (s.charCodeAt(i + 2) | 0x20) === 101) return 3;
  return 0;
}

function isSlash(c: number): boolean {
  return c === 47 || c === 92;
}

/** Drop the last segment of `out` (which ends with `/`), never above the first `/`. */
function backUp(out: string): string {
  let i = out.length - 2;
  while (i > 0 && out.charCodeAt(i) !== 47) i--;
  return out.slice(0, Math.max(i, 0) + 1);
}

function canonicalize(s: string, merge: boolean): string | null {
  const n = s.length;
  let out = "";
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    const dot = dotAt(s, i);
    if (dot > 0) {
      i += dot;
      if (out.charCodeAt(out.length - 1) === 47) {
        // a segment starting with a dot: `.` or `..` alone is a directory step
        if (i === n) continue; // "/." at the end: the current directory
        if (isSlash(s.charCodeAt(i))) {
          i++;
          continue;
        }
        const dot2 = dotAt(s, i);
        if (dot2 > 0 && (i + dot2 === n || isSlash(s.charCodeAt(i + dot2)))) {
          out = backUp(out);
          i += dot2 + (i + dot2 === n ? 0 : 1);
          continue;
        }
      }
      out += ".";
      continue;
    }
    if (c === 92 /* \ */) {
      out += "/";
      i++;
      continue;
    }
    if (c === 37 /* % */) {
      const h1 = hex(s.charCodeAt(i + 1));
      const h2 = hex(s.charCodeAt(i + 2));
      if (h1 === 0 || h2 === 0) return null;
      const v = (h1 - 1) * 16 + (h2 - 1);
      if (v === 0) return null;
      out += CLASS[v] === 1 ? String.fromCharCode(v) : s.slice(i, i + 3);
      i += 3;
      continue;
    }
    if (c > 0xff) return null; // not from a latin1 head; never valid in a path
    if (CLASS[c] === 2) out += "%" + UPPER_HEX[c >> 4] + UPPER_HEX[c & 15];
    else out += s[i];
    i++;
  }
  if (merge && out.indexOf("//") >= 0) out = out.replace(/\/{2,}/g, "/");
  return out;
}

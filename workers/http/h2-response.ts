// The HTTP/2 response fields for a client stream (h2-stream.ts): from a
// proxied response's parsed head (the spans parse-response.ts left), with the
// same rules as the HTTP/1.1 head (response-head.ts): hop-by-hop fields and
// the upstream's server / service time dropped, one content-length, the
// route's response operations, then server and x-envoy-upstream-service-time;
// or from an HTTP/1.1 head as text (the gateway's local replies).
import type { OutgoingHttpHeaders } from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { HOP_BY_HOP, latin1 } from "./fields.ts";
import { hasOps, overridden } from "./heads-out.ts";
import { fieldCount, fieldKinds, fieldNameEnds, fieldStarts, K_LENGTH, K_PASS, type ResponseHead } from "./parse-response.ts";

/** Connection-specific fields: not allowed in HTTP/2 (RFC 9113 §8.2.2). */
const HOP = new Set<string>([...HOP_BY_HOP, "http2-settings"]);

function add(out: OutgoingHttpHeaders, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[name] = [String(prev), value];
}

/** node:http2 under Bun sends a field value's chars as latin1 bytes: configured text beyond ASCII goes as its UTF-8 bytes, as on HTTP/1.1. */
function wire(v: string): string {
  return /[^\x00-\x7f]/.test(v) ? Buffer.from(v, "utf8").toString("latin1") : v;
}

/** The route's `set` then `add` operations (Host / pseudo-header ones are not response fields). */
function addOps(out: OutgoingHttpHeaders, ops: HeaderOperations): void {
  const set = ops.set;
  for (let i = 0; i < set.length; i++) {
    const n = set[i]![0].toLowerCase();
    if (n !== "host" && n[0] !== ":" && !HOP.has(n)) add(out, n, wire(set[i]![1]));
  }
  const more = ops.add;
  for (let i = 0; i < more.length; i++) {
    const n = more[i]![0].toLowerCase();
    if (n !== "host" && n[0] !== ":" && !HOP.has(n)) add(out, n, wire(more[i]![1]));
  }
}

/**
 * The fields for response head `r` whose bytes are in `b` (parsed last by
 * parseResponseHead: its spans are still valid).
 */
export function responseFields(r: ResponseHead, b: Buffer, ops: HeaderOperations, server: string, serviceTimeMs: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ":status": r.status };
  const withOps = hasOps(ops);
  let sawLength = r.chunked; // a chunked body has no length on HTTP/2
  const n = fieldCount;
  for (let k = 0; k < n; k++) {
    const kind = fieldKinds[k]!;
    if (kind === K_LENGTH) {
      if (sawLength) continue;
      sawLength = true;
    } else if (kind !== K_PASS) continue;
    const name = latin1(b, fieldStarts[k]!, fieldNameEnds[k]!).toLowerCase();
    if (HOP.has(name) || (withOps && overridden(ops, name))) continue;
    add(out, name, latin1(b, fieldNameEnds[k]! + 1, fieldStarts[k + 1]! - 2).trim());
  }
  if (withOps) addOps(out, ops);
  out.server = server;
  out["x-envoy-upstream-service-time"] = String(serviceTimeMs);
  return out;
}

/**
 * The fields of an HTTP/1.1 response head given as text (status line through
 * the last field line, without the blank line), and whether its body is
 * chunked; null for an interim (1xx) response, which HTTP/2 does not need.
 */
export function textResponseFields(head: string): { fields: OutgoingHttpHeaders; chunked: boolean } | null {
  const lines = head.split("\r\n");
  const status = Number(lines[0]!.slice(9, 12));
  if (status >= 100 && status < 200) return null;
  const out: OutgoingHttpHeaders = { ":status": status };
  let chunked = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const name = line.slice(0, c).toLowerCase();
    const value = line.slice(c + 1).trim();
    if (name === "transfer-encoding") {
      if (value.toLowerCase() === "chunked") chunked = true;
      continue;
    }
    if (HOP.has(name)) continue;
    add(out, name, value);
  }
  if (chunked) delete out["content-length"];
  return { fields: out, chunked };
}

// The HTTP/2 response fields for a client stream (h2-stream.ts): from a
// proxied response's parsed head (the spans parse-response.ts left), with the
// same rules as the HTTP/1.1 head (response-head.ts): hop-by-hop fields and
// the upstream's server / service time dropped, one content-length, the
// route's response operations, then server and x-envoy-upstream-service-time;
// or from an HTTP/1.1 head as text (the gateway's local replies).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { HOP_BY_HOP, latin1 } from "./fields.ts";
import { hasOps, overridden } from "./heads-out.ts";
import { fieldCount, fieldKinds, fieldNameEnds, fieldStarts, K_LENGTH, K_PASS, type ResponseHead } from "./parse-response.ts";
import { fieldMap } from "./field-map.ts";

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

// The field lines of the responses read last, per position (an upstream sends the same lines in the
// same order, Date changing once a second): a line with the same bytes as last time at its
// position reuses the name and value strings made then, instead of slicing and lower-casing again.
const SLOTS = 16;
const SLOT_BYTES = 128;
const slotBytes = Buffer.alloc(SLOTS * SLOT_BYTES);
const slotLen = new Int32Array(SLOTS).fill(-1);
const slotName: string[] = new Array<string>(SLOTS).fill("");
const slotValue: string[] = new Array<string>(SLOTS).fill("");

function sameLine(b: Buffer, st: number, en: number, k: number): boolean {
  const n = en - st;
  if (slotLen[k] !== n) return false;
  const o = k * SLOT_BYTES;
  for (let i = 0; i < n; i++) if (slotBytes[o + i] !== b[st + i]) return false;
  return true;
}

function keepLine(b: Buffer, st: number, en: number, k: number, name: string, value: string): void {
  b.copy(slotBytes, k * SLOT_BYTES, st, en);
  slotLen[k] = en - st;
  slotName[k] = name;
  slotValue[k] = value;
}

/**
 * The fields for response head `r` whose bytes are in `b` (parsed last by
 * parseResponseHead: its spans are still valid).
 */
export function responseFields(r: ResponseHead, b: Buffer, ops: HeaderOperations, server: string, serviceTimeMs: number): OutgoingHttpHeaders {
  const out = fieldMap<OutgoingHttpHeaders>();
  out[":status"] = r.status;
  const withOps = hasOps(ops);
  let sawLength = r.chunked; // a chunked body has no length on HTTP/2
  const n = fieldCount;
  for (let k = 0; k < n; k++) {
    const kind = fieldKinds[k]!;
    if (kind === K_LENGTH) {
      if (sawLength) continue;
      sawLength = true;
    } else if (kind !== K_PASS) continue;
    const st = fieldStarts[k]!;
    const en = fieldStarts[k + 1]! - 2;
    let name: string;
    let value: string;
    if (k < SLOTS && en - st <= SLOT_BYTES && sameLine(b, st, en, k)) {
      name = slotName[k]!;
      value = slotValue[k]!;
    } else {
      name = latin1(b, st, fieldNameEnds[k]!).toLowerCase();
      value = latin1(b, fieldNameEnds[k]! + 1, en).trim();
      if (k < SLOTS && en - st <= SLOT_BYTES) keepLine(b, st, en, k, name, value);
    }
    if (HOP.has(name) || (withOps && overridden(ops, name))) continue;
    add(out, name, value);
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
  const out = fieldMap<OutgoingHttpHeaders>();
  out[":status"] = status;
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

/** Response fields never passed on: hop-by-hop, and what the gateway sets itself (response-head.ts drops the same). */
const NOT_PASSED = new Set<string>([...HOP, "te", "expect", "server", "x-envoy-upstream-service-time", "content-length"]);

export interface H2Framing {
  length: string;
  trailing: boolean;
}

/**
 * How an HTTP/2 upstream's response is framed for the client, as
 * h1ResponseHead (h2-upstream-heads.ts) framed it in HTTP/1.1: `length` the
 * content-length to send ("" none: the body ends with the stream and trailers
 * may follow, `trailing`). Headers that ended the stream: a length of 0
 * (HEAD / 204 / 304 keep the upstream's); gRPC is never sized.
 */
export function h2ResponseFraming(h: IncomingHttpHeaders, ended: boolean, head: boolean): H2Framing {
  const status = Number(h[":status"]);
  const bodiless = head || status === 204 || status === 304;
  if (ended && !bodiless) return { length: "0", trailing: false };
  const cl = h["content-length"];
  const grpc = String(h["content-type"] ?? "").startsWith("application/grpc");
  if (cl !== undefined && (bodiless || !grpc)) return { length: String(cl), trailing: false };
  return { length: "", trailing: !bodiless };
}

/**
 * The client's fields for an HTTP/2 upstream's response (headers as
 * node:http2 gave them), with the rules responseFields applies to a parsed
 * head: hop-by-hop fields, server and service time dropped, `length` as the
 * one content-length ("" none), the route's response operations, then server
 * and x-envoy-upstream-service-time.
 */
export function h2ResponseFields(h: IncomingHttpHeaders, length: string, ops: HeaderOperations, server: string, serviceTimeMs: number): OutgoingHttpHeaders {
  const out = fieldMap<OutgoingHttpHeaders>();
  out[":status"] = Number(h[":status"]);
  const withOps = hasOps(ops);
  for (const name in h) {
    if (name[0] === ":" || NOT_PASSED.has(name) || (withOps && overridden(ops, name))) continue;
    const v = h[name];
    if (v === undefined) continue;
    if (typeof v === "string") add(out, name, v.trim());
    else for (let i = 0; i < v.length; i++) add(out, name, v[i]!.trim());
  }
  if (length !== "" && !(withOps && overridden(ops, "content-length"))) out["content-length"] = length;
  if (withOps) addOps(out, ops);
  out.server = server;
  out["x-envoy-upstream-service-time"] = String(serviceTimeMs);
  return out;
}

// The response headers and trailers an access-log line reads (%RESP(X)%,
// %TRAILER(X)%, CEL response.headers / response.trailers), kept for an
// exchange only when a sink names them (AccessLog.respNames / .trailers: null
// and false otherwise, so this costs nothing unless used). Values are those
// sent to the client: the upstream's, with the route's response header
// operations applied and `server` the gateway's; a local reply's from the
// head the gateway wrote. A repeated header: its first value.
import type { IncomingHttpHeaders } from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { latin1 } from "./fields.ts";
import { fieldCount, fieldNameEnds, fieldStarts } from "./parse-response.ts";

/** What an exchange keeps for its line (one field of the exchange, null unless a sink reads the response). */
export interface KeptForLog {
  /** The response header names kept (AccessLog.respNames when the head came), and their values. */
  names: string[];
  values: (string | null)[];
  /** An HTTP/2 upstream's trailers (an HTTP/1.1 one's stay in its chunked scanner until the line is written). */
  trailers: [string, string][] | null;
}

const NO_NAMES: string[] = [];

export function keptHeaders(names: string[], values: (string | null)[]): KeptForLog {
  return { names, values, trailers: null };
}

/** `k` with `trailers` (a new record when nothing was kept yet). */
export function withTrailers(k: KeptForLog | null, trailers: [string, string][]): KeptForLog {
  if (k === null) return { names: NO_NAMES, values: [], trailers };
  k.trailers = trailers;
  return k;
}

function opValue(ops: HeaderOperations, name: string, upstream: string | null): string | null {
  for (const [n, v] of ops.set) if (n.toLowerCase() === name) return v;
  for (const n of ops.remove) if (n.toLowerCase() === name) return null;
  if (upstream !== null) return upstream;
  for (const [n, v] of ops.add) if (n.toLowerCase() === name) return v;
  return null;
}

/** From the HTTP/1.1 head just parsed into buf (parse-response.ts's field tables: valid until the next parse). */
export function keptFromHead(buf: Buffer, names: string[], ops: HeaderOperations, server: string): (string | null)[] {
  const out: (string | null)[] = [];
  const n = fieldCount;
  for (const name of names) {
    let v: string | null = null;
    if (name === "server") v = server;
    else {
      for (let k = 0; k < n; k++) {
        const st = fieldStarts[k]!;
        const ne = fieldNameEnds[k]!;
        if (ne - st !== name.length || latin1(buf, st, ne).toLowerCase() !== name) continue;
        v = latin1(buf, ne + 1, fieldStarts[k + 1]! - 2).trim();
        break;
      }
      v = opValue(ops, name, v);
    }
    out.push(v);
  }
  return out;
}

function first(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

/** From an HTTP/2 upstream's response fields. */
export function keptFromFields(h: IncomingHttpHeaders, names: string[], ops: HeaderOperations, server: string): (string | null)[] {
  const out: (string | null)[] = [];
  for (const name of names) out.push(name === "server" ? server : opValue(ops, name, first(h[name])));
  return out;
}

/** From a local reply's head text (`HTTP/1.1 503 …\r\nname: value\r\n…`). */
export function keptFromLocalHead(head: string, names: string[]): (string | null)[] {
  const out: (string | null)[] = [];
  const lines = head.split("\r\n");
  for (const name of names) {
    let v: string | null = null;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const c = l.indexOf(":");
      if (c === name.length && l.slice(0, c).toLowerCase() === name) {
        v = l.slice(c + 1).trim();
        break;
      }
    }
    out.push(v);
  }
  return out;
}

/** Trailer fields as pairs (lower-case names), from an HTTP/2 upstream's trailers. */
export function trailerPairs(t: IncomingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const k of Object.keys(t)) {
    if (k.startsWith(":")) continue;
    const v = first(t[k]);
    if (v !== null) out.push([k.toLowerCase(), v]);
  }
  return out;
}

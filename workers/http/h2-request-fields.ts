// The request for an HTTP/2 upstream as fields, straight from the parsed head:
// the same fields request-head-bytes.ts writes for an HTTP/1.1 upstream, as
// h2RequestHead (h2-upstream-heads.ts) read them back from those bytes before:
// pseudo-headers from the method, target and authority, the client's fields
// that pass (Host, framing, hop-by-hop and the gateway's own dropped), the
// route's header operations, x-forwarded-for/-proto, x-request-id,
// x-envoy-original-path, x-forwarded-client-cert, content-length and
// x-envoy-attempt-count. No HTTP/1.1 text is made or parsed.
//
// Values: the client's go as received (one latin1 character per byte); text
// from configuration or the gateway (a rewritten path or authority, header
// operations, XFCC) as its UTF-8 bytes, one latin1 character each: what the
// HTTP/1.1 bytes carried and node:http2 then sent.
import type { OutgoingHttpHeaders } from "node:http2";
import type { HeaderOperations } from "../../src/snapshot/types.ts";
import { R_OTHER, R_TRACE } from "./fields.ts";
import { REQ_CHUNKED, REQ_LENGTH, REQ_NONE, type H2RequestHead } from "./h2-upstream-heads.ts";
import { type ForwardIds, hasOps, overridden } from "./heads-out.ts";
import { forwardIds } from "./request-head-bytes.ts";
import type { RequestHead } from "./parse-request.ts";
import { fieldMap } from "./field-map.ts";

const NON_ASCII = /[^\x00-\x7f]/;

/** Configured text as the latin1 characters of its UTF-8 bytes. */
function utf8Chars(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, "utf8").toString("latin1") : s;
}

function add(out: OutgoingHttpHeaders, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[name] = [String(prev), value];
}

/** Connection-specific names a header operation may not send on HTTP/2 (RFC 9113 §8.2.2); `te` only as "trailers". */
const CONNECTION_FIELDS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings", "expect"]);

function addOp(out: OutgoingHttpHeaders, name: string, value: string): void {
  const n = name.toLowerCase();
  if (n === "host" || n[0] === ":" || CONNECTION_FIELDS.has(n)) return;
  const v = utf8Chars(value).trim();
  if (n === "te") {
    if (v.toLowerCase().includes("trailers")) out.te = "trailers";
    return;
  }
  add(out, n, v);
}

/**
 * The HTTP/2 request for head `h` (arguments as upstreamHeadBytes takes
 * them; `scheme` the upstream's: http, or https over TLS), with
 * x-envoy-attempt-count 1 (set it again for a later try); null for CONNECT,
 * which an HTTP/2 upstream is not offered. Fills `ids` (for the access log).
 */
export function upstreamH2Fields(
  h: RequestHead,
  target: string,
  authority: string,
  clientIp: string,
  originalPath: string,
  ops: HeaderOperations,
  ids: ForwardIds,
  xfcc: string,
  scheme: string,
  /** `ids` are set already (a traced request: workers/tracing.ts). */
  known = false,
): H2RequestHead | null {
  if (h.method === "CONNECT") return null;
  const n = h.count;
  const kinds = h.kinds;
  if (!known) forwardIds(h, clientIp, ids);

  const keepHost = h.hostHeader !== "" && authority === h.hostHeader;
  const headers = fieldMap<OutgoingHttpHeaders>();
  headers[":method"] = h.method;
  headers[":scheme"] = scheme;
  headers[":path"] = utf8Chars(target);
  headers[":authority"] = keepHost ? authority : utf8Chars(authority);
  const nominated = h.nominated;
  const withOps = hasOps(ops);
  for (let k = 0; k < n; k++) {
    const kind = kinds[k]!;
    if (kind !== R_OTHER && kind < R_TRACE) continue; // (a trace field the span replaces: a `set` operation of its name, exchange.ts traceOps)
    const name = h.name(k).toLowerCase();
    if ((nominated !== null && nominated.includes(name)) || (withOps && overridden(ops, name))) continue;
    add(headers, name, h.value(k));
  }
  if (withOps) {
    const set = ops.set;
    for (let i = 0; i < set.length; i++) addOp(headers, set[i]![0], set[i]![1]);
    const more = ops.add;
    for (let i = 0; i < more.length; i++) addOp(headers, more[i]![0], more[i]![1]);
  }
  add(headers, "x-forwarded-for", ids.xff);
  add(headers, "x-forwarded-proto", h.scheme);
  add(headers, "x-request-id", ids.requestId);
  if (originalPath !== "") add(headers, "x-envoy-original-path", originalPath);
  if (xfcc !== "") add(headers, "x-forwarded-client-cert", utf8Chars(xfcc).trim());
  if (h.teTrailers && !(withOps && overridden(ops, "te"))) headers.te = "trailers";
  let body = REQ_NONE;
  let length = 0;
  if (h.chunked) {
    body = REQ_CHUNKED;
    delete headers["content-length"];
  } else if (h.contentLength >= 0) {
    add(headers, "content-length", String(h.contentLength));
    if (h.contentLength > 0) {
      body = REQ_LENGTH;
      length = h.contentLength;
    }
  }
  headers["x-envoy-attempt-count"] = "1";
  return { headers, body, length };
}

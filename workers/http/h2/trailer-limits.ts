// The limits a client's request trailers meet on HTTP/2, as Envoy's HTTP/2 codec
// applies them (ConnectionImpl::saveHeader, source/common/http/http2/codec_impl.cc):
// each trailer field is counted against max_headers_count (100) and its name and
// value bytes against max_request_headers_kb (60 KiB: istiod sets neither), as a
// request's headers are; past either, the header callback fails and nghttp2 resets
// the stream with INTERNAL_ERROR (the connection goes on). Shared by gangway's
// codec (session.ts) and the node:http2 one (h2-node.ts).

/** Trailer fields a request may carry (Envoy's max_headers_count). */
export const MAX_TRAILERS = 100;
/** Bytes of trailer names and values a request may carry (Envoy's max_request_headers_kb, 60). */
export const MAX_TRAILER_BYTES = 60 * 1024;

/** Fields 0..n-1 of `names`/`values` (latin1: one character per byte) are over a limit. */
export function trailersOverLimit(names: readonly string[], values: readonly string[], n: number): boolean {
  if (n > MAX_TRAILERS) return true;
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += names[i]!.length + values[i]!.length;
  return bytes > MAX_TRAILER_BYTES;
}

/** The same for node:http2's raw fields (name, value, name, value...; values as UTF-8 text). */
export function rawTrailersOverLimit(raw: readonly string[]): boolean {
  if (raw.length > 2 * MAX_TRAILERS) return true;
  let bytes = 0;
  for (let i = 0; i < raw.length; i++) bytes += Buffer.byteLength(raw[i]!, "utf8");
  return bytes > MAX_TRAILER_BYTES;
}

// HPACK (RFC 7541) for gangway's HTTP/2 codec: one HpackDecoder per
// connection for the client's header blocks, one HpackEncoder for ours.
// The pieces: hpack-decoder.ts, hpack-encoder.ts, hpack-huffman.ts (with the
// code in hpack-huffman-code.ts), hpack-static.ts.
export { HpackError } from "./hpack-error.ts";
export { HpackDecoder } from "./hpack-decoder.ts";
export { HpackEncoder } from "./hpack-encoder.ts";

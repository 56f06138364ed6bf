/** A header block that cannot be decoded: the connection gets COMPRESSION_ERROR (RFC 9113 §4.3). */
export class HpackError extends Error {
  override name = "HpackError";
}

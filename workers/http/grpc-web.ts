// gRPC-Web ⇄ gRPC, as Envoy's grpc_web filter (which Istio installs on
// gateways) translates for an HTTP/2 upstream: the request's content-type
// `application/grpc-web[+proto]` becomes `application/grpc`, and
// `application/grpc-web-text[+proto]` bodies are base64-decoded; the response
// is `application/grpc-web+proto` (or `-text+proto`, base64) and its trailers
// travel as a last message flagged 0x80 whose payload is `name:value\r\n`
// lines — a browser cannot read HTTP trailers.

export const WEB_NONE = 0;
export const WEB_BINARY = 1;
export const WEB_TEXT = 2;
export type WebMode = typeof WEB_NONE | typeof WEB_BINARY | typeof WEB_TEXT;

/** The gRPC-Web flavour of a request's content-type. */
export function grpcWebMode(contentType: unknown): WebMode {
  if (typeof contentType !== "string") return WEB_NONE;
  const v = contentType.toLowerCase();
  if (v.startsWith("application/grpc-web-text")) return WEB_TEXT;
  if (v.startsWith("application/grpc-web")) {
    const rest = v.charAt("application/grpc-web".length);
    return rest === "" || rest === "+" || rest === ";" ? WEB_BINARY : WEB_NONE;
  }
  return WEB_NONE;
}

/** The response content-type Envoy sets. */
export function webResponseType(mode: WebMode): string {
  return mode === WEB_TEXT ? "application/grpc-web-text+proto" : "application/grpc-web+proto";
}

/** The trailers message: flag 0x80, length, `name:value\r\n` lines. */
export function trailerMessage(trailers: Record<string, unknown> | null): Buffer {
  let text = "";
  if (trailers !== null) {
    for (const name in trailers) {
      if (name[0] === ":") continue;
      const v = trailers[name];
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) text += `${name}:${String(x)}\r\n`;
    }
  }
  const payload = Buffer.from(text, "latin1");
  const head = Buffer.alloc(5);
  head[0] = 0x80;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Whole base64 groups: four characters, or two/three and their padding (each group may end a separately encoded piece). */
const GROUPS = /^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)*$/;
/** What a group not yet complete may hold. */
const PARTIAL = /^(?:[A-Za-z0-9+/]{0,3}|[A-Za-z0-9+/]{2}=)$/;

/**
 * Streaming base64 decoding of a grpc-web-text request body: groups of 4 characters, padding
 * allowed at the end of any group (clients may encode each message on its own), line breaks
 * skipped. Anything else is not base64 (Envoy's grpc_web filter: 400 "invalid base64 data"),
 * and a body ending inside a group is cut (`clean` false: Envoy's bad-size 400).
 */
export class Base64Decoder {
  private carry = "";
  /** Decoded bytes of `b`, or null when it is not base64. */
  push(b: Buffer): Buffer | null {
    const s = this.carry + b.toString("latin1").replace(/[\r\n]/g, "");
    const whole = s.length - (s.length % 4);
    const carry = s.slice(whole);
    if (!GROUPS.test(whole === s.length ? s : s.slice(0, whole)) || !PARTIAL.test(carry)) return null;
    this.carry = carry;
    // padding inside the text: each padded piece decoded on its own (a decoder may stop at the first `=`)
    let pad = s.indexOf("=");
    if (pad < 0 || pad >= whole - 2) return Buffer.from(s.slice(0, whole), "base64");
    const parts: Buffer[] = [];
    let start = 0;
    while (pad >= 0 && pad < whole) {
      const end = (pad & ~3) + 4;
      parts.push(Buffer.from(s.slice(start, end), "base64"));
      start = end;
      pad = s.indexOf("=", end);
    }
    if (start < whole) parts.push(Buffer.from(s.slice(start, whole), "base64"));
    return Buffer.concat(parts);
  }
  /** The text so far ended on a whole group. */
  get clean(): boolean {
    return this.carry === "";
  }
}

/** Streaming base64 encoding of a grpc-web-text response body. */
export class Base64Encoder {
  private carry: Buffer = Buffer.alloc(0);
  push(b: Buffer): Buffer {
    const all = this.carry.length === 0 ? b : Buffer.concat([this.carry, b]);
    const whole = all.length - (all.length % 3);
    this.carry = all.subarray(whole);
    return Buffer.from(all.subarray(0, whole).toString("base64"), "latin1");
  }
  /** What is left, padded. */
  end(): Buffer {
    const c = this.carry;
    this.carry = Buffer.alloc(0);
    return Buffer.from(c.toString("base64"), "latin1");
  }
}

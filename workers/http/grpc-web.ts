// gRPC-Web ⇄ gRPC, as Envoy's grpc_web filter (which Istio installs on
// gateways) translates for an HTTP/2 upstream: the request's content-type
// `application/grpc-web[-text][+proto]` becomes `application/grpc`, and
// `-text` bodies are base64-decoded; the response is `application/grpc-web+proto`,
// or `application/grpc-web-text+proto` (base64) when the accept asks for text, and its trailers
// travel as a last message flagged 0x80 whose payload is `name:value\r\n`
// lines — a browser cannot read HTTP trailers.

import { grpcMessageEncode, httpToGrpcStatus } from "../../src/upstream/grpc-reply.ts";

export const WEB_NONE = 0;
export const WEB_BINARY = 1;
export const WEB_TEXT = 2;
export type WebMode = typeof WEB_NONE | typeof WEB_BINARY | typeof WEB_TEXT;

/** The content-types Envoy's grpc_web filter takes (exactly: no parameters, case as written); any other is not gRPC-Web. */
const WEB_TYPES = new Map<string, WebMode>([
  ["application/grpc-web", WEB_BINARY],
  ["application/grpc-web+proto", WEB_BINARY],
  ["application/grpc-web-text", WEB_TEXT],
  ["application/grpc-web-text+proto", WEB_TEXT],
]);

/** The gRPC-Web flavour of a request's content-type (WEB_TEXT: its body is base64). */
export function grpcWebMode(contentType: unknown): WebMode {
  return typeof contentType === "string" ? (WEB_TYPES.get(contentType) ?? WEB_NONE) : WEB_NONE;
}

/**
 * The client asks for a base64 response: its `accept` is `application/grpc-web-text[+proto]`, as
 * Envoy's filter decides it (from accept alone, not from the request's content-type: a grpc-web-text
 * request without that accept gets binary, a binary one with it gets text).
 */
export function wantsText(accept: unknown): boolean {
  return accept === "application/grpc-web-text" || accept === "application/grpc-web-text+proto";
}

/** The response content-type Envoy sets (`text`: wantsText). */
export function webResponseType(text: boolean): string {
  return text ? "application/grpc-web-text+proto" : "application/grpc-web+proto";
}

/**
 * The header lines Envoy's grpc_web filter gives a response to a gRPC-Web request that is not gRPC (a
 * local reply, answered as to a plain request): gRPC-Web's content-type and, when it has a body,
 * grpc-status from its status and the body as grpc-message (content-length 0: the body is dropped).
 * An empty body ends the response at its head, which the filter passes with the content-type alone.
 */
export function webLocalReply(status: number, body: string | Uint8Array, text: boolean): string {
  let h = "content-type: " + webResponseType(text) + "\r\n";
  if (body.length > 0) h += "grpc-status: " + httpToGrpcStatus(status) + "\r\ngrpc-message: " + grpcMessageEncode(body) + "\r\n";
  return h;
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

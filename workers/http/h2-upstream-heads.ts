// Heads across the HTTP/2 upstream adapter (upstream-h2.ts): the exchange
// builds an HTTP/1.1 request head (heads-out.ts) and reads an HTTP/1.1
// response (response.ts); the upstream speaks HTTP/2. These turn one into the
// other, as Envoy's codecs do: pseudo-headers from the request line and Host,
// connection-specific fields dropped (RFC 9113 §8.2.2), `te` kept only as
// `trailers`, and the response's body framed as chunked so that its trailers
// (grpc-status, grpc-message ...) can follow the last chunk.
import { STATUS_CODES } from "node:http";
import type { OutgoingHttpHeaders, IncomingHttpHeaders } from "node:http2";
import { trailerFields } from "./chunked.ts";
import { fieldMap } from "./field-map.ts";

/** Connection-specific fields: never sent on HTTP/2. */
const CONNECTION_FIELDS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings", "expect"]);

/** How the request body follows its head. */
export const REQ_NONE = 0;
export const REQ_LENGTH = 1;
export const REQ_CHUNKED = 2;

export interface H2RequestHead {
  headers: OutgoingHttpHeaders;
  /** REQ_NONE (the headers end the stream), REQ_LENGTH (`length` bytes) or REQ_CHUNKED. */
  body: number;
  length: number;
}

/** The HTTP/2 request for an HTTP/1.1 head (`text` up to and without the blank line); null when it is not one. */
export function h2RequestHead(text: string, scheme: string): H2RequestHead | null {
  const lines = text.split("\r\n");
  const first = lines[0]!.split(" ");
  if (first.length !== 3) return null;
  const headers = fieldMap<OutgoingHttpHeaders>();
  headers[":method"] = first[0]!;
  headers[":scheme"] = scheme;
  headers[":path"] = first[1]!;
  let body = REQ_NONE;
  let length = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const name = line.slice(0, c).toLowerCase();
    const value = line.slice(c + 1).trim();
    if (name === "host") {
      headers[":authority"] = value;
      continue;
    }
    if (name === "transfer-encoding") {
      if (value.toLowerCase().endsWith("chunked")) body = REQ_CHUNKED;
      continue;
    }
    if (CONNECTION_FIELDS.has(name)) continue;
    if (name === "te") {
      if (value.toLowerCase().includes("trailers")) headers.te = "trailers";
      continue;
    }
    if (name === "content-length") {
      if (body !== REQ_CHUNKED) {
        body = REQ_LENGTH;
        length = Number(value);
      }
    }
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [String(prev), value];
  }
  if (body === REQ_CHUNKED) delete headers["content-length"];
  if (body === REQ_LENGTH && length === 0) body = REQ_NONE;
  if (first[0] === "CONNECT") return null; // a tunnel needs extended CONNECT, which is not offered upstream
  return { headers, body, length };
}

/**
 * The HTTP/1.1 response head (with its blank line) for an HTTP/2 response's
 * headers. `ended`: the headers ended the stream (no body: content-length 0);
 * `head`: the request was HEAD. Returns the head and whether the body is sent
 * chunked (else it has the upstream's content-length).
 */
export function h1ResponseHead(h: IncomingHttpHeaders, ended: boolean, head: boolean): { text: string; chunked: boolean } {
  const status = Number(h[":status"]);
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  let length = "";
  for (const name in h) {
    if (name[0] === ":" || CONNECTION_FIELDS.has(name)) continue;
    const v = h[name];
    if (v === undefined) continue;
    if (name === "content-length") {
      length = String(v);
      continue;
    }
    if (Array.isArray(v)) for (const x of v) text += `${name}: ${x}\r\n`;
    else text += `${name}: ${v}\r\n`;
  }
  const bodiless = head || status === 204 || status === 304;
  if (ended && !bodiless) return { text: text + "content-length: 0\r\n\r\n", chunked: false };
  // a body with a length keeps it (trailers after it are dropped, as HTTP/1.1 cannot carry them then); gRPC is never sized
  const grpc = String(h["content-type"] ?? "").startsWith("application/grpc");
  if (length !== "" && (bodiless || !grpc)) return { text: text + `content-length: ${length}\r\n\r\n`, chunked: false };
  if (bodiless) return { text: text + "\r\n", chunked: false };
  return { text: text + "transfer-encoding: chunked\r\n\r\n", chunked: true };
}

/** The last chunk with trailer fields (HTTP/2 trailers → HTTP/1.1 chunked trailer section). */
export function lastChunk(trailers: IncomingHttpHeaders | null): string {
  let out = "0\r\n";
  if (trailers !== null) {
    for (const name in trailers) {
      if (name[0] === ":") continue;
      const v = trailers[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) out += `${name}: ${x}\r\n`;
      else out += `${name}: ${v}\r\n`;
    }
  }
  return out + "\r\n";
}

/** The last chunk carrying the trailer section a ChunkedScanner kept (`trailerBytes`), framing fields left out. */
export function lastChunkWithTrailers(bytes: number[] | null): Buffer {
  let out = "0\r\n";
  for (const [n, v] of trailerFields(bytes)) out += `${n}: ${v}\r\n`;
  return Buffer.from(out + "\r\n", "latin1");
}

// A raw HTTP/2 client for hostile-traffic tests: it sends frames node:http2
// refuses to build (upper-case names, connection-specific fields, bad pseudo-
// headers, lengths that lie) and reports, per stream, how the gateway ended it.
// HPACK out: literal fields without indexing, no Huffman. HPACK in: only the
// :status, read from the first field of each HEADERS block (static index,
// or a literal with its digits plain or Huffman-coded; a dynamic-table
// reference is reported as status -1).
import * as tls from "node:tls";

export const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
export const DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
export const END_STREAM = 1, END_HEADERS = 4;

export function frame(type: number, flags: number, stream: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream & 0x7fffffff, 5);
  b.set(payload, 9);
  return b;
}

function hpackInt(prefixBits: number, first: number, n: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (n < max) return [first | n];
  const out = [first | max];
  n -= max;
  while (n >= 128) {
    out.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A header block: each field a literal without indexing, new name, no Huffman (names sent exactly as given). */
export function block(fields: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    out.push(0x00);
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    out.push(...hpackInt(7, 0, n.length), ...n, ...hpackInt(7, 0, v.length), ...v);
  }
  return Buffer.from(out);
}

export function headers(stream: number, fields: [string, string][], endStream = true): Buffer {
  return frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, block(fields));
}

export function request(stream: number, path = "/", extra: [string, string][] = [], method = "GET", endStream = true): Buffer {
  return headers(stream, [[":method", method], [":scheme", "http"], [":path", path], [":authority", "x"], ...extra], endStream);
}

export function rst(stream: number, code = 8): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(RST_STREAM, 0, stream, p);
}

export interface StreamEnd {
  /** :status of the response head, 0 when none came, -1 when it could not be read here. */
  status: number;
  /** RST_STREAM error code from the gateway, or -1. */
  rst: number;
  /** The stream ended cleanly (END_STREAM seen). */
  ended: boolean;
  data: number;
}

export interface H2Conversation {
  streams: Map<number, StreamEnd>;
  goaway: number;
  closed: boolean;
}

// Huffman codes of the digits (RFC 7541 Appendix B): '0'-'2' are 5 bits, '3'-'9' are 6 bits.
const DIGITS: [number, number][] = [[0x0, 5], [0x1, 5], [0x2, 5], [0x19, 6], [0x1a, 6], [0x1b, 6], [0x1c, 6], [0x1d, 6], [0x1e, 6], [0x1f, 6]];
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

function huffmanDigits(b: Uint8Array): number {
  let bits = 0, nbits = 0, out = "";
  let i = 0;
  while (out.length < 3) {
    while (nbits < 6 && i < b.length) {
      bits = (bits << 8) | b[i++]!;
      nbits += 8;
    }
    let hit = false;
    for (let d = 0; d < 10 && !hit; d++) {
      const [code, len] = DIGITS[d]!;
      if (nbits >= len && ((bits >> (nbits - len)) & ((1 << len) - 1)) === code) {
        out += d;
        nbits -= len;
        bits &= (1 << nbits) - 1;
        hit = true;
      }
    }
    if (!hit) return -1;
  }
  return Number(out);
}

function statusOf(block: Uint8Array): number {
  const f = block[0]!;
  if (f & 0x80) return STATIC_STATUS[f & 0x7f] ?? -1;
  // literal with incremental indexing (0x40 | 8) or without/never indexed (0x08, 0x18), name :status
  if (f === 0x48 || f === 0x08 || f === 0x18) {
    const len = block[1]!;
    const v = block.subarray(2, 2 + (len & 0x7f));
    return len & 0x80 ? huffmanDigits(v) : Number(Buffer.from(v).toString("latin1"));
  }
  return -1;
}

/** TLS with ALPN h2 instead of h2c (the CA that signs the gateway's certificate, the SNI to send). */
export interface H2Tls {
  ca: string;
  servername: string;
}

/**
 * Open a connection, send the preface and SETTINGS, then each of `sends` (20 ms apart when
 * there are several); collect frames until `done` says so, the gateway closes, or `ms` passes.
 */
export async function converse(
  port: number,
  sends: Uint8Array[],
  done: (c: H2Conversation) => boolean = () => false,
  ms = 4000,
  overTls: H2Tls | null = null,
): Promise<H2Conversation> {
  const c: H2Conversation = { streams: new Map(), goaway: -1, closed: false };
  let buf = Buffer.alloc(0);
  let finish: () => void = () => {};
  const over = new Promise<void>((r) => (finish = r));
  const get = (id: number) => {
    let s = c.streams.get(id);
    if (s === undefined) c.streams.set(id, (s = { status: 0, rst: -1, ended: false, data: 0 }));
    return s;
  };
  const onFrames = (sock: { write(b: Uint8Array): unknown }) => {
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const type = buf[3]!, flags = buf[4]!, id = buf.readUInt32BE(5) & 0x7fffffff;
      const p = buf.subarray(9, 9 + len);
      buf = buf.subarray(9 + len);
      if (type === SETTINGS && !(flags & 1)) sock.write(frame(SETTINGS, 1, 0));
      else if (type === PING && !(flags & 1)) sock.write(frame(PING, 1, 0, p));
      else if (type === HEADERS) {
        const s = get(id);
        let off = 0;
        if (flags & 0x8) off += 1; // padded
        if (flags & 0x20) off += 5; // priority
        if (s.status === 0) s.status = statusOf(p.subarray(off));
        if (flags & END_STREAM) s.ended = true;
      } else if (type === DATA) {
        const s = get(id);
        s.data += len;
        if (flags & END_STREAM) s.ended = true;
        // keep the windows open
        if (len > 0) {
          const w = Buffer.alloc(4);
          w.writeUInt32BE(len);
          sock.write(frame(WINDOW_UPDATE, 0, 0, w));
          sock.write(frame(WINDOW_UPDATE, 0, id, w));
        }
      } else if (type === RST_STREAM) get(id).rst = p.readUInt32BE(0);
      else if (type === GOAWAY) c.goaway = p.readUInt32BE(4);
    }
    if (done(c)) finish();
  };
  const onData = (s: { write(b: Uint8Array): unknown }, d: Uint8Array) => {
    buf = Buffer.concat([buf, d]);
    onFrames(s);
  };
  const onClose = () => {
    c.closed = true;
    finish();
  };
  let sock: { write(b: Uint8Array): unknown; end(): unknown };
  if (overTls === null) {
    sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data: onData, close: onClose, error: onClose },
    });
  } else {
    const t = tls.connect({ host: "127.0.0.1", port, ca: overTls.ca, servername: overTls.servername, ALPNProtocols: ["h2"] });
    await new Promise<void>((resolve, reject) => {
      t.once("secureConnect", () => (t.alpnProtocol === "h2" ? resolve() : reject(new Error(`ALPN: ${t.alpnProtocol}`))));
      t.once("error", reject);
    });
    t.on("data", (d: Buffer) => onData(t, d));
    t.on("close", onClose);
    t.on("error", onClose);
    sock = t;
  }
  sock.write(Buffer.concat([Buffer.from(PREFACE, "latin1"), frame(SETTINGS, 0, 0)]));
  for (const s of sends) {
    sock.write(s);
    if (sends.length > 1) await Bun.sleep(20);
  }
  const t = setTimeout(finish, ms);
  await over;
  clearTimeout(t);
  const closed = c.closed;
  sock.end();
  return { ...c, closed };
}

/** `done` for converse: every listed stream has ended (END_STREAM or RST_STREAM). */
export const streamsOver = (...ids: number[]) => (c: H2Conversation) =>
  ids.every((id) => {
    const s = c.streams.get(id);
    return s !== undefined && (s.ended || s.rst >= 0);
  });

// Reads the SNI and ALPN of a TLS ClientHello from the first bytes of a
// connection, without consuming them: the same bytes are then handed to the
// TLS terminator or spliced to the passthrough destination. Handles a
// ClientHello split over several TLS records and over several reads; rejects
// anything malformed with a reason (never throws).

export type HelloResult =
  | { status: "more" }
  | { status: "ok"; sni: string; alpn: string[]; version: number }
  | { status: "error"; reason: string };

/**
 * The most bytes a ClientHello may take on the wire, record headers included
 * (Envoy's tls_inspector reads at most TLS_MAX_CLIENT_HELLO, 64 KiB, before it
 * gives up: client_hello_too_large). Real hellos are under ~2 KB (PQ key shares
 * ~1.8 KB). The number of records is bounded by this alone, as in Envoy and
 * BoringSSL, which take a hello cut into records of any size: 1-byte records
 * (6 bytes each) fit ~10,900 of them, walked once however they arrive.
 */
export const MAX_HELLO_BYTES = 64 * 1024;

/**
 * Where the walk over a hello's records stopped, so that the next call (the
 * same bytes and more) resumes there instead of walking every record again:
 * a hello of many tiny records arriving one per read costs time linear in its
 * bytes, not quadratic. One per connection, made when a hello needs a second read.
 */
export interface HelloWalk {
  /** Offset of the next record header. */
  off: number;
  /** Handshake bytes in the records walked. */
  total: number;
  /** Handshake message length (4-byte header + body) once known, else -1. */
  need: number;
  records: number;
  /** Where the first record's handshake bytes begin, -1 before it. */
  firstAt: number;
}

export function newHelloWalk(): HelloWalk {
  return { off: 0, total: 0, need: -1, records: 0, firstAt: -1 };
}

const MORE: HelloResult = { status: "more" };

function fail(reason: string): HelloResult {
  return { status: "error", reason };
}

/**
 * Parse as much of `buf` as has arrived. `more` means: call again when more
 * bytes came (with the same `walk`, given one: it resumes where this call
 * stopped; `buf` must then begin with the same bytes). `sni` is lower-cased,
 * "" when the client sent none.
 */
export function parseClientHello(buf: Uint8Array, walk: HelloWalk | null = null): HelloResult {
  // Walk consecutive handshake records until they hold the whole handshake
  // message; copy only when it spans several records.
  let off = 0;
  let total = 0;
  let need = -1;
  let records = 0;
  let firstAt = -1;
  if (walk !== null) ({ off, total, need, records, firstAt } = walk);
  while (need < 0 || total < need) {
    if (buf.length - off < 5) {
      if (buf.length >= MAX_HELLO_BYTES) return fail("client hello too large");
      return more(walk, off, total, need, records, firstAt);
    }
    if (buf[off] !== 0x16) return fail(off === 0 ? "not a TLS handshake" : "unexpected record type inside client hello");
    if (buf[off + 1] !== 3) return fail("bad record version");
    const recLen = (buf[off + 3]! << 8) | buf[off + 4]!;
    if (recLen === 0) return fail("empty handshake record");
    if (recLen > 16384 + 2048) return fail("record too long");
    if (off + 5 + recLen > MAX_HELLO_BYTES) return fail("client hello too large");
    if (buf.length - off - 5 < recLen) return more(walk, off, total, need, records, firstAt);
    if (firstAt < 0) firstAt = off + 5;
    records++;
    total += recLen;
    off += 5 + recLen;
    if (need < 0 && total >= 4) {
      // the first 4 handshake bytes lie in at most 4 records (none is empty)
      const hs = records === 1 ? buf : gather(buf, off, 4);
      const h = records === 1 ? firstAt : 0;
      if (hs[h] !== 0x01) return fail("first handshake message is not a client hello");
      const bodyLen = (hs[h + 1]! << 16) | (hs[h + 2]! << 8) | hs[h + 3]!;
      if (bodyLen + 4 > MAX_HELLO_BYTES) return fail("client hello too large");
      need = bodyLen + 4;
    }
  }
  // one record: the message is read where it lies in buf (no copy, no view)
  if (records === 1) return parseBody(buf, firstAt + 4, firstAt + need);
  return parseBody(gather(buf, off, need), 4, need);
}

/** Keep where the walk stopped (when there is a walk to keep it in): more bytes are needed. */
function more(walk: HelloWalk | null, off: number, total: number, need: number, records: number, firstAt: number): HelloResult {
  if (walk !== null) {
    walk.off = off;
    walk.total = total;
    walk.need = need;
    walk.records = records;
    walk.firstAt = firstAt;
  }
  return MORE;
}

/** The first `n` handshake bytes of the records in buf[0, end), concatenated. */
function gather(buf: Uint8Array, end: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let w = 0;
  for (let off = 0; off < end && w < n; ) {
    const recLen = (buf[off + 3]! << 8) | buf[off + 4]!;
    const take = Math.min(recLen, n - w);
    out.set(buf.subarray(off + 5, off + 5 + take), w);
    w += take;
    off += 5 + recLen;
  }
  return out;
}

/**
 * Extension types seen in the hello being parsed (a duplicate is an error): one
 * bit per type, and the types set, to clear them after (no Set per hello).
 */
const seenBits = new Uint8Array(65536 / 8);
const seenTypes = new Uint16Array(65536);

/** The ClientHello body in b[p, end) (after the 4-byte handshake header). */
function parseBody(b: Uint8Array, p: number, end: number): HelloResult {
  if (end - p < 2 + 32 + 1) return fail("client hello truncated");
  const version = (b[p]! << 8) | b[p + 1]!;
  p += 2 + 32;
  const sidLen = b[p]!;
  p += 1;
  if (sidLen > 32 || end - p < sidLen) return fail("bad session id");
  p += sidLen;
  if (end - p < 2) return fail("client hello truncated");
  const csLen = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  if (csLen === 0 || csLen % 2 !== 0 || end - p < csLen) return fail("bad cipher suites");
  p += csLen;
  if (end - p < 1) return fail("client hello truncated");
  const compLen = b[p]!;
  p += 1;
  if (compLen === 0 || end - p < compLen) return fail("bad compression methods");
  p += compLen;
  if (end === p) return { status: "ok", sni: "", alpn: [], version }; // no extensions (SSLv3-style hello)
  if (end - p < 2) return fail("bad extensions");
  const extLen = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  if (extLen !== end - p) return fail("bad extensions length");
  let n = 0;
  try {
    let sni = "";
    let alpn: string[] = [];
    while (p < end) {
      if (end - p < 4) return fail("bad extension header");
      const type = (b[p]! << 8) | b[p + 1]!;
      const len = (b[p + 2]! << 8) | b[p + 3]!;
      p += 4;
      if (end - p < len) return fail("extension overruns client hello");
      const bit = 1 << (type & 7);
      if ((seenBits[type >> 3]! & bit) !== 0) return fail("duplicate extension");
      seenBits[type >> 3]! |= bit;
      seenTypes[n++] = type;
      if (type === 0) {
        const r = parseSni(b, p, p + len);
        if (r === null) return fail("bad server_name extension");
        sni = r;
      } else if (type === 16) {
        const r = parseAlpn(b, p, p + len);
        if (r === null) return fail("bad ALPN extension");
        alpn = r;
      }
      p += len;
    }
    return { status: "ok", sni, alpn, version };
  } finally {
    for (let i = 0; i < n; i++) seenBits[seenTypes[i]! >> 3] = 0;
  }
}

const decoder = new TextDecoder("latin1");

/**
 * The last host_name parsed, its bytes as sent and the name made of them:
 * clients mostly send the name the connection before sent, which then costs a
 * byte compare instead of a string built per character, and the chain and
 * route lookups keyed by it get the same string (its hash computed already).
 */
const lastSent = new Uint8Array(253);
let lastSentLen = 0;
let lastName = "";

/** The server_name extension in d[p, end): the first host_name, lower case, without a trailing dot; null: malformed. */
function parseSni(d: Uint8Array, p: number, end: number): string | null {
  if (end - p < 2) return null;
  const listLen = (d[p]! << 8) | d[p + 1]!;
  if (listLen + 2 !== end - p) return null;
  p += 2;
  let name = "";
  while (p < end) {
    if (end - p < 3) return null;
    const type = d[p]!;
    const len = (d[p + 1]! << 8) | d[p + 2]!;
    p += 3;
    if (end - p < len) return null;
    if (type === 0 && name === "") {
      if (len === 0 || len > 253) return null;
      if (len === lastSentLen && sameBytes(d, p, len)) {
        name = lastName;
        p += len;
        continue;
      }
      for (let i = p; i < p + len; i++) {
        let c = d[i]!;
        // letters, digits, '-', '.', '_' (seen in the wild), '*' is never valid in SNI
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f)) return null;
        name += String.fromCharCode(c);
      }
      if (name.endsWith(".")) name = name.slice(0, -1);
      lastSent.set(d.subarray(p, p + len));
      lastSentLen = len;
      lastName = name;
    }
    p += len;
  }
  return name;
}

/** d[p, p + len) is lastSent's first len bytes. */
function sameBytes(d: Uint8Array, p: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (d[p + i] !== lastSent[i]) return false;
  return true;
}

/** The ALPN extension in d[p, end): the protocol names offered; null: malformed. */
function parseAlpn(d: Uint8Array, p: number, end: number): string[] | null {
  if (end - p < 2) return null;
  const listLen = (d[p]! << 8) | d[p + 1]!;
  if (listLen + 2 !== end - p || listLen === 0) return null;
  p += 2;
  const out: string[] = [];
  while (p < end) {
    const len = d[p]!;
    p += 1;
    if (len === 0 || end - p < len) return null;
    let name = "";
    for (let i = p; i < p + len; i++) {
      const c = d[i]!;
      if (c >= 0x80) {
        name = decoder.decode(d.subarray(p, p + len)); // the decoder's table for 0x80-0x9f
        break;
      }
      name += String.fromCharCode(c);
    }
    out.push(name);
    p += len;
  }
  return out;
}

// The ClientHello parser as it was before it read by offsets (workers/tls/client-hello.ts
// before 2026-12-06): kept only as the reference the differential test compares with.
// Its limits follow the parser's: since 2026-12-07 no record count (it was 32), the hello's
// bytes on the wire, record headers included, at most 64 KiB (Envoy's tls_inspector).

type HelloResult =
  | { status: "more" }
  | { status: "ok"; sni: string; alpn: string[]; version: number }
  | { status: "error"; reason: string };

/** A ClientHello larger than this is refused (real ones are under ~2 KB; PQ key shares ~1.8 KB). */
const MAX_HELLO_BYTES = 64 * 1024;

const MORE: HelloResult = { status: "more" };

function fail(reason: string): HelloResult {
  return { status: "error", reason };
}

/**
 * Parse as much of `buf` as has arrived. `more` means: call again when more
 * bytes came. `sni` is lower-cased, "" when the client sent none.
 */
export function referenceParseClientHello(buf: Uint8Array): HelloResult {
  // Walk consecutive handshake records until they hold the whole handshake
  // message; copy only when it spans several records (bounded in number, so a
  // hostile stream of tiny records costs little).
  let off = 0;
  let total = 0; // handshake bytes seen so far
  let need = -1; // total handshake message length (4-byte header + body), once known
  let records = 0;
  let first: Uint8Array | null = null;
  while (need < 0 || total < need) {
    if (buf.length - off < 5) return buf.length >= MAX_HELLO_BYTES ? fail("client hello too large") : MORE;
    if (buf[off] !== 0x16) return fail(off === 0 ? "not a TLS handshake" : "unexpected record type inside client hello");
    if (buf[off + 1] !== 3) return fail("bad record version");
    const recLen = (buf[off + 3]! << 8) | buf[off + 4]!;
    if (recLen === 0) return fail("empty handshake record");
    if (recLen > 16384 + 2048) return fail("record too long");
    if (off + 5 + recLen > MAX_HELLO_BYTES) return fail("client hello too large");
    records++;
    if (buf.length - off - 5 < recLen) return MORE;
    if (first === null) first = buf.subarray(off + 5, off + 5 + recLen);
    total += recLen;
    off += 5 + recLen;
    if (need < 0 && total >= 4) {
      const hs = records === 1 ? first : gather(buf, off, 4);
      if (hs[0] !== 0x01) return fail("first handshake message is not a client hello");
      const bodyLen = (hs[1]! << 16) | (hs[2]! << 8) | hs[3]!;
      if (bodyLen + 4 > MAX_HELLO_BYTES) return fail("client hello too large");
      need = bodyLen + 4;
    }
  }
  const hs = records === 1 ? first! : gather(buf, off, need);
  return parseBody(hs.subarray(4, need));
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

function parseBody(b: Uint8Array): HelloResult {
  let p = 0;
  const left = () => b.length - p;
  if (left() < 2 + 32 + 1) return fail("client hello truncated");
  const version = (b[0]! << 8) | b[1]!;
  p = 2 + 32;
  const sidLen = b[p]!;
  p += 1;
  if (sidLen > 32 || left() < sidLen) return fail("bad session id");
  p += sidLen;
  if (left() < 2) return fail("client hello truncated");
  const csLen = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  if (csLen === 0 || csLen % 2 !== 0 || left() < csLen) return fail("bad cipher suites");
  p += csLen;
  if (left() < 1) return fail("client hello truncated");
  const compLen = b[p]!;
  p += 1;
  if (compLen === 0 || left() < compLen) return fail("bad compression methods");
  p += compLen;
  let sni = "";
  let alpn: string[] = [];
  if (left() === 0) return { status: "ok", sni, alpn, version }; // no extensions (SSLv3-style hello)
  if (left() < 2) return fail("bad extensions");
  const extLen = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  if (extLen !== left()) return fail("bad extensions length");
  const seen = new Set<number>();
  while (left() > 0) {
    if (left() < 4) return fail("bad extension header");
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    p += 4;
    if (left() < len) return fail("extension overruns client hello");
    if (seen.has(type)) return fail("duplicate extension");
    seen.add(type);
    const data = b.subarray(p, p + len);
    p += len;
    if (type === 0) {
      const r = parseSni(data);
      if (r === null) return fail("bad server_name extension");
      sni = r;
    } else if (type === 16) {
      const r = parseAlpn(data);
      if (r === null) return fail("bad ALPN extension");
      alpn = r;
    }
  }
  return { status: "ok", sni, alpn, version };
}

const decoder = new TextDecoder("latin1");

function parseSni(d: Uint8Array): string | null {
  if (d.length < 2) return null;
  const listLen = (d[0]! << 8) | d[1]!;
  if (listLen + 2 !== d.length) return null;
  let p = 2;
  let name = "";
  while (p < d.length) {
    if (d.length - p < 3) return null;
    const type = d[p]!;
    const len = (d[p + 1]! << 8) | d[p + 2]!;
    p += 3;
    if (d.length - p < len) return null;
    if (type === 0 && name === "") {
      if (len === 0 || len > 253) return null;
      for (let i = p; i < p + len; i++) {
        const c = d[i]!;
        // letters, digits, '-', '.', '_' (seen in the wild), '*' is never valid in SNI
        const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f;
        if (!ok) return null;
      }
      name = decoder.decode(d.subarray(p, p + len)).toLowerCase();
      if (name.endsWith(".")) name = name.slice(0, -1);
    }
    p += len;
  }
  return name;
}

function parseAlpn(d: Uint8Array): string[] | null {
  if (d.length < 2) return null;
  const listLen = (d[0]! << 8) | d[1]!;
  if (listLen + 2 !== d.length || listLen === 0) return null;
  const out: string[] = [];
  let p = 2;
  while (p < d.length) {
    const len = d[p]!;
    p += 1;
    if (len === 0 || d.length - p < len) return null;
    out.push(decoder.decode(d.subarray(p, p + len)));
    p += len;
  }
  return out;
}

// A hand-made TLS ClientHello, for sending to a passthrough port what a TLS
// client would send first (tests and bench/passthrough.ts).

/** A minimal TLS 1.2 ClientHello with SNI: the gateway routes on it; the bytes after it need not be TLS. */
export function clientHello(sni: string): Buffer {
  const name = Buffer.from(sni);
  const list = Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 0xff]), name]);
  const sniData = Buffer.concat([Buffer.from([list.length >> 8, list.length & 0xff]), list]);
  const ext = Buffer.concat([Buffer.from([0, 0, sniData.length >> 8, sniData.length & 0xff]), sniData]);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7), // random
    Buffer.from([0]), // session id
    Buffer.from([0, 2, 0x13, 0x01]), // cipher suites
    Buffer.from([1, 0]), // compression
    Buffer.from([ext.length >> 8, ext.length & 0xff]),
    ext,
  ]);
  const hs = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
}

/**
 * A TLS 1.2-style ClientHello a TLS 1.2 server can answer (ECDHE-ECDSA/RSA AES-GCM, P-256,
 * ecdsa_secp256r1_sha256), as a handshake message (no record header: see `inRecords`).
 * `sni` null: no server_name extension; `version` the legacy version (0x0301 for TLS 1.0);
 * `pad` bytes of an unknown extension (a hello larger than one record).
 */
export function craftedHello(o: { sni?: string | null; version?: number; pad?: number } = {}): Buffer {
  const ext: Buffer[] = [];
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  if (o.sni !== null) {
    const name = Buffer.from(o.sni ?? "httpbin.example.com", "latin1");
    const list = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    const data = Buffer.concat([u16(list.length), list]);
    ext.push(Buffer.from([0, 0]), u16(data.length), data);
  }
  ext.push(Buffer.from([0, 0x0a, 0, 4, 0, 2, 0, 0x17])); // supported groups: P-256
  ext.push(Buffer.from([0, 0x0d, 0, 4, 0, 2, 4, 3])); // signature algorithms: ecdsa_secp256r1_sha256
  ext.push(Buffer.from([0, 0x0b, 0, 2, 1, 0])); // ec point formats
  if (o.pad !== undefined) ext.push(Buffer.from([0xfe, 0]), u16(o.pad), Buffer.alloc(o.pad, 0x61));
  const exts = Buffer.concat(ext);
  const v = o.version ?? 0x0303;
  const body = Buffer.concat([
    Buffer.from([v >> 8, v & 0xff]),
    Buffer.alloc(32, 9),
    Buffer.from([0]),
    Buffer.from([0, 6, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x13]),
    Buffer.from([1, 0]),
    u16(exts.length),
    exts,
  ]);
  return Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
}

/** A handshake message in TLS records of at most `size` bytes. */
export function inRecords(hs: Buffer, size = 16384): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < hs.length; i += size) {
    const f = hs.subarray(i, i + size);
    out.push(Buffer.from([0x16, 3, 1, f.length >> 8, f.length & 0xff]), f);
  }
  return Buffer.concat(out);
}

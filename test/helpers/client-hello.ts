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

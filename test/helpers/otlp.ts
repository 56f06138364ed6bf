// Reads OTLP ExportTraceServiceRequest protobuf back into plain spans, with a
// small protobuf reader written for the tests (independent of the encoder's
// writer): what a collector would see.

type Field = { wire: number; v: bigint | Buffer };

/** A message's fields by number, in order. */
export function fields(b: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length) throw new Error("truncated varint");
      const c = b[i++]!;
      v |= BigInt(c & 0x7f) << shift;
      if ((c & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < b.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    let v: bigint | Buffer;
    if (wire === 0) v = varint();
    else if (wire === 1) {
      v = b.readBigUInt64LE(i);
      i += 8;
    } else if (wire === 2) {
      const n = Number(varint());
      v = b.subarray(i, i + n);
      i += n;
      if (i > b.length) throw new Error("truncated bytes");
    } else throw new Error(`wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push({ wire, v });
    out.set(field, list);
  }
  return out;
}

const bytesOf = (m: Map<number, Field[]>, f: number): Buffer[] => (m.get(f) ?? []).map((x) => x.v as Buffer);
const one = (m: Map<number, Field[]>, f: number): Buffer | undefined => bytesOf(m, f)[0];

function keyValues(list: Buffer[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const m = fields(kv);
    const any = fields(one(m, 2)!);
    out[one(m, 1)!.toString("utf8")] = one(any, 1)!.toString("utf8");
  }
  return out;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentId: string;
  traceState: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string>;
}

export function readExport(body: Buffer): { resource: Record<string, string>; spans: OtlpSpan[] }[] {
  return bytesOf(fields(body), 1).map((rsBuf) => {
    const rs = fields(rsBuf);
    const res = one(rs, 1);
    const spans: OtlpSpan[] = [];
    for (const ss of bytesOf(rs, 2)) {
      for (const spBuf of bytesOf(fields(ss), 2)) {
        const sp = fields(spBuf);
        spans.push({
          traceId: one(sp, 1)!.toString("hex"),
          spanId: one(sp, 2)!.toString("hex"),
          traceState: one(sp, 3)?.toString("utf8") ?? "",
          parentId: one(sp, 4)?.toString("hex") ?? "",
          name: one(sp, 5)!.toString("utf8"),
          kind: Number(sp.get(6)![0]!.v),
          startNs: sp.get(7)![0]!.v as bigint,
          endNs: sp.get(8)![0]!.v as bigint,
          attributes: keyValues(bytesOf(sp, 9)),
        });
      }
    }
    return { resource: res === undefined ? {} : keyValues(bytesOf(fields(res), 1)), spans };
  });
}

// HPACK against another implementation, on a real socket: Bun's node:http2
// client (its own HPACK encoder and decoder, Huffman on) talks to a bare
// HTTP/2 server here that decodes each request block with HpackDecoder and
// answers with blocks from HpackEncoder. Many requests on one connection, so
// both dynamic tables are exercised in both directions, and a client that
// announces a 256-octet table makes our encoder send a size update first.
import { describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import * as net from "node:net";
import { HpackDecoder, HpackEncoder } from "../../workers/http/h2/hpack.ts";
import { CONTINUATION, END_HEADERS, END_STREAM, frame, HEADERS, PREFACE, SETTINGS } from "./edge/h2-raw.ts";

type Field = [string, string];

/** The response for a request: fields that repeat (indexed after the first), volatile ones, one derived from the request. */
function responseFields(k: number, path: string): Field[] {
  return [
    [":status", ["200", "201", "404", "503"][k % 4]!],
    ["content-type", k % 2 ? "application/json" : "text/plain; charset=utf-8"],
    ["server", "gangway"],
    ["date", `Sun, 06 Dec 2026 02:${String(k % 60).padStart(2, "0")}:00 GMT`],
    ["x-echo-path", path],
    ["set-cookie", `s=${k}; Path=/`],
    ["x-long", "L".repeat(100 + k * 37)],
    ["x-envoy-upstream-service-time", String(k)],
  ];
}

/** A bare HTTP/2 server: SETTINGS both ways, HEADERS (+CONTINUATION) decoded, each stream answered with one HEADERS frame. */
function bareServer(requests: Field[][]): Promise<net.Server> {
  const server = net.createServer((sock) => {
    const decoder = new HpackDecoder();
    const encoder = new HpackEncoder();
    let buf = Buffer.alloc(0);
    let preface = false;
    let block: Buffer[] = [];
    let count = 0;
    sock.write(frame(SETTINGS, 0, 0));
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!preface) {
        if (buf.length < PREFACE.length) return;
        if (buf.subarray(0, PREFACE.length).toString("latin1") !== PREFACE) return void sock.destroy();
        buf = buf.subarray(PREFACE.length);
        preface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const type = buf[3]!;
        const flags = buf[4]!;
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        let payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === SETTINGS && (flags & 1) === 0) {
          for (let o = 0; o + 6 <= payload.length; o += 6) if (payload.readUInt16BE(o) === 1) encoder.setMaxTableSize(payload.readUInt32BE(o + 2));
          sock.write(frame(SETTINGS, 1, 0));
        } else if (type === HEADERS || type === CONTINUATION) {
          if (type === HEADERS) {
            const pad = flags & 0x8 ? payload[0]! : 0;
            payload = payload.subarray(flags & 0x8 ? 1 : 0, payload.length - pad);
            if (flags & 0x20) payload = payload.subarray(5);
          }
          block.push(Buffer.from(payload));
          if ((flags & END_HEADERS) === 0) continue;
          const whole = Buffer.concat(block);
          block = [];
          const fields: Field[] = [];
          decoder.decode(whole, 0, whole.length, (n, v) => fields.push([n, v]), 1 << 20);
          requests.push(fields);
          const path = fields.find((f) => f[0] === ":path")?.[1] ?? "";
          const rsp = responseFields(count++, path);
          const out = new Uint8Array(16384);
          const end = encoder.encode(rsp.map((f) => f[0]), rsp.map((f) => f[1]), rsp.length, out, 0);
          sock.write(frame(HEADERS, END_HEADERS | END_STREAM, id, out.subarray(0, end)));
        }
      }
    });
    sock.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function get(client: http2.ClientHttp2Session, headers: Record<string, string>): Promise<http2.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: true });
    req.on("response", (h) => {
      req.resume();
      req.on("end", () => resolve(h));
    });
    req.on("error", reject);
  });
}

describe("HPACK with Bun's node:http2 client on a real socket", () => {
  for (const headerTableSize of [4096, 256]) {
    test(`40 requests on one connection, client table ${headerTableSize}: every field crosses both ways`, async () => {
      const requests: Field[][] = [];
      const server = await bareServer(requests);
      const port = (server.address() as net.AddressInfo).port;
      const client = http2.connect(`http://127.0.0.1:${port}`, { settings: { headerTableSize } });
      try {
        for (let k = 0; k < 40; k++) {
          const path = `/items/${k % 7}?q=${"é".repeat(k % 3)}x`;
          const sent = { ":path": path, "x-request-id": `req-${k}`, "user-agent": "interop/1.0", "x-tenant": `t${k % 3}`, "x-big": "b".repeat(k * 50) };
          const h = await get(client, sent);
          const want = responseFields(k, requests[k]!.find((f) => f[0] === ":path")![1]);
          const received = requests[k]!;
          // (Bun's client sends "é" as the one octet E9, which arrives as one latin1 char.)
          for (const [n, v] of Object.entries(sent)) expect([n, received.find((f) => f[0] === n)?.[1]]).toEqual([n, v]);
          expect(String(h[":status"])).toBe(want[0]![1]);
          for (const [n, v] of want.slice(1)) {
            const got = h[n];
            expect([n, Array.isArray(got) ? got.join("|") : got]).toEqual([n, v]);
          }
        }
      } finally {
        client.close();
        server.close();
      }
    });
  }
});

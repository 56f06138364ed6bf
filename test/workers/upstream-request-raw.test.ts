// A request body given as data (an HTTP/2 client stream of unknown length,
// UpstreamRequest.rawBody): an HTTP/2 upstream stream that took the head as
// fields gets the data and the end (BodyEnd, with the trailers) as they are;
// every other connection, a retry and the mirrors get it framed as chunks.
import { describe, expect, test } from "bun:test";
import type { H2RequestHead } from "../../workers/http/h2-upstream-heads.ts";
import { REQ_CHUNKED } from "../../workers/http/h2-upstream-heads.ts";
import { BodyEnd, UpstreamRequest } from "../../workers/http/upstream-request.ts";
import type { UpstreamConn } from "../../workers/http/upstream-conn.ts";

interface Fake {
  writes: Uint8Array[];
  started: [number, boolean][];
}

function conn(h2: boolean): Fake & UpstreamConn {
  const c = {
    writes: [] as Uint8Array[],
    started: [] as [number, boolean][],
    socket: {},
    uses: 1,
    write(b: Uint8Array) {
      this.writes.push(b);
      return true;
    },
  } as Fake & Record<string, unknown>;
  if (h2)
    c.startFields = (_h: H2RequestHead, attempt: number, raw: boolean) => {
      c.started.push([attempt, raw]);
      return true;
    };
  return c as unknown as Fake & UpstreamConn;
}

const TRAILERS = { "x-t": "1", "content-length": "9", ":path": "/no" } as never;
const text = (ws: Uint8Array[]) => Buffer.concat(ws.map((w) => Buffer.from(w))).toString("latin1");

function request(fields: boolean): UpstreamRequest {
  const up = new UpstreamRequest();
  up.rawBody = true;
  const head = Buffer.from("POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\nx-envoy-attempt-count: 1\r\n\r\n", "latin1");
  if (fields) up.setFields({ headers: { ":method": "POST" }, body: REQ_CHUNKED, length: 0 }, () => head);
  else up.setHead(head);
  return up;
}

describe("raw request bodies", () => {
  test("to an HTTP/2 stream given fields: data and the end as they are; a retry sends the copy the same way", () => {
    const up = request(true);
    up.hold(Buffer.from("ab"));
    const c = conn(true);
    up.sendTo(c, false, 1);
    up.write(c, Buffer.from("cde"));
    up.write(c, new BodyEnd(TRAILERS));
    expect(c.started).toEqual([[1, true]]);
    expect(c.writes.map((w) => (w instanceof BodyEnd ? "END" : Buffer.from(w).toString()))).toEqual(["ab", "cde", "END"]);
    expect((c.writes[2] as BodyEnd).fields()).toEqual({ "x-t": "1" });
    const again = conn(true);
    up.sendTo(again, true, 2);
    expect(again.started).toEqual([[2, true]]);
    expect(again.writes.map((w) => (w instanceof BodyEnd ? "END" : Buffer.from(w).toString()))).toEqual(["ab", "cde", "END"]);
    // mirrors get the HTTP/1.1 head and the body as chunks, trailers left out
    expect(up.headText()).toContain("transfer-encoding: chunked");
    expect(text(up.body())).toBe("2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");
  });

  test("to an HTTP/1.1 connection: chunks, the last without trailers", () => {
    const up = request(true);
    const c = conn(false);
    up.sendTo(c, false, 1);
    up.write(c, Buffer.from("hello"));
    up.write(c, new BodyEnd(TRAILERS));
    expect(text(c.writes)).toBe("POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\nx-envoy-attempt-count: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  });

  test("to an HTTP/2 stream started from the HTTP/1.1 head (mirrored route): chunks, the last with the trailers", () => {
    const up = request(false);
    const c = conn(true);
    up.sendTo(c, false, 1);
    up.write(c, Buffer.from("hello"));
    up.write(c, new BodyEnd(TRAILERS));
    expect(c.started).toEqual([]);
    expect(text(c.writes)).toBe("POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\nx-envoy-attempt-count: 1\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n");
  });
});

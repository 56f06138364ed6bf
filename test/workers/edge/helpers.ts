// Shared pieces of the hostile-traffic tests (issue 13): a raw TCP upstream
// scripted per request, an access log read back, and an h2c client request
// that reports how its stream ended.
import type { Socket, TCPSocketListener } from "bun";
import { mkdtempSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A request line at the start of the chunk or after a CRLF (group 1: the CRLF, if any). */
const REQUEST_LINE = /(^|\r\n)[A-Z]+ \/[^\r\n]* HTTP\/1\.[01]\r\n/g;

export type Behaviour = (s: Socket<{ n: number; got: Buffer[] }>, req: string) => void;

/** A raw TCP upstream: `behave` is called for each request head received; every byte received is kept in `got`. */
export function rawUpstream(behave: Behaviour): TCPSocketListener<{ n: number; got: Buffer[] }> {
  return Bun.listen<{ n: number; got: Buffer[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { n: 0, got: [] };
      },
      data(s, d) {
        s.data.got.push(Buffer.from(d));
        // each request line in the chunk is a request (the next one's head can arrive with the
        // body bytes of the last one, which the upstream answered at its head); the rest is body
        const text = d.toString("latin1");
        for (const m of text.matchAll(REQUEST_LINE)) {
          s.data.n++;
          behave(s, text.slice(m.index + m[1]!.length));
        }
      },
    },
  });
}

export function tempLog(): string {
  return join(mkdtempSync(join(tmpdir(), "gangway-edge-")), "access.log");
}

export { logLines } from "../../helpers/access-log.ts";

export interface H2Outcome {
  status: number;
  body: string;
  /** "end": the stream ended normally; "reset": RST_STREAM or error; "timeout": neither within the bound. */
  how: "end" | "reset" | "timeout";
}

/** One h2c request; how its stream ended (bounded by `ms`). */
export function h2Request(port: number, path: string, ms = 5000, method = "GET", body?: Buffer): Promise<H2Outcome> {
  return new Promise((resolve) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on("error", () => {});
    let status = 0;
    const chunks: Buffer[] = [];
    const done = (how: H2Outcome["how"]) => {
      clearTimeout(t);
      s.destroy();
      resolve({ status, body: Buffer.concat(chunks).toString("latin1"), how });
    };
    const t = setTimeout(() => done("timeout"), ms);
    const req = s.request({ ":method": method, ":path": path, ":authority": "x" }, { endStream: body === undefined });
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => done(req.rstCode !== undefined && req.rstCode !== 0 ? "reset" : "end"));
    req.on("error", () => done("reset"));
    req.on("close", () => done(req.rstCode !== undefined && req.rstCode !== 0 ? "reset" : "end"));
    if (body !== undefined) req.end(body);
  });
}

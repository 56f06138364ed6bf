// A small HTTP/1.1 server for the admin, status and metrics listeners, in place
// of Bun.serve. Bun.serve (uWS, bun 1.4.4) closes a connection when a request
// arrives while the answer to the one before is still pending on something
// other than a microtask, without answering either: measured with any handler
// that awaits a timer or a message, and `/stats/prometheus` awaits the workers'
// counters, so two pipelined scrapes got nothing but a close. Here requests are
// read from the connection's bytes and answered one at a time, in order, each
// handler awaited before the next request is parsed; the handlers are the same
// (`Request` in, `Response` out). Only GET and HEAD reach them (every admin
// path answers 405 to other methods; Bun's `Request` turns a method it does
// not know into GET, so none is made for them).
import type { Socket, TCPSocketListener } from "bun";
import { reasonOf } from "../model/http-reasons.ts";

/** What the listeners' owner needs of a server (Bun.serve's `port` and `stop`). */
export interface AdminServer {
  readonly port: number;
  stop(closeActive?: boolean): void;
}

export type AdminHandler = (req: Request) => Response | Promise<Response>;

/** Largest request head; past it `431` and the connection closes. */
const MAX_HEAD = 64 * 1024;
/** Largest request body read (and dropped) on a kept connection; past it `413` and close. */
const MAX_BODY = 64 * 1024;
/** Bytes buffered behind a request being answered (a pipeline); past it the connection closes. */
const MAX_PENDING = 1 << 20;
const CRLFCRLF = Buffer.from("\r\n\r\n");
/**
 * A request begun (its first byte read) must be whole, head and body, this long after: else
 * `408` `request header timeout` and the connection closes, as the data plane answers a head
 * still incomplete at --request-headers-timeout. Shorter than the data plane's 60 s default:
 * probes and scrapes send their few hundred bytes at once, and kubelet's and Prometheus's own
 * timeouts (1 s, 10 s) are over long before. Before, a drip held the connection ~32 s and then
 * closed it without an answer (the 30 s socket timeout).
 */
export const ADMIN_REQUEST_TIMEOUT_MS = 10_000;

interface Conn {
  buf: Buffer | null;
  /** A request is being answered: the next waits in buf. */
  busy: boolean;
  /** No more requests: closes once what is queued is written. */
  ending: boolean;
  closed: boolean;
  /** Bytes the kernel has not taken yet. */
  out: Buffer | null;
  /** Runs while part of a request waits in buf (none is being answered): 408 when it fires. */
  deadline: ReturnType<typeof setTimeout> | null;
}

/** A request head, parsed; null: malformed (400). */
interface Head {
  method: string;
  target: string;
  close: boolean;
  length: number;
}

function parseHead(text: string): Head | null {
  const lines = text.split("\r\n");
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/.exec(lines[0]!);
  if (m === null) return null;
  let close = m[3] === "0";
  let length = 0;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const colon = l.indexOf(":");
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(l.slice(0, colon))) return null;
    const name = l.slice(0, colon).toLowerCase();
    const value = l.slice(colon + 1).trim();
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return null;
    if (name === "connection") {
      const v = value.toLowerCase();
      if (/(^|,)\s*close\s*(,|$)/.test(v)) close = true;
      else if (m[3] === "0" && /(^|,)\s*keep-alive\s*(,|$)/.test(v)) close = false;
    } else if (name === "content-length") {
      if (!/^\d+$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER || (length !== 0 && Number(value) !== length)) return null;
      length = Number(value);
    } else if (name === "transfer-encoding") return null; // no admin request has a body to stream
  }
  return { method: m[1]!, target: m[2]!, close, length };
}

/** The path and query of an origin-form or absolute-form target; null: neither. */
function pathOfTarget(target: string): string | null {
  if (target.startsWith("/")) return target;
  const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
  if (m === null) return null;
  return m[1]!.startsWith("/") ? m[1]! : "/" + m[1]!;
}

export function serveAdminHttp1(hostname: string, port: number, handle: AdminHandler, idleTimeoutS: number, requestTimeoutMs = ADMIN_REQUEST_TIMEOUT_MS): AdminServer {
  const write = (s: Socket<Conn>, b: Buffer): void => {
    const c = s.data;
    if (c.closed) return;
    if (c.out !== null) {
      c.out = Buffer.concat([c.out, b]);
      return;
    }
    const n = s.write(b);
    if (n < b.length) c.out = b.subarray(n > 0 ? n : 0);
  };

  const respond = async (s: Socket<Conn>, res: Response, head: boolean, close: boolean): Promise<void> => {
    const body = head ? null : Buffer.from(await res.arrayBuffer());
    const length = body !== null ? body.length : Number(res.headers.get("content-length") ?? (await res.arrayBuffer()).byteLength);
    let text = `HTTP/1.1 ${res.status} ${reasonOf(res.status)}\r\n`;
    res.headers.forEach((v, k) => {
      if (k !== "content-length" && k !== "connection" && k !== "transfer-encoding" && k !== "date") text += `${k}: ${v}\r\n`;
    });
    text += `date: ${new Date().toUTCString()}\r\ncontent-length: ${length}\r\n${close ? "connection: close\r\n" : ""}\r\n`;
    write(s, body === null ? Buffer.from(text, "latin1") : Buffer.concat([Buffer.from(text, "latin1"), body]));
  };

  /** Start the request deadline while part of a request waits (not again for each byte of it), stop it when none does. */
  const watch = (s: Socket<Conn>): void => {
    const c = s.data;
    const waiting = c.buf !== null && !c.busy && !c.ending && !c.closed;
    if (!waiting) {
      if (c.deadline !== null) clearTimeout(c.deadline);
      c.deadline = null;
    } else if (c.deadline === null) {
      c.deadline = setTimeout(() => {
        c.deadline = null;
        if (c.buf !== null && !c.busy && !c.ending && !c.closed) refuse(s, 408);
      }, requestTimeoutMs);
    }
  };

  /** A local answer that ends the connection (a malformed, oversize or late request). */
  const refuse = (s: Socket<Conn>, status: number): void => {
    const c = s.data;
    c.buf = null;
    c.ending = true;
    respond(s, new Response(`${status === 408 ? "request header timeout" : reasonOf(status).toLowerCase()}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } }), false, true)
      .catch(() => s.terminate())
      .finally(() => finish(s));
  };

  /** After an answer: close when asked, else go on with the pipeline. */
  const finish = (s: Socket<Conn>): void => {
    const c = s.data;
    c.busy = false;
    if (c.closed) return;
    if (c.ending) {
      if (c.out === null) s.end();
      return;
    }
    if (c.out === null) next(s);
    watch(s);
  };

  /** Answer the requests waiting in the buffer, one at a time. */
  const next = (s: Socket<Conn>): void => {
    const c = s.data;
    while (!c.busy && !c.ending && !c.closed && c.buf !== null) {
      const buf = c.buf;
      let off = 0;
      while (off + 1 < buf.length && buf[off] === 13 && buf[off + 1] === 10) off += 2; // empty lines between requests
      const at = buf.indexOf(CRLFCRLF, off);
      if (at < 0) {
        if (buf.length - off > MAX_HEAD) return refuse(s, 431);
        c.buf = off >= buf.length ? null : buf.subarray(off);
        return;
      }
      if (at - off > MAX_HEAD) return refuse(s, 431);
      const h = parseHead(buf.toString("latin1", off, at));
      if (h === null) return refuse(s, 400);
      if (h.length > MAX_BODY) return refuse(s, 413);
      const end = at + 4 + h.length;
      if (end > buf.length) {
        c.buf = buf.subarray(off); // the rest of its body is coming
        return;
      }
      c.buf = end < buf.length ? buf.subarray(end) : null;
      if (h.close) c.ending = true;
      c.busy = true;
      const path = pathOfTarget(h.target);
      let answer: Promise<Response> | Response;
      if (path === null) answer = new Response("bad request\n", { status: 400, headers: { "content-type": "text/plain; charset=utf-8" } });
      else if (h.method !== "GET" && h.method !== "HEAD") answer = new Response("method not allowed\n", { status: 405, headers: { "content-type": "text/plain; charset=utf-8" } });
      else {
        try {
          answer = handle(new Request("http://localhost" + path, { method: h.method }));
        } catch {
          answer = new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
        }
      }
      Promise.resolve(answer)
        .catch(() => new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } }))
        .then((res) => respond(s, res, h.method === "HEAD", c.ending))
        .catch(() => s.terminate())
        .finally(() => finish(s));
    }
  };

  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname,
    port,
    socket: {
      open(s) {
        s.data = { buf: null, busy: false, ending: false, closed: false, out: null, deadline: null };
        s.timeout(idleTimeoutS);
      },
      data(s, d) {
        const c = s.data;
        if (c.ending) return; // no more requests are read
        c.buf = c.buf === null ? d : Buffer.concat([c.buf, d]);
        if (c.buf.length > MAX_PENDING) return void s.terminate();
        try {
          if (!c.busy) next(s);
          watch(s);
        } catch {
          s.terminate();
        }
      },
      drain(s) {
        const c = s.data;
        const b = c.out;
        if (b === null) return;
        const n = s.write(b);
        c.out = n < b.length ? b.subarray(n > 0 ? n : 0) : null;
        if (c.out === null && !c.busy) finish(s);
      },
      timeout(s) {
        s.end();
      },
      close(s) {
        s.data.closed = true;
        watch(s);
      },
      error() {},
    },
  });
  return {
    get port() {
      return listener.port;
    },
    stop(closeActive = false) {
      listener.stop(closeActive);
    },
  };
}

// HTTP/2 from clients: h2 chosen by ALPN on a TLS port, or h2c with prior
// knowledge on a plain port (the connection's first bytes are the preface).
// Each stream is the client side of one exchange (h2-stream.ts: the same
// routing, forwarding, logging and limits as HTTP/1.1). Two codecs run the
// connection: gangway's own (h2/conn.ts, the default) and node:http2
// (h2-node.ts), chosen once per worker by GANGWAY_H2=node so the two can be
// compared; both give the Downstream the same H2Conn.
import type { H2Conn } from "./h2-conn.ts";
import type { H2Parent } from "./h2-stream.ts";
import { NodeH2Conn } from "./h2-node.ts";
import { OwnH2Conn } from "./h2/conn.ts";

/** What a request line looks like to an HTTP/1.1 parser when a client starts HTTP/2 ("PRI * HTTP/2.0" + empty head). */
const PREFACE_HEAD = Buffer.from("PRI * HTTP/2.0\r\n\r\n", "latin1");

/** Does `buf` at `off` start with the HTTP/2 connection preface's head? */
export function startsWithPreface(buf: Uint8Array, off: number): boolean {
  if (buf.length - off < PREFACE_HEAD.length) return false;
  for (let i = 0; i < PREFACE_HEAD.length; i++) if (buf[off + i] !== PREFACE_HEAD[i]) return false;
  return true;
}

/** GANGWAY_H2=node: node:http2 instead of gangway's own codec (read once, when the worker starts). */
const useNode = process.env.GANGWAY_H2 === "node";

export function makeH2Conn(parent: H2Parent): H2Conn {
  return useNode ? new NodeH2Conn(parent) : new OwnH2Conn(parent);
}

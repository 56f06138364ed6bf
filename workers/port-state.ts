// One bound port of this worker and the client connections on it: the
// listener and generation new requests on the port are decided in. Below the
// protocol handlers (http, tls, tcp), which only know it by this type.
import type { TCPSocketListener } from "bun";
import type { Listener } from "../src/snapshot/types.ts";
import type { Generation } from "./http/clusters.ts";

/** What the port's bookkeeping (stop, sweep, drain) needs of a client connection. */
export interface PortConnection {
  /** No exchange (or HTTP/2 stream) in flight. */
  readonly idle: boolean;
  /** end() was called. */
  readonly ending: boolean;
  /** Coarse clock of the last activity. */
  readonly lastActive: number;
  /** An upgraded (WebSocket) tunnel is running. */
  readonly tunnelled: boolean;
  /** Close after what is queued has been written. */
  end(): void;
  /** Close now. */
  abort(): void;
  /** HTTP/2: tell the client at once that no new stream is taken (GOAWAY) while those in flight finish. */
  goaway?(): void;
  /** ConnList's links (owned by the list the connection is in; null when in none). */
  prevConn: PortConnection | null;
  nextConn: PortConnection | null;
}

/**
 * The client connections of one port: a doubly linked list through the
 * connections themselves (two fields each), not a Set (a Set entry costs
 * ~50 bytes of table per idle connection). Iteration reads the next link
 * before handing out a connection, so the connection handed out may leave the
 * list (close) while the loop runs; another one leaving then ends the loop
 * early (sweeps: checked on the next one). Connections added during a loop are
 * not visited (they go first).
 */
export class ConnList implements Iterable<PortConnection> {
  private first: PortConnection | null = null;
  size = 0;

  has(c: PortConnection): boolean {
    return c.prevConn !== null || this.first === c;
  }

  add(c: PortConnection): void {
    if (this.has(c)) return;
    const f = this.first;
    c.prevConn = null;
    c.nextConn = f;
    if (f !== null) f.prevConn = c;
    this.first = c;
    this.size++;
  }

  /** Take `c` out (nothing when it is not in the list). */
  delete(c: PortConnection): void {
    if (!this.has(c)) return;
    const p = c.prevConn;
    const n = c.nextConn;
    if (p === null) this.first = n;
    else p.nextConn = n;
    if (n !== null) n.prevConn = p;
    c.prevConn = null;
    c.nextConn = null;
    this.size--;
  }

  [Symbol.iterator](): Iterator<PortConnection> {
    let c = this.first;
    return {
      next(): IteratorResult<PortConnection> {
        if (c === null) return { done: true, value: undefined };
        const value = c;
        c = c.nextConn;
        return { done: false, value };
      },
    };
  }
}

export class PortState {
  readonly conns = new ConnList();
  server: TCPSocketListener<any> | null = null;
  /** Stopped accepting: connections close after their current exchange. */
  draining = false;

  constructor(
    readonly key: string,
    /** The port's listener in `gen` (updated together on every apply while the port stays). */
    public listener: Listener,
    /** The generation new requests on this port are decided in; a stopped port keeps its last one. */
    public gen: Generation,
    /** Plain-text HTTP, TLS (ClientHello peek, then termination or passthrough), or plain TCP routes. */
    readonly kind: "http" | "tls" | "tcp" = "http",
    /** A client's FIN is passed on alone (the port splices connections); else it closes the connection. */
    readonly halfOpen = false,
  ) {}

  /** Stop accepting; close idle connections now, busy ones after their exchange (HTTP/2: GOAWAY now, as Envoy's drain). */
  stop(): void {
    this.draining = true;
    if (this.server !== null) {
      this.server.stop(false);
      this.server = null;
    }
    for (const d of this.conns) {
      if (d.idle) d.end();
      else if (d.goaway !== undefined) d.goaway();
    }
  }
}

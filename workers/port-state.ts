// One bound port of this worker and the client connections on it: the
// listener and generation new requests on the port are decided in. Below the
// protocol handlers (http, tls, tcp), which only know it by this type.
import type { TCPSocketListener } from "bun";
import type { Listener } from "../src/snapshot/types.ts";
import type { Generation } from "./http/clusters.ts";
import { ConnList, type Links } from "./conn-list.ts";

export { ConnList };

/** What the port's bookkeeping (stop, sweep, drain) needs of a client connection. */
export interface PortConnection extends Links<PortConnection> {
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
}

export class PortState {
  readonly conns = new ConnList<PortConnection>();
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

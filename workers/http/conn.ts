// What an exchange needs of the client connection it runs on (a Downstream:
// a socket, or one HTTP/2 stream of one). Types only: exchange.ts and
// response.ts depend on these, not on downstream.ts, which sits above them.
import type { TlsFactsCache, TlsSocketFacts } from "../tls/log-facts.ts";
import type { ProxyVersion } from "../proxy-header-out.ts";
import type { ConnFacts } from "../../src/dispatch/decision.ts";
import type { FilterChain, HeaderOperations } from "../../src/snapshot/types.ts";
import type { PortState } from "../port-state.ts";
import type { IncomingHttpHeaders } from "node:http2";
import type { ChunkedScanner } from "./chunked.ts";
import type { ResponseHead } from "./parse-response.ts";

/**
 * A connection whose TLS gangway terminated: the chain it handshook with
 * (its certificate and client identity). Requests are routed by `sni` in the
 * newest generation (dispatch), not by this chain's route table.
 */
export interface DownstreamTls {
  chain: FilterChain;
  sni: string;
  /** x-forwarded-client-cert value of a verified client certificate, or "". */
  xfcc: string;
  verified: boolean;
  /** Over the node:tls bridge (bridge.ts: writes are kept, not copied by it); false: Bun's own TLS socket (native.ts), written like a plain one. */
  bridged: boolean;
  /**
   * The protocol ALPN agreed in the handshake ("h2", "http/1.1"; "": none, set once the
   * handshake is done): it decides HTTP/2 or HTTP/1.1, as Envoy's codec choice does; only a
   * connection that agreed none is told by its first bytes (the HTTP/2 preface or not).
   */
  alpn: string;
  /** The TLS socket, read by the access log only when a line names a TLS field (workers/tls/log-facts.ts). */
  socket: TlsSocketFacts | null;
  /** What the access log read of it, kept for the connection's later lines. */
  facts: TlsFactsCache | null;
}

/** Takes the client's bytes once an upgrade (WebSocket) tunnel is up. */
export interface TunnelUser {
  tunnelUp(data: Buffer): void;
}

/** The client side of an exchange. */
export interface ExchangeConn extends ConnFacts {
  readonly port: PortState;
  readonly tls: DownstreamTls | null;
  /** One HTTP/2 stream of a connection. */
  readonly h2Stream: boolean;
  /** The client: the socket's peer, or the source of its PROXY protocol header. */
  readonly remoteIp: string;
  /** The socket's peer, always (Envoy's direct remote address). */
  readonly peerIp: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** The address the client reached: a PROXY header's destination, else localAddress (DestinationRule proxyProtocol repeats it upstream). */
  readonly destinationAddress: string;
  /**
   * The PROXY protocol header naming this client connection (remoteAddress →
   * destinationAddress) for a DestinationRule proxyProtocol `version`: built once
   * per connection, the same Buffer for each of its requests.
   */
  proxyHeader(version: ProxyVersion): Buffer;
  /** The client is not taking our writes. */
  readonly congested: boolean;
  /** Request bytes read from the client and not yet handed to the exchange (HTTP/1.1; 0 on an HTTP/2 stream). */
  readonly unread: number;
  /** Coarse time the connection was asked to close (--max-connection-duration), else 0: responses say `connection: close`. */
  readonly drainStart: number;
  write(b: Uint8Array): boolean;
  /**
   * HTTP/1.1 connections: write b[from, from + n) of a buffer the caller reuses (what the
   * socket does not take at once is copied; over the node:tls bridge all of it). Same result as write().
   */
  writeCopy?(b: Buffer, from: number, n: number): boolean;
  /**
   * HTTP/2 streams (h2-stream.ts): a proxied response's head goes out as
   * fields, not HTTP/1.1 text; its body then comes through write() as data
   * spans, a chunked one decoded (`trailers`: its scanner, keeping them).
   */
  respondFields?(r: ResponseHead, b: Buffer, ops: HeaderOperations, server: string, serviceTimeMs: number, trailers: ChunkedScanner | null): void;
  /**
   * HTTP/2 streams, for an HTTP/2 upstream's response (h2-response.ts
   * h2ResponseFields): its fields as the upstream sent them, `length` the
   * content-length to keep ("" none), `trailing` whether trailers may follow
   * (respondTrailers, before the exchange is done).
   */
  respondH2?(h: IncomingHttpHeaders, length: string, trailing: boolean, ops: HeaderOperations, server: string, serviceTimeMs: number): void;
  respondTrailers?(t: IncomingHttpHeaders): void;
  pause(): void;
  resume(): void;
  abort(): void;
  /** Mark activity (idle timeouts). */
  touch(): void;
  /** Splice from now on: client bytes go to `user`. */
  startTunnel(user: TunnelUser): void;
  /** The exchange is over; `close` ends the connection. */
  exchangeDone(ex: object, close: boolean): void;
}

// TLS termination over a connection whose first bytes (the ClientHello) were
// already read to choose the filter chain: the raw Bun socket becomes a node
// Duplex (`RawDuplex`), a node:tls TLSSocket runs the handshake over it with the
// chain's SecureContext, and `TlsConn` presents the decrypted side with the
// small socket surface the HTTP downstream uses (write returns bytes taken,
// pause/resume, end/terminate, addresses). Measured: as fast as Bun.serve TLS.
import type { Socket } from "bun";
import { Duplex } from "node:stream";
import { TLSSocket, type SecureContext } from "node:tls";

/** Writes the raw socket would not take yet, in order. */
interface Pending {
  chunk: Uint8Array;
  cb: (err?: Error | null) => void;
}

/** A node Duplex over a Bun socket: what TLSSocket reads from and writes to. */
export class RawDuplex extends Duplex {
  private pending: Pending[] = [];
  private rawPaused = false;
  private rawClosed = false;

  constructor(readonly raw: Socket<any>) {
    super({ allowHalfOpen: false });
  }

  /** Bytes from the network (the peeked hello first). */
  feed(chunk: Uint8Array): void {
    if (!this.push(chunk) && !this.rawPaused && !this.rawClosed) {
      this.rawPaused = true;
      this.raw.pause();
    }
  }

  /** The raw socket closed (or reached EOF). */
  rawEnded(): void {
    if (this.rawClosed) return;
    this.rawClosed = true;
    this.push(null);
    for (const p of this.pending) p.cb(new Error("socket closed"));
    this.pending = [];
  }

  override _read(): void {
    if (this.rawPaused && !this.rawClosed) {
      this.rawPaused = false;
      this.raw.resume();
    }
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.rawClosed) return cb(new Error("socket closed"));
    if (this.pending.length > 0) {
      this.pending.push({ chunk, cb });
      return;
    }
    const n = this.raw.write(chunk);
    if (n === chunk.length) return cb();
    this.pending.push({ chunk: n > 0 ? chunk.subarray(n) : chunk, cb });
  }

  /** The raw socket can take more. */
  flush(): void {
    while (this.pending.length > 0) {
      const p = this.pending[0]!;
      const n = this.raw.write(p.chunk);
      if (n < p.chunk.length) {
        if (n > 0) p.chunk = p.chunk.subarray(n);
        return;
      }
      this.pending.shift();
      p.cb();
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.rawClosed) this.raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.rawClosed) this.raw.terminate();
    cb(err);
  }
}

export interface TlsOptions {
  secureContext: SecureContext;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  ALPNProtocols?: string[];
}

/** Writes queued in the TLS layer above which `write` reports backpressure. */
const HIGH_WATER = 256 * 1024;

/**
 * The decrypted side of a terminated connection, shaped like the part of a
 * Bun socket the HTTP downstream uses.
 */
export class TlsConn<T = unknown> {
  readonly tls: TLSSocket;
  readonly duplex: RawDuplex;
  data!: T;
  // The addresses are read from the raw socket when first asked (each read is a
  // getpeername/getsockname: Bun does not cache them), then kept.
  private rAddr: string | null = null;
  private rPort = -1;
  private lAddr: string | null = null;
  private lPort = -1;

  constructor(raw: Socket<any>, opts: TlsOptions) {
    this.duplex = new RawDuplex(raw);
    this.tls = new TLSSocket(this.duplex as unknown as import("node:net").Socket, {
      isServer: true,
      secureContext: opts.secureContext,
      requestCert: opts.requestCert,
      rejectUnauthorized: opts.rejectUnauthorized,
      ALPNProtocols: opts.ALPNProtocols,
    });
  }

  /** A write went out in this tick (reset by a microtask). */
  private wrote = false;
  private corked = false;
  private readonly tickEnd = (): void => {
    this.wrote = false;
    if (this.corked) {
      this.corked = false;
      this.tls.uncork();
    }
  };

  /**
   * Bytes accepted (all or nothing): 0 while the TLS layer is backed up. The
   * first write of a tick goes straight to the TLS layer (a response is most
   * often one write: head and small body joined); the writes after it in the
   * same tick are corked into one TLS record. Corking every write cost a
   * buffered-write entry and a deferred flush per response.
   */
  write(b: Uint8Array): number {
    const t = this.tls;
    if (t.destroyed) return b.length; // dropped, as a closed Bun socket would
    if (t.writableLength > HIGH_WATER) return 0;
    if (!this.wrote) {
      this.wrote = true;
      queueMicrotask(this.tickEnd);
    } else if (!this.corked) {
      this.corked = true;
      t.cork();
    }
    t.write(b);
    return b.length;
  }

  pause(): void {
    this.tls.pause();
  }

  resume(): void {
    this.tls.resume();
  }

  end(): void {
    this.tls.end();
  }

  terminate(): void {
    this.tls.destroy();
  }

  setNoDelay(on: boolean): void {
    (this.duplex.raw as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(on);
  }

  get remoteAddress(): string {
    return (this.rAddr ??= this.duplex.raw.remoteAddress ?? "");
  }

  get remotePort(): number {
    if (this.rPort < 0) this.rPort = (this.duplex.raw as { remotePort?: number }).remotePort ?? 0;
    return this.rPort;
  }

  get localAddress(): string {
    return (this.lAddr ??= (this.duplex.raw as { localAddress?: string }).localAddress ?? "");
  }

  get localPort(): number {
    if (this.lPort < 0) this.lPort = (this.duplex.raw as { localPort?: number }).localPort ?? 0;
    return this.lPort;
  }

  get alpnProtocol(): string {
    const p = this.tls.alpnProtocol;
    return typeof p === "string" ? p : "";
  }
}

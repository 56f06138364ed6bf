// The two ends of a TCP session as it sees them: the client side (a raw Bun
// socket, or the decrypted side of TLS terminated here), and the queue of
// bytes one side has not taken yet.
import type { Socket } from "bun";

/** The client end: a Bun socket (RawClient) or the decrypted side of a terminated TLS connection. */
export interface ClientSide {
  /** Bytes taken (fewer than given, 0 or -1 when it cannot take more now). */
  write(b: Uint8Array): number;
  pause(): void;
  resume(): void;
  /** Send FIN after what was taken, keep reading. */
  shutdown(): void;
  /** Close both directions after what was taken (FIN, or close_notify then FIN). */
  close(): void;
  /** close(), once the client's FIN was read (nothing of it is left unread). */
  closeAfterFin(): void;
  /** Close now (RST). */
  terminate(): void;
}

/** What a queue is written to: a Bun socket or a ClientSide (bytes taken, fewer when it cannot take more now). */
export interface Writer {
  write(b: Uint8Array): number;
}

/**
 * Chunks a side did not take yet, in order. Most queues hold at most one chunk
 * (the peeked ClientHello while connecting; a write not taken whole), so the
 * first one has its own field and an array is made only for a second one.
 */
export class Pending {
  /** The oldest chunk (null: the queue is empty). */
  private first: Uint8Array | null = null;
  /** Chunks after `first`, from `head` on. */
  private rest: Uint8Array[] | null = null;
  private head = 0;
  bytes = 0;

  push(b: Uint8Array): void {
    if (this.first === null) this.first = b;
    else (this.rest ??= []).push(b);
    this.bytes += b.length;
  }

  /** Write what waits to `w`; true when nothing is left. */
  flush(w: Writer): boolean {
    let b = this.first;
    while (b !== null) {
      const n = w.write(b);
      if (n > 0) this.bytes -= n;
      if (n < b.length) {
        if (n > 0) this.first = b.subarray(n);
        return false;
      }
      b = this.first = this.next();
    }
    this.bytes = 0;
    return true;
  }

  /** The chunk after `first` (taken out of `rest`), or null. */
  private next(): Uint8Array | null {
    const r = this.rest;
    if (r === null) return null;
    if (this.head < r.length) return r[this.head++]!;
    r.length = 0;
    this.head = 0;
    return null;
  }

  clear(): void {
    this.first = null;
    if (this.rest !== null) this.rest.length = 0;
    this.head = 0;
    this.bytes = 0;
  }
}

/** A Bun socket as the client side of a session. */
export class RawClient implements ClientSide {
  constructor(readonly s: Socket<any>) {}
  write(b: Uint8Array): number {
    return this.s.write(b);
  }
  pause(): void {
    this.s.pause();
  }
  resume(): void {
    this.s.resume();
  }
  shutdown(): void {
    this.s.shutdown();
  }
  close(): void {
    this.s.end();
  }
  /** The socket's own close (FIN: nothing unread after the client's FIN): end() would flush first, a setsockopt(TCP_CORK) for nothing (Bun never holds a raw socket's writes). */
  closeAfterFin(): void {
    this.s.close();
  }
  terminate(): void {
    this.s.terminate();
  }
}

/**
 * `ip:port` (IPv6 in brackets); "" when the address is unknown: Bun's `remoteAddress` and
 * `localAddress` are undefined once the peer has reset the connection (getpeername fails),
 * which a client that resets right after its ClientHello makes happen before the access log
 * reads them.
 */
export function hostPort(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined || ip === "") return "";
  return ip.includes(":") ? `[${ip}]:${port ?? 0}` : `${ip}:${port ?? 0}`;
}

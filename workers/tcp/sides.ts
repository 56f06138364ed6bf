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
  /** Close now (RST). */
  terminate(): void;
}

/** Chunks a side did not take yet, in order. */
export class Pending {
  private q: Uint8Array[] = [];
  private head = 0;
  bytes = 0;

  push(b: Uint8Array): void {
    this.q.push(b);
    this.bytes += b.length;
  }

  /** Write what waits; true when nothing is left. */
  flush(write: (b: Uint8Array) => number): boolean {
    const q = this.q;
    while (this.head < q.length) {
      const b = q[this.head]!;
      const n = write(b);
      if (n > 0) this.bytes -= n;
      if (n < b.length) {
        if (n > 0) q[this.head] = b.subarray(n);
        return false;
      }
      this.head++;
    }
    q.length = 0;
    this.head = 0;
    this.bytes = 0;
    return true;
  }

  clear(): void {
    this.q.length = 0;
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
  terminate(): void {
    this.s.terminate();
  }
}

/** `ip:port` (IPv6 in brackets). */
export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

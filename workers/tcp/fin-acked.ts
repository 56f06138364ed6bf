// Whether a TCP socket's peer has acknowledged everything sent on it, our FIN
// included: its state is FIN_WAIT2 (getsockopt TCP_INFO, Linux). A TCP session
// whose other side is gone for good closes such a socket at once: nothing sent
// can be lost any more (the peer's kernel holds it; the reset that closing a
// socket with unread bytes sends does not take back what was acknowledged:
// measured, the peer still reads it all, then its end). Bun has no API for the
// socket state, so libc's getsockopt is called through bun:ffi (one syscall,
// no allocation). Elsewhere, or when it cannot be loaded: false, and the
// session waits for the peer's close (or CLOSING_MS) as before.
import { dlopen } from "bun:ffi";

const SOL_TCP = 6;
const TCP_INFO = 11;
/** tcpi_state of a socket whose FIN went out and was acknowledged, the peer's not yet come. */
const TCP_FIN_WAIT2 = 5;

type GetSockOpt = (fd: number, level: number, name: number, value: Uint8Array, len: Uint32Array) => number;

let getsockopt: GetSockOpt | null | undefined;
/** struct tcp_info's first bytes (tcpi_state is byte 0): the kernel copies no more than asked. */
const info = new Uint8Array(8);
const len = new Uint32Array(1);

function load(): GetSockOpt | null {
  if (process.platform !== "linux" || process.env.GANGWAY_FIN_ACKED === "off") return null;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      const lib = dlopen(name, { getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" } });
      return lib.symbols.getsockopt as unknown as GetSockOpt;
    } catch {
      // next name (musl has no libc.so.6)
    }
  }
  return null;
}

/** fd's FIN is acknowledged and so is every byte before it; false when not, or not known. */
export function finAcked(fd: number): boolean {
  if (!(fd >= 0)) return false;
  if (getsockopt === undefined) getsockopt = load();
  if (getsockopt === null) return false;
  len[0] = info.length;
  if (getsockopt(fd, SOL_TCP, TCP_INFO, info, len) !== 0) return false;
  return info[0] === TCP_FIN_WAIT2;
}

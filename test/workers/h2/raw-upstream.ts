// A raw-frame HTTP/2 upstream for the client codec's tests: it sends a
// SETTINGS on connect (empty, or the payload given), skips the client preface, and hands each request's
// HEADERS (the stream id and the header block payload) to `onRequest`, which
// writes whatever frames the test needs; every frame also goes to `hooks.onFrame`
// (else it is dropped), and `hooks.onClose` hears of each connection's end.
import type { Socket, TCPSocketListener } from "bun";
import { frame, SETTINGS } from "../edge/h2-raw.ts";

const HEADERS = 1;

export interface RawUpstreamState {
  buf: Buffer;
  pre: boolean;
}

export function rawH2Upstream(
  onRequest: (sock: Socket<RawUpstreamState>, id: number, payload: Buffer) => void,
  onOpen: () => void = () => {},
  settings: Uint8Array = new Uint8Array(0),
  hooks: { onFrame?: (type: number, id: number, payload: Buffer) => void; onClose?: () => void } = {},
): TCPSocketListener<RawUpstreamState> {
  return Bun.listen<RawUpstreamState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        onOpen();
        sock.data = { buf: Buffer.alloc(0), pre: false };
        sock.write(frame(SETTINGS, 0, 0, settings));
      },
      data(sock, d) {
        const st = sock.data;
        st.buf = Buffer.concat([st.buf, d]);
        if (!st.pre) {
          if (st.buf.length < 24) return;
          st.buf = st.buf.subarray(24);
          st.pre = true;
        }
        while (st.buf.length >= 9) {
          const len = st.buf.readUIntBE(0, 3);
          if (st.buf.length < 9 + len) break;
          const type = st.buf[3]!;
          const id = st.buf.readUInt32BE(5) & 0x7fffffff;
          const payload = st.buf.subarray(9, 9 + len);
          st.buf = st.buf.subarray(9 + len);
          hooks.onFrame?.(type, id, payload);
          if (type === HEADERS) onRequest(sock, id, payload);
        }
      },
      close() {
        hooks.onClose?.();
      },
    },
  });
}

/** 32-bit big-endian words (GOAWAY, WINDOW_UPDATE payloads). */
export function u32(...ns: number[]): Buffer {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32BE(n, 4 * i));
  return b;
}

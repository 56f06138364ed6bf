// Bun.listen socket handlers that put each connection under an H2Duplex (the
// bridge gangway's HTTP/2 downstream uses) and hand it to `open`: shared by
// the HTTP/2 ceiling benchmarks.
import type { Socket, SocketHandler } from "bun";
import { H2Duplex } from "../../workers/http/h2-duplex.ts";

export function h2DuplexSocket(open: (d: H2Duplex) => void): SocketHandler<H2Duplex> {
  return {
    open(s: Socket<H2Duplex>) {
      const d = new H2Duplex(s as never);
      s.data = d;
      open(d);
    },
    data(s, b) {
      s.data.feed(b);
    },
    drain(s) {
      s.data.flush();
    },
    close(s) {
      s.data?.rawEnded();
    },
  };
}

// An upstream that records each request line as received (Bun.serve would
// normalize the path before a test could see it) and answers 200 with the
// request-target as the body.
import type { TCPSocketListener } from "bun";

export interface RawUpstream {
  server: TCPSocketListener<undefined>;
  port: number;
  /** Request lines seen, in order ("GET /x HTTP/1.1"). */
  lines: string[];
}

export function startRawUpstream(): RawUpstream {
  const lines: string[] = [];
  let buf = "";
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, d) {
        buf += Buffer.from(d).toString("latin1");
        for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
          const line = buf.slice(0, buf.indexOf("\r\n"));
          buf = buf.slice(end + 4);
          lines.push(line);
          const target = line.split(" ")[1] ?? "";
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${target.length}\r\n\r\n${target}`);
        }
      },
    },
  });
  return { server, port: server.port, lines };
}

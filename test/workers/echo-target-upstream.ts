// An HTTP/1.1 upstream for the exchange-reuse tests: it answers each request
// with its target (`up:<target>`) and records every head it read, so a test
// can check that each request saw only its own head and answer. /retry/...
// fails once with 503; /chunked/... answers chunked with a trailer naming the
// target.
import type { TCPSocketListener } from "bun";

export interface Seen {
  head: string;
  target: string;
}

export function echoTargetUpstream(): { server: TCPSocketListener<{ buf: string }>; seen: Seen[] } {
  const seen: Seen[] = [];
  const failed = new Set<string>();
  const server: TCPSocketListener<{ buf: string }> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: "" };
      },
      data(s, d) {
        s.data.buf += d.toString("latin1");
        for (;;) {
          const end = s.data.buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = s.data.buf.slice(0, end + 4);
          s.data.buf = s.data.buf.slice(end + 4);
          const target = head.slice(0, head.indexOf("\r\n")).split(" ")[1]!;
          seen.push({ head, target });
          if (target.startsWith("/retry/") && !failed.has(target)) {
            failed.add(target);
            s.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nfail");
            continue;
          }
          const body = `up:${target}`;
          if (target.startsWith("/chunked/")) {
            const hex = body.length.toString(16);
            s.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${hex}\r\n${body}\r\n0\r\nx-trailer: t:${target}\r\n\r\n`);
            continue;
          }
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        }
      },
    },
  });
  return { server, seen };
}

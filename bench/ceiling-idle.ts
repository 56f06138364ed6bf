// The Bun floor for idle connections: a minimal Bun.listen server (plain, and TLS with Bun's
// own TLS when a certificate is given) that answers every request head with a fixed 200 and
// keeps the connection; bench/issue15-memory.sh measures its RSS per idle connection beside
// nginx's and gangway's. Serves until killed. Loopback only. SIGUSR2: one full GC (the script
// reads RSS after one, as it does for gangway).
// Usage: bun bench/ceiling-idle.ts PORT [TLS_PORT CERT_FILE KEY_FILE]
import type { Socket } from "bun";

const RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
const [port, tlsPort, cert, key] = process.argv.slice(2);

const socket = {
  open(s: Socket<{ n: number }>) {
    s.data = { n: 0 };
  },
  data(s: Socket<{ n: number }>, d: Buffer) {
    // one request head per read (the clients send one GET each): answer it
    if (d.includes("\r\n\r\n")) {
      s.data.n++;
      s.write(RESPONSE);
    }
  },
};

Bun.listen<{ n: number }>({ hostname: "127.0.0.1", port: Number(port), socket });
if (tlsPort !== undefined && cert !== undefined && key !== undefined)
  Bun.listen<{ n: number }>({ hostname: "127.0.0.1", port: Number(tlsPort), tls: { cert: Bun.file(cert), key: Bun.file(key) }, socket });
process.on("SIGUSR2", () => Bun.gc(true));
console.log("ready");

// A small upstream for worker tests (Bun.serve on 127.0.0.1:0): echo, status,
// delay, deterministic bodies (content-length or chunked), upload digest, WebSocket echo.
import type { Server } from "bun";
import { sha256 } from "./harness.ts";

/** Deterministic bytes: byte i is (i * 7 + 3) & 255. */
export function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 255;
  return b;
}

export function startBackend(name = "backend"): Server<undefined> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    development: false,
    async fetch(req, server) {
      const url = new URL(req.url);
      const p = url.pathname;
      if (p === "/ws") {
        if (server.upgrade(req)) return undefined;
        return new Response("no upgrade", { status: 400 });
      }
      if (p.startsWith("/status/")) return new Response(null, { status: Number(p.slice(8)), headers: { etag: '"x"' } });
      if (p.startsWith("/delay/")) {
        await Bun.sleep(Number(p.slice(7)));
        return new Response("late", { headers: { "x-backend": name } });
      }
      if (p.startsWith("/bytes/")) return new Response(pattern(Number(p.slice(7))), { headers: { "content-type": "application/octet-stream" } });
      if (p.startsWith("/stream/")) {
        const total = Number(p.slice(8));
        const all = pattern(total);
        let sent = 0;
        return new Response(
          new ReadableStream({
            pull(c) {
              if (sent >= total) return c.close();
              const n = Math.min(65536, total - sent);
              c.enqueue(all.subarray(sent, sent + n));
              sent += n;
            },
          }),
        );
      }
      if (p === "/upload") {
        const body = new Uint8Array(await req.arrayBuffer());
        return Response.json({ length: body.length, sha256: sha256(body), te: req.headers.get("transfer-encoding"), cl: req.headers.get("content-length") });
      }
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => (headers[k] = v));
      return Response.json(
        { backend: name, method: req.method, url: p + url.search, headers },
        { headers: { server: "backend-server", "x-backend": name, connection: "keep-alive" } },
      );
    },
    websocket: {
      message(ws, msg) {
        ws.send(msg);
      },
    },
  });
}

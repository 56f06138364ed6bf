// The HTTP/1.1 upstream of the raw-frame HTTP/2 tests (session, floods, slow
// clients): /bytes/N answers N bytes; /endless ENDLESS bytes (/endless/N: N), pulled only as
// the socket takes them (`produced()` counts what was handed over); /silent
// never answers; /slow answers after 300 ms; /echo sends the body back; any
// other path "ok".

export const ENDLESS = 24 * 1024 * 1024;

export interface TestUpstream {
  readonly port: number;
  /** Bytes of the last /endless response handed to the socket so far. */
  produced(): number;
  stop(): void;
}

export function h2TestUpstream(): TestUpstream {
  let produced = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x65);
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path.startsWith("/bytes/")) return new Response("b".repeat(Number(path.slice(7))));
      if (path === "/endless" || path.startsWith("/endless/")) {
        const size = path === "/endless" ? ENDLESS : Number(path.slice(9));
        produced = 0;
        const pull = (c: ReadableStreamDefaultController) => {
          if (produced >= size) return c.close();
          produced += chunk.length;
          c.enqueue(chunk);
        };
        return new Response(new ReadableStream({ pull }), { headers: { "content-length": String(size) } });
      }
      if (path === "/silent") return new Promise<Response>(() => {});
      if (path === "/slow") return Bun.sleep(300).then(() => new Response("slow"));
      if (path === "/echo") return new Response(await req.arrayBuffer());
      return new Response("ok");
    },
  });
  return { port: server.port!, produced: () => produced, stop: () => server.stop(true) };
}

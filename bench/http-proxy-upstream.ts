// Upstream for the HTTP proxy benchmark: a Bun.serve "hello" on 127.0.0.1:PORT.
const port = Number(process.argv[2] ?? 18080);
Bun.serve({
  hostname: "127.0.0.1",
  port,
  development: false,
  fetch: () => new Response("Hello, World!"),
});
console.log(`upstream on ${port}`);

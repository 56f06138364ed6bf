// The primary's JWKS fetch against a hostile loopback server: a body that
// never ends is abandoned at MAX_JWKS_BYTES (it was buffered until the
// timeout), a server that never answers times out, a redirect loop fails,
// garbage is not a JWKS. Each ends in an error: the issuer's last good keys
// (or none) keep serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { httpFetcher, JwksCache, MAX_JWKS_BYTES } from "../../src/security/jwks-cache.ts";

let srv: ReturnType<typeof Bun.serve>;
const chunk = new Uint8Array(64 * 1024).fill(97);

beforeAll(() => {
  srv = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/endless") {
        return new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }));
      }
      if (path === "/loop") return Response.redirect(`http://127.0.0.1:${srv.port}/loop`, 302);
      if (path === "/hang") return new Promise<Response>(() => {});
      if (path === "/garbage") return new Response("<html>login</html>");
      if (path === "/moved") return Response.redirect(`http://127.0.0.1:${srv.port}/ok`, 302);
      return new Response('{"keys":[]}');
    },
  });
});

afterAll(() => srv.stop(true));

const url = (p: string): string => `http://127.0.0.1:${srv.port}${p}`;

describe("httpFetcher against a hostile JWKS server", () => {
  test("a body without Content-Length that never ends is refused once past the limit, not buffered to the timeout", async () => {
    // "larger than", not a timeout: reading stopped at the limit (the old fetch buffered until the timeout)
    await expect(httpFetcher(url("/endless"), 30_000)).rejects.toThrow(`larger than ${MAX_JWKS_BYTES} bytes`);
  });

  test("a server that never answers times out; a redirect loop fails; a redirect to keys is followed", async () => {
    await expect(httpFetcher(url("/hang"), 200)).rejects.toThrow();
    await expect(httpFetcher(url("/loop"), 5000)).rejects.toThrow();
    expect(await httpFetcher(url("/moved"), 5000)).toBe('{"keys":[]}');
  });

  test("each failure leaves the provider without keys and says why", async () => {
    const cache = new JwksCache();
    for (const [path, why] of [["/garbage", "not JSON"], ["/hang", "timeout"], ["/endless", "larger than"]] as const) {
      const p = { jwksUri: url(path), timeoutMs: 300, jwks: "", jwksError: "" };
      await cache.fill({ providers: [p] } as never);
      expect([path, p.jwks, p.jwksError.includes(why)]).toEqual([path, "", true]);
    }
  });
});

// The reason phrase of a status line the gateway writes itself (a local reply: a direct
// response, a fault abort, 421 Misdirected Request on a TLS connection whose SNI another
// server owns): Envoy's phrase for every status Envoy names (CodeUtility::toString),
// "Unknown" for the others, as Envoy writes them. An upstream's own phrase is kept
// (response-head.test.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { raw, WorkerHarness } from "../harness.ts";
import { exact, freePort, listener, snapshot, uriMatch, virtualHost } from "../snapshot-fixture.ts";

const PHRASES: [number, string][] = [
  [203, "Non-Authoritative Information"],
  [207, "Multi-Status"],
  [300, "Multiple Choices"],
  [402, "Payment Required"],
  [406, "Not Acceptable"],
  [409, "Conflict"],
  [410, "Gone"],
  [412, "Precondition Failed"],
  [414, "URI Too Long"],
  [415, "Unsupported Media Type"],
  [421, "Misdirected Request"],
  [422, "Unprocessable Entity"],
  [429, "Too Many Requests"],
  [507, "Insufficient Storage"],
  [511, "Network Authentication Required"],
  [418, "Unknown"],
  [599, "Unknown"],
];

let w: WorkerHarness;
let port = 0;
beforeAll(async () => {
  w = new WorkerHarness();
  port = freePort();
  const routes = PHRASES.map(([status]) => ({ name: `s${status}`, match: [uriMatch(exact(`/${status}`))], action: { kind: "direct" as const, status, body: "x" } }));
  await w.apply(snapshot([listener(port, [virtualHost(["*"], routes)])], []));
});
afterAll(() => w.stop());

describe("local replies carry Envoy's reason phrase", () => {
  test.each(PHRASES)("%d %s", async (status, phrase) => {
    const r = await raw(port, `GET /${status} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, () => false, 3000);
    expect(r.text.slice(0, r.text.indexOf("\r\n"))).toBe(`HTTP/1.1 ${status} ${phrase}`);
  });
});

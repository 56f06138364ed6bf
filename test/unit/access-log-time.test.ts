// The access log's START_TIME text: isoTime keeps the text of the last second
// and must write what new Date(ms).toISOString() writes for every millisecond.
import { describe, expect, test } from "bun:test";
import { formatJson, formatText, isoTime, type AccessRecord } from "../../workers/access-log.ts";

describe("isoTime", () => {
  test("equals toISOString across second, minute, day and year boundaries, in and out of order", () => {
    const at = [Date.UTC(2026, 11, 6, 3, 10, 59, 990), Date.UTC(2026, 11, 31, 23, 59, 59, 995), Date.UTC(1999, 11, 31, 23, 59, 59, 998), 0, 999, 1000];
    const ms: number[] = [];
    for (const a of at) for (let i = -12; i <= 12; i++) ms.push(a + i);
    // the same second again after another one, and seconds taking turns (the kept text must follow the second)
    ms.push(at[0]!, at[1]!, at[0]! + 5, at[0]! + 1005, at[0]! + 5, -1, -1000, -1001, 253402300799999, 253402300800000, 1.5, 1000.25);
    for (const m of ms) expect([m, isoTime(m)]).toEqual([m, new Date(m).toISOString()]);
  });

  test("an invalid time throws as toISOString does", () => {
    expect(() => isoTime(NaN)).toThrow(RangeError);
  });

  test("the text and JSON lines carry it", () => {
    const r = { startMs: Date.UTC(2026, 11, 6, 3, 10, 35, 7), method: "GET", logPath: "/", protocol: "HTTP/1.1", status: 200, flags: "-" } as unknown as AccessRecord;
    for (const k of ["details", "termination", "transportFailure", "xff", "userAgent", "requestId", "authority", "upstreamHost", "upstreamCluster", "upstreamLocal", "downstreamLocal", "downstreamRemote", "sni", "routeName"])
      (r as unknown as Record<string, unknown>)[k] = "";
    expect(formatText(r).startsWith("[2026-12-06T03:10:35.007Z] ")).toBe(true);
    expect(JSON.parse(formatJson(r)).start_time).toBe("2026-12-06T03:10:35.007Z");
  });
});

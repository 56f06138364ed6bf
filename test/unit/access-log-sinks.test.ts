// The workers' access log with a snapshot's sinks: several formats to one file
// keep their lines whole and in order, a filter drops lines, a path that cannot
// be opened drops only its sink, and no sinks turns logging off.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileCel } from "../../src/compile/access-log-cel.ts";
import { compileTextFormat } from "../../src/compile/access-log-format.ts";
import type { CelNode } from "../../src/snapshot/access-log.ts";
import { AccessLog, formatText, type AccessRecord } from "../../workers/access-log.ts";

const rec = (status: number): AccessRecord => ({
  startMs: 0, method: "GET", logPath: "/x", protocol: "HTTP/1.1", status, flags: "-", details: "via_upstream", termination: "", transportFailure: "",
  bytesReceived: 0, bytesSent: 1, durationMs: 1, upstreamServiceTime: 1, xff: "", userAgent: "", requestId: "", authority: "a", upstreamHost: "",
  upstreamCluster: "", upstreamLocal: "", downstreamLocal: "", downstreamRemote: "", sni: "", routeName: "",
});
const cel = (e: string) => (compileCel(e) as { node: CelNode }).node;
const read = (f: string) => readFileSync(f, "utf8").split("\n").filter((l) => l !== "");

describe("AccessLog.apply", () => {
  test("two sinks to one file, one filtered; a bad path drops only its sink; no sinks is off", () => {
    const dir = mkdtempSync(join(tmpdir(), "gangway-al-"));
    const file = join(dir, "a.log");
    const log = new AccessLog();
    log.configure("off", "text");
    expect(log.enabled).toBe(false);
    log.apply({
      source: "test",
      sinks: [
        { name: "code", path: file, format: compileTextFormat("code=%RESPONSE_CODE%").format, filter: null },
        { name: "errors", path: file, format: compileTextFormat("error=%RESPONSE_CODE%").format, filter: cel("response.code >= 500") },
        { name: "bad", path: join(dir, "missing", "b.log"), format: { kind: "text-default" }, filter: null },
      ],
    });
    expect(log.enabled).toBe(true);
    log.log(rec(200));
    log.log(rec(503));
    log.flush();
    expect(read(file)).toEqual(["code=200", "code=503", "error=503"]);
    log.apply({ source: "test", sinks: [] });
    expect(log.enabled).toBe(false);
    log.apply({ source: "test", sinks: [{ name: "d", path: file, format: { kind: "text-default" }, filter: null }] });
    log.log(rec(404));
    log.close();
    expect(read(file)).toEqual(["code=200", "code=503", "error=503", formatText(rec(404)).trimEnd()]);
  });
});

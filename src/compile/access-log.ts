// The snapshot's access-log configuration: which sinks (destination, format,
// filter) every request and TCP connection is logged to. Precedence, per setting:
//
// - destination: an explicit --access-log (off, stdout, a path) wins over all;
//   else the Telemetry providers that apply (src/compile/telemetry.ts), as istiod
//   uses them in place of the mesh config; else the mesh config's accessLogFile
//   (`""`: off, as in Istio); else gangway's default, stdout.
// - encoding of the mesh-config / default format: an explicit --log-format wins
//   over accessLogEncoding; else accessLogEncoding; else text. accessLogFormat is
//   read for that encoding. A provider with its own logFormat keeps it.
//
// accessLogFormat / accessLogEncoding without accessLogFile: istiod adds the
// mesh config's file access log only when accessLogFile is set
// (pilot/pkg/networking/core/accesslog.go, `if mesh.AccessLogFile != ""`), so
// Istio writes nothing. gangway's access log is on by default (--access-log
// stdout, INTERFACE.md: the contract wins), so its default stdout log takes
// that format, and an Info (GW0955) says how Istio differs; `accessLogFile: ""`
// (or --access-log off) is Istio's behaviour.
import { meshPlace, type MeshConfig } from "../decode/meshconfig.ts";
import { Codes } from "../model/codes.ts";
import type { AccessLogConfig, AccessLogSink, LogFormat } from "../snapshot/access-log.ts";
import { compileMeshFormat } from "./access-log-format.ts";
import type { AccessLogFlags, CompileContext } from "./context.ts";

/** What the Telemetry objects that apply say (src/compile/telemetry.ts): sinks (none: off) whose format null is the mesh config's. */
export interface TelemetryLogging {
  sinks: (Omit<AccessLogSink, "format"> & { format: LogFormat | null })[];
  source: string;
}

export type { AccessLogFlags };

/** The mesh config's format for the encoding in force (the flag's, else accessLogEncoding's, else text). */
function meshFormat(ctx: CompileContext, mesh: MeshConfig, flags: AccessLogFlags): LogFormat {
  const written = mesh.accessLog.encoding;
  const encoding = flags.formatExplicit ? (flags.format === "json" ? "JSON" : "TEXT") : (written ?? (flags.format === "json" ? "JSON" : "TEXT"));
  const text = mesh.accessLog.format ?? "";
  const c = compileMeshFormat(encoding, text);
  // the written encoding's problems were reported when the mesh config was decoded
  if (encoding !== (written ?? "TEXT") && text !== "") {
    for (const p of c.problems) {
      const msg = `accessLogFormat read as ${encoding} (--log-format ${flags.format}): ${p.message}${p.level === "Error" ? "; Istio's default format is used" : ""}`;
      ctx.findings.push({ code: Codes.AccessLogFormat, level: p.level, ...meshPlace(mesh, "accessLogFormat"), message: msg });
    }
    if (c.problems.some((p) => p.level === "Error")) return compileMeshFormat(encoding, "").format;
  }
  return c.format;
}

export function compileAccessLog(ctx: CompileContext, mesh: MeshConfig, flags: AccessLogFlags, telemetry: TelemetryLogging | null): AccessLogConfig {
  const fmt = meshFormat(ctx, mesh, flags);
  let sinks: AccessLogSink[];
  let source: string;
  if (telemetry !== null) {
    sinks = telemetry.sinks.map((s) => ({ ...s, format: s.format ?? fmt }));
    source = telemetry.source;
  } else if (mesh.accessLog.file !== null) {
    // "" is off: a destination, which an explicit --access-log replaces
    const path = mesh.accessLog.file === "" && flags.targetExplicit ? flags.target : mesh.accessLog.file;
    sinks = path === "" || path === "off" ? [] : [{ name: "meshConfig", path, format: fmt, filter: null }];
    source = "meshConfig accessLogFile";
  } else {
    sinks = flags.target === "off" ? [] : [{ name: "--access-log", path: flags.target, format: fmt, filter: null }];
    source = "--access-log";
    const set = [mesh.accessLog.format !== null && mesh.accessLog.format !== "" ? "accessLogFormat" : "", mesh.accessLog.encoding !== null ? "accessLogEncoding" : ""].filter((f) => f !== "");
    if (set.length > 0 && !flags.targetExplicit && sinks.length > 0) {
      ctx.findings.push({
        code: Codes.AccessLogFormatWithoutFile,
        level: "Info",
        ...meshPlace(mesh, set[0]!),
        message: `${set.join(" and ")} without accessLogFile: Istio writes no access log then; gangway's default log (--access-log ${flags.target}) uses ${set.length > 1 ? "them" : "it"} (accessLogFile: "" turns it off, as in Istio)`,
      });
    }
  }
  const replaced = source === "meshConfig accessLogFile" ? [mesh.accessLog.file!] : sinks.map((s) => s.path);
  if (flags.targetExplicit && source !== "--access-log" && replaced.some((p) => p !== flags.target)) {
    sinks = flags.target === "off" ? [] : sinks.map((s) => ({ ...s, path: flags.target }));
    const what = replaced[0] === "" ? "turns the access log off" : `writes to ${[...new Set(replaced)].join(", ")}`;
    ctx.findings.push({ code: Codes.AccessLogFlagWins, level: "Info", message: `${source} ${what}; the explicit --access-log ${flags.target} wins` });
    source = `--access-log (over ${source})`;
  }
  return { sinks, source };
}

// The access-log fields of a MeshConfig, as istiod reads them
// (pilot/pkg/model/telemetry_logging.go): accessLogFile (empty: no access log,
// `/dev/stdout`), accessLogEncoding TEXT/JSON, accessLogFormat (a text format,
// or for JSON a JSON object of keys → operators), defaultProviders.accessLogging,
// and extensionProviders[].envoyFileAccessLog (path, logFormat text / labels,
// omitEmptyValues) with istiod's built-in `envoy` provider (/dev/stdout, the mesh
// format). Formats are compiled here: an unknown operator is an Error (Envoy
// refuses the format), one gangway cannot produce a Warning (it writes `-`). Pure.
import { compileJsonFormat, compileMeshFormat, compileTextFormat, type FormatProblem } from "../compile/access-log-format.ts";
import { Codes } from "../model/codes.ts";
import type { LogFormat } from "../snapshot/access-log.ts";
import type { Finding } from "../snapshot/types.ts";
import { bool, isObj, obj, str, strList, type Obj, type Reader } from "./read.ts";

/** An extensionProviders entry that writes access-log lines to a file (envoyFileAccessLog). */
export interface FileLogProvider {
  name: string;
  /** `/dev/stdout` when not set. */
  path: string;
  /** null: the built-in `envoy` provider without logFormat, which takes the mesh config's encoding and format (as istiod). */
  format: LogFormat | null;
}

export interface MeshAccessLog {
  /** accessLogFile; null: not set. "" turns the access log off, as in Istio. */
  file: string | null;
  /** accessLogEncoding; null: not set (TEXT). */
  encoding: "TEXT" | "JSON" | null;
  /** accessLogFormat as written; "" or null: Istio's default for the encoding. */
  format: string | null;
  /** defaultProviders.accessLogging: providers logging where no Telemetry says otherwise. */
  defaultProviders: string[];
  /** envoyFileAccessLog providers, the built-in `envoy` first unless the mesh config defines its own. */
  fileProviders: FileLogProvider[];
  /** The other providers by name and kind (envoyHttpAls, envoyOtelAls, zipkin, ...): a Telemetry naming one writes nothing here. */
  otherProviders: Map<string, string>;
}

export const EMPTY_ACCESS_LOG: MeshAccessLog = {
  file: null,
  encoding: null,
  format: null,
  defaultProviders: [],
  fileProviders: [{ name: "envoy", path: "/dev/stdout", format: null }],
  otherProviders: new Map([["prometheus", "prometheus"], ["stackdriver", "stackdriver"]]),
};

/** envoyFileAccessLog fields gangway reads. */
export const FILE_LOG_READ = ["path", "logFormat", "omitEmptyValues"];

function report(r: Reader, warnings: Finding[], field: string, problems: FormatProblem[]): void {
  for (const p of problems) {
    if (p.level === "Error") r.fail(Codes.AccessLogFormat, field, p.message);
    else warnings.push({ code: Codes.AccessLogFormat, level: "Warning", file: r.file, field, message: p.message });
  }
}

function fileProvider(r: Reader, o: Obj, path: string, warnings: Finding[]): FileLogProvider {
  const name = typeof o.name === "string" ? o.name : "";
  const f = obj(r, o, "envoyFileAccessLog", path)!;
  const p = `${path}.envoyFileAccessLog`;
  const file = str(r, f, "path", p);
  const omitEmpty = bool(r, f, "omitEmptyValues", p);
  const lf = obj(r, f, "logFormat", p);
  let format: LogFormat | null = null;
  if (lf !== null) {
    const text = str(r, lf, "text", `${p}.logFormat`);
    const labels = lf.labels;
    if (labels !== undefined && labels !== null && !isObj(labels)) r.fail(Codes.WrongType, `${p}.logFormat.labels`, "must be an object of keys and values");
    if (text !== "" && isObj(labels)) r.fail(Codes.Conflict, `${p}.logFormat`, "only one of text and labels may be given");
    const c = isObj(labels) || (text === "" && labels !== undefined) ? compileJsonFormat(isObj(labels) ? labels : null, omitEmpty) : compileTextFormat(text, omitEmpty);
    report(r, warnings, `${p}.logFormat${isObj(labels) ? ".labels" : ".text"}`, c.problems);
    format = c.format;
  } else if (name !== "envoy" || omitEmpty) {
    format = compileTextFormat("", omitEmpty).format;
  }
  return { name, path: file === "" ? "/dev/stdout" : file, format };
}

/** The provider kind of an extensionProviders entry: its one key besides name. */
function kindOf(o: Obj): string {
  return Object.keys(o).filter((k) => k !== "name")[0] ?? "(none)";
}

/** Decode the access-log fields of `m`; format Errors go to `r`, Warnings to `warnings`. */
export function decodeMeshAccessLog(r: Reader, m: Obj, warnings: Finding[]): MeshAccessLog {
  const file = m.accessLogFile === undefined || m.accessLogFile === null ? null : str(r, m, "accessLogFile", "");
  let encoding: MeshAccessLog["encoding"] = null;
  if (m.accessLogEncoding !== undefined && m.accessLogEncoding !== null) {
    const e = m.accessLogEncoding;
    if (e === "TEXT" || e === 0) encoding = "TEXT";
    else if (e === "JSON" || e === 1) encoding = "JSON";
    else r.fail(Codes.InvalidValue, "accessLogEncoding", `expected TEXT or JSON, got ${JSON.stringify(e)}`);
  }
  const format = m.accessLogFormat === undefined || m.accessLogFormat === null ? null : str(r, m, "accessLogFormat", "");
  if (format !== null && format !== "") report(r, warnings, "accessLogFormat", compileMeshFormat(encoding ?? "TEXT", format).problems);
  const dp = obj(r, m, "defaultProviders", "");
  const defaultProviders = dp === null ? [] : strList(r, dp, "accessLogging", "defaultProviders");
  // istiod's defaults (envoy, prometheus, stackdriver), replaced by a provider of the same name
  const fileProviders = new Map<string, FileLogProvider>(EMPTY_ACCESS_LOG.fileProviders.map((p) => [p.name, p]));
  const otherProviders = new Map(EMPTY_ACCESS_LOG.otherProviders);
  if (Array.isArray(m.extensionProviders)) {
    m.extensionProviders.forEach((o, i) => {
      if (!isObj(o) || typeof o.name !== "string") return; // the ext_authz decoder reports it
      fileProviders.delete(o.name);
      otherProviders.delete(o.name);
      if (o.envoyFileAccessLog !== undefined && o.envoyFileAccessLog !== null) fileProviders.set(o.name, fileProvider(r, o, `extensionProviders[${i}]`, warnings));
      else otherProviders.set(o.name, kindOf(o));
    });
  }
  return { file, encoding, format, defaultProviders, fileProviders: [...fileProviders.values()], otherProviders };
}

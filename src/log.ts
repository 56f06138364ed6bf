// The gateway's own log lines (not the access log): text or JSON, to stderr.
export type LogLevel = "debug" | "info" | "warn" | "error";

let format: "text" | "json" = "text";
let debugEnabled = process.env.GANGWAY_DEBUG === "1";

export function setLogFormat(f: "text" | "json"): void {
  format = f;
}

export function setDebug(on: boolean): void {
  debugEnabled = on;
}

export function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  if (level === "debug" && !debugEnabled) return;
  const time = new Date().toISOString();
  let line: string;
  if (format === "json") {
    line = JSON.stringify({ time, level, msg: message, ...fields });
  } else {
    let extra = "";
    for (const k in fields) {
      const v = fields[k];
      extra += ` ${k}=${typeof v === "string" ? (/[\s"]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`;
    }
    // one line per call, whatever a configuration file put in a name or a value
    line = `${time}\t${level}\t${oneLine(message + extra)}`;
  }
  process.stderr.write(line + "\n");
}

const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with each control character (and the Unicode line and paragraph separators) as an escape: `\n`, `\u001b`. */
export function oneLine(text: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROL, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

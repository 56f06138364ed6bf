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
    line = `${time}\t${level}\t${message}${extra}`;
  }
  process.stderr.write(line + "\n");
}

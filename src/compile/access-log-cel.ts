// Telemetry accessLogging `filter.expression` (CEL, as Envoy's access-log CEL
// filter evaluates it) → a small expression tree the workers evaluate per line.
// The subset: literals (int, string, bool, null), the attributes in CEL_ATTRS,
// `request.headers['x']`, `'x' in request.headers`, `==` `!=` `<` `<=` `>` `>=`,
// `in [list]`, `&&` `||` `!`, unary `-`, `? :`, parentheses, and the string
// methods startsWith/endsWith/contains. Text that is not CEL is an Error; CEL
// outside the subset (another attribute or function, arithmetic, maps) is a
// Warning naming what: in both cases the filter is not applied. Pure.
import type { CelNode } from "../snapshot/access-log.ts";

/** Envoy attributes the workers have for a line (workers/access-log-filter.ts), and their type. */
export const CEL_ATTRS: Record<string, "string" | "int" | "uint" | "bool" | "duration" | "timestamp"> = {
  "request.time": "timestamp",
  "request.duration": "duration",
  "request.size": "int",
  "request.query": "string",
  "request.referer": "string",
  "response.flags": "uint",
  "response.grpc_status": "int",
  "response.size": "int",
  "response.backend_latency": "duration",
  "connection.tls_version": "string",
  "connection.subject_peer_certificate": "string",
  "connection.subject_local_certificate": "string",
  "connection.uri_san_peer_certificate": "string",
  "connection.uri_san_local_certificate": "string",
  "connection.dns_san_peer_certificate": "string",
  "connection.dns_san_local_certificate": "string",
  "connection.sha256_peer_certificate_digest": "string",
  "upstream.local_address": "string",
  "upstream.transport_failure_reason": "string",
  "request.method": "string",
  "request.path": "string",
  "request.url_path": "string",
  "request.host": "string",
  "request.scheme": "string",
  "request.protocol": "string",
  "request.id": "string",
  "request.useragent": "string",
  "response.code": "int",
  "response.code_details": "string",
  "connection.mtls": "bool",
  "connection.requested_server_name": "string",
  "connection.termination_details": "string",
  "source.address": "string",
  "source.port": "int",
  "destination.address": "string",
  "destination.port": "int",
  "upstream.address": "string",
  "upstream.port": "int",
  "xds.route_name": "string",
  "xds.cluster_name": "string",
};

export type CelResult = { node: CelNode } | { level: "Error" | "Warning"; message: string };

type Tok = { t: "num"; v: number } | { t: "str"; v: string } | { t: "id"; v: string } | { t: "op"; v: string } | { t: "end" };

class Unsupported extends Error {}
class Syntax extends Error {}

const OPS3 = ["&&", "||", "==", "!=", "<=", ">="];
const OPS1 = "!<>()[].,?:-+*/%{}";

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)u?/.exec(src.slice(i))!;
      if (m[2] !== undefined || m[3] !== undefined) throw new Unsupported(`the number ${m[0]} (only integers are compared)`);
      out.push({ t: "num", v: Number(m[1]) });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: "id", v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      if (src.startsWith(c.repeat(3), i)) throw new Unsupported("triple-quoted strings");
      let v = "";
      let j = i + 1;
      for (;;) {
        if (j >= src.length || src[j] === "\n") throw new Syntax(`unterminated string at position ${i}`);
        const d = src[j]!;
        if (d === c) break;
        if (d === "\\") {
          const e = src[j + 1];
          const map: Record<string, string> = { "\\": "\\", "'": "'", '"': '"', n: "\n", t: "\t", r: "\r" };
          if (e === undefined || map[e] === undefined) throw new Unsupported(`the escape \\${e ?? ""}`);
          v += map[e];
          j += 2;
          continue;
        }
        v += d;
        j++;
      }
      out.push({ t: "str", v });
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (OPS3.includes(two)) {
      out.push({ t: "op", v: two });
      i += 2;
      continue;
    }
    if (OPS1.includes(c)) {
      out.push({ t: "op", v: c });
      i++;
      continue;
    }
    throw new Syntax(`unexpected ${JSON.stringify(c)} at position ${i}`);
  }
  out.push({ t: "end" });
  return out;
}

/** The parse tree before attributes are resolved. */
type Raw =
  | { k: "lit"; v: string | number | boolean | null }
  | { k: "id"; name: string }
  | { k: "sel"; x: Raw; name: string }
  | { k: "idx"; x: Raw; i: Raw }
  | { k: "call"; fn: string; target: Raw | null; args: Raw[] }
  | { k: "un"; op: string; x: Raw }
  | { k: "bin"; op: string; a: Raw; b: Raw }
  | { k: "cond"; c: Raw; a: Raw; b: Raw }
  | { k: "list"; items: Raw[] };

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}
  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === "op" && t.v === v;
  }
  private eat(v: string): void {
    if (!this.isOp(v)) throw new Syntax(`expected ${JSON.stringify(v)}, got ${this.describe()}`);
    this.i++;
  }
  private describe(): string {
    const t = this.peek();
    return t.t === "end" ? "the end" : JSON.stringify(String(t.v));
  }
  parse(): Raw {
    const e = this.expr();
    if (this.peek().t !== "end") throw new Syntax(`unexpected ${this.describe()}`);
    return e;
  }
  private expr(): Raw {
    const c = this.or();
    if (!this.isOp("?")) return c;
    this.i++;
    const a = this.or();
    this.eat(":");
    return { k: "cond", c, a, b: this.expr() };
  }
  private or(): Raw {
    let a = this.and();
    while (this.isOp("||")) {
      this.i++;
      a = { k: "bin", op: "||", a, b: this.and() };
    }
    return a;
  }
  private and(): Raw {
    let a = this.rel();
    while (this.isOp("&&")) {
      this.i++;
      a = { k: "bin", op: "&&", a, b: this.rel() };
    }
    return a;
  }
  private rel(): Raw {
    let a = this.add();
    for (;;) {
      const t = this.peek();
      if (t.t === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.v)) {
        this.i++;
        a = { k: "bin", op: t.v, a, b: this.add() };
      } else if (t.t === "id" && t.v === "in") {
        this.i++;
        a = { k: "bin", op: "in", a, b: this.add() };
      } else return a;
    }
  }
  private add(): Raw {
    let a = this.unary();
    while (this.isOp("+") || this.isOp("-") || this.isOp("*") || this.isOp("/") || this.isOp("%")) {
      const op = (this.peek() as { v: string }).v;
      this.i++;
      a = { k: "bin", op, a, b: this.unary() };
    }
    return a;
  }
  private unary(): Raw {
    if (this.isOp("!") || this.isOp("-")) {
      const op = (this.peek() as { v: string }).v;
      this.i++;
      return { k: "un", op, x: this.unary() };
    }
    return this.member();
  }
  private args(): Raw[] {
    this.eat("(");
    const out: Raw[] = [];
    if (!this.isOp(")")) {
      out.push(this.expr());
      while (this.isOp(",")) {
        this.i++;
        out.push(this.expr());
      }
    }
    this.eat(")");
    return out;
  }
  private member(): Raw {
    let x = this.primary();
    for (;;) {
      if (this.isOp(".")) {
        this.i++;
        const t = this.peek();
        if (t.t !== "id") throw new Syntax(`expected a field name after ".", got ${this.describe()}`);
        this.i++;
        x = this.isOp("(") ? { k: "call", fn: t.v, target: x, args: this.args() } : { k: "sel", x, name: t.v };
      } else if (this.isOp("[")) {
        this.i++;
        const i = this.expr();
        this.eat("]");
        x = { k: "idx", x, i };
      } else return x;
    }
  }
  private primary(): Raw {
    const t = this.peek();
    if (t.t === "num" || t.t === "str") {
      this.i++;
      return { k: "lit", v: t.v };
    }
    if (t.t === "id") {
      this.i++;
      if (t.v === "true" || t.v === "false") return { k: "lit", v: t.v === "true" };
      if (t.v === "null") return { k: "lit", v: null };
      if (this.isOp("(")) return { k: "call", fn: t.v, target: null, args: this.args() };
      return { k: "id", name: t.v };
    }
    if (this.isOp("(")) {
      this.i++;
      const e = this.expr();
      this.eat(")");
      return e;
    }
    if (this.isOp("[")) {
      this.i++;
      const items: Raw[] = [];
      if (!this.isOp("]")) {
        items.push(this.expr());
        while (this.isOp(",")) {
          this.i++;
          if (this.isOp("]")) break;
          items.push(this.expr());
        }
      }
      this.eat("]");
      return { k: "list", items };
    }
    if (this.isOp("{")) throw new Unsupported("map literals");
    throw new Syntax(`unexpected ${this.describe()}`);
  }
}

/** `a.b.c` of a selection chain, or null. */
function dotted(r: Raw): string | null {
  if (r.k === "id") return r.name;
  if (r.k === "sel") {
    const x = dotted(r.x);
    return x === null ? null : `${x}.${r.name}`;
  }
  return null;
}

function resolve(r: Raw): CelNode {
  switch (r.k) {
    case "lit":
      return { k: "lit", v: r.v };
    case "id":
    case "sel": {
      const name = dotted(r);
      if (name === null) throw new Unsupported("a field of a computed value");
      if (name === "request.headers") throw new Unsupported("request.headers as a whole (index it: request.headers['x'])");
      if (CEL_ATTRS[name] === undefined) throw new Unsupported(`the attribute ${name}`);
      return { k: "attr", name };
    }
    case "idx": {
      const of = dotted(r.x);
      if (r.i.k === "lit" && typeof r.i.v === "string") {
        const name = r.i.v.toLowerCase();
        if (of === "request.headers") return { k: "header", name };
        if (of === "response.headers") return { k: "respHeader", name };
        if (of === "response.trailers") return { k: "trailer", name };
      }
      throw new Unsupported("an index other than request.headers['name'], response.headers['name'], response.trailers['name']");
    }
    case "call": {
      if (r.target === null && (r.fn === "duration" || r.fn === "timestamp") && r.args.length === 1) {
        const a = r.args[0]!;
        if (a.k !== "lit" || typeof a.v !== "string") throw new Unsupported(`${r.fn}() of anything but a string literal`);
        const ms = r.fn === "duration" ? parseDuration(a.v) : parseTimestamp(a.v);
        if (ms === null) throw new Syntax(`${r.fn}(${JSON.stringify(a.v)}): not a ${r.fn === "duration" ? "duration (such as '1.5s', '100ms', '1h30m')" : "RFC 3339 timestamp"}`);
        return { k: r.fn === "duration" ? "dur" : "time", ms };
      }
      if (r.target !== null && (r.fn === "startsWith" || r.fn === "endsWith" || r.fn === "contains") && r.args.length === 1) {
        return { k: "call", fn: r.fn, target: resolve(r.target), arg: resolve(r.args[0]!) };
      }
      throw new Unsupported(`the function ${r.fn}()`);
    }
    case "un":
      return r.op === "!" ? { k: "not", x: resolve(r.x) } : { k: "neg", x: resolve(r.x) };
    case "bin": {
      if (r.op === "&&" || r.op === "||") return { k: r.op === "&&" ? "and" : "or", a: resolve(r.a), b: resolve(r.b) };
      if (r.op === "in") {
        if (r.b.k === "list") return { k: "in", a: resolve(r.a), list: r.b.items.map(resolve) };
        if (dotted(r.b) === "request.headers" && r.a.k === "lit" && typeof r.a.v === "string") return { k: "hasHeader", name: r.a.v.toLowerCase() };
        throw new Unsupported("`in` other than a list literal or request.headers");
      }
      if (r.op === "==" || r.op === "!=" || r.op === "<" || r.op === "<=" || r.op === ">" || r.op === ">=") return { k: "cmp", op: r.op, a: resolve(r.a), b: resolve(r.b) };
      throw new Unsupported(`the operator ${r.op}`);
    }
    case "cond":
      return { k: "cond", c: resolve(r.c), a: resolve(r.a), b: resolve(r.b) };
    case "list":
      throw new Unsupported("a list outside `in`");
  }
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, "µs": 0.001, ns: 0.000001 };

/** A CEL duration string (Go's time.ParseDuration form: `1.5s`, `-100ms`, `1h30m`) in milliseconds, or null. */
export function parseDuration(text: string): number | null {
  const m = /^([-+]?)((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:h|ms|m|s|us|µs|ns))+$/.exec(text);
  if (m === null) {
    return text === "0" ? 0 : null;
  }
  let ms = 0;
  for (const part of text.replace(/^[-+]/, "").matchAll(/([0-9]*\.?[0-9]*)(h|ms|m|s|us|µs|ns)/g)) ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  return m[1] === "-" ? -ms : ms;
}

/** An RFC 3339 timestamp in milliseconds since the epoch, or null. */
export function parseTimestamp(text: string): number | null {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$/i.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/** Parse and resolve a filter expression. */
export function compileCel(expression: string): CelResult {
  try {
    return { node: resolve(new Parser(lex(expression)).parse()) };
  } catch (err) {
    if (err instanceof Unsupported) return { level: "Warning", message: `gangway cannot evaluate ${err.message}` };
    if (err instanceof Syntax) return { level: "Error", message: `not a CEL expression: ${err.message}` };
    throw err;
  }
}

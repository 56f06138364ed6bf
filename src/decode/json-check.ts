// Where a JSON text goes wrong. Bun's JSON.parse names no position ("JSON Parse
// error: Unable to parse JSON string"), and takes a duplicate key silently (the
// later one wins), where the YAML reader refuses one and `kubectl apply` (strict
// field validation) reports it. A small scanner over the text finds the first
// syntax error or duplicate key and its line and column. Pure.

export interface JsonProblem {
  message: string;
  line: number;
  column: number;
}

class Stop {
  constructor(
    readonly at: number,
    readonly message: string,
  ) {}
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;

/**
 * The first problem of `text` as JSON (a syntax error or a duplicate key in one
 * object), with its 1-based line and column; null when it is well-formed JSON
 * without duplicate keys. Nesting deeper than `maxDepth` is a problem too.
 */
export function jsonProblem(text: string, maxDepth = 1000): JsonProblem | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const str = (): string => {
    const start = i;
    i++; // the opening quote
    STRING_BODY.lastIndex = i;
    STRING_BODY.exec(text);
    i = STRING_BODY.lastIndex;
    if (text[i] !== '"') throw new Stop(i, i >= text.length ? "unterminated string" : "invalid character in a string");
    i++;
    return text.slice(start, i);
  };
  const value = (depth: number): void => {
    if (depth > maxDepth) throw new Stop(i, `nested deeper than ${maxDepth}`);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Stop(i, "expected a property name in double quotes");
        const at = i;
        const raw = str();
        const key = JSON.parse(raw) as string;
        if (keys.has(key)) throw new Stop(at, `duplicate key ${raw}`);
        keys.add(key);
        ws();
        if (text[i] !== ":") throw new Stop(i, "expected ':'");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") return void i++;
        throw new Stop(i, "expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") return void i++;
        throw new Stop(i, "expected ',' or ']'");
      }
    }
    if (c === '"') return void str();
    for (const lit of ["true", "false", "null"]) if (text.startsWith(lit, i)) return void (i += lit.length);
    NUMBER.lastIndex = i;
    if (NUMBER.exec(text) !== null) return void (i = NUMBER.lastIndex);
    throw new Stop(i, i >= text.length ? "unexpected end of the text" : `unexpected ${JSON.stringify(text.slice(i, i + 10))}`);
  };
  try {
    value(0);
    ws();
    if (i < text.length) throw new Stop(i, `unexpected ${JSON.stringify(text.slice(i, i + 10))} after the value`);
    return null;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    let line = 1;
    let lineStart = 0;
    for (let k = text.indexOf("\n"); k >= 0 && k < err.at; k = text.indexOf("\n", k + 1)) {
      line++;
      lineStart = k + 1;
    }
    return { message: err.message, line, column: err.at - lineStart + 1 };
  }
}

// What every config mutator (config-mutate*.ts) draws with: a seeded random
// source, picks that copy what they return (later mutations change it in place),
// and loose views of parsed YAML.

export type Rand = () => number;
export type Doc = Record<string, any>;

/** One of `xs`; a copy when it is a list or a map. */
export const pick = <T>(r: Rand, xs: readonly T[]): T => {
  const v = xs[Math.floor(r() * xs.length)]!;
  return typeof v === "object" && v !== null ? structuredClone(v) : v;
};
export const isObj = (v: unknown): v is Doc => v !== null && typeof v === "object" && !Array.isArray(v);
export const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
/** An object item of `xs` (a list in a document) or null. */
export const item = (r: Rand, xs: unknown): Doc | null => {
  const l = list(xs).filter(isObj);
  return l.length > 0 ? l[Math.floor(r() * l.length)]! : null;
};
